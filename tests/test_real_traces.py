"""The engine on 27 real barbell squat sets (30 fps camera traces, start = "top").

The traces live outside the repository, in ../shared/real-traces/vbt-research/ relative to
its root (see the README there); the module is skipped when they are absent. Four files'
`# reps` come from the velocities in their names and do not match the squats visible in
the trace (that README says so): those are checked against the visible count instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.config import load
from sensor.trace import read_trace
from tempo import Rep, SetDone, TempoEngine


def _folder() -> Path:
    """`shared/real-traces/vbt-research` beside the repository (or beside a folder above it,
    as when the repository is a worktree one level further down)."""
    root = Path(__file__).resolve().parents[1]
    for parent in root.parents:
        candidate = parent / "shared" / "real-traces" / "vbt-research"
        if candidate.is_dir():
            return candidate
    return root.parent / "shared" / "real-traces" / "vbt-research"


FOLDER = _folder()

if not FOLDER.is_dir():
    pytest.skip(
        f"real squat traces not found ({FOLDER.name} beside the repository)",
        allow_module_level=True,
    )

# name -> squats visible in the trace, per the folder's README ("about N clear squats")
DOUBTFUL = {
    "105kg_0.60_0.54_0.55_0.54_0.51_0.37": 4,
    "105kg_0.61_0.59_0.56_0.32": 5,
    "105kg_0.62_0.58_0.53_0.44": 5,
    "105kg_0.69_0.64_0.65_0.60_0.56_0.45": 3,
}
TRACES = sorted(FOLDER.glob("*.csv"))


def _run(path: Path) -> tuple[int, list[Rep], list[SetDone]]:
    config = load(path.with_suffix(".toml"))
    reader = read_trace(path)
    engine = TempoEngine(config.engine)
    events = []
    for sample in reader:
        events += engine.feed(sample.t_s, sample.distance_mm)
    events += engine.finish()
    reps = [e for e in events if isinstance(e, Rep)]
    return int(reader.metadata["reps"]), reps, [e for e in events if isinstance(e, SetDone)]


def test_the_folder_holds_the_27_traces():
    assert len(TRACES) == 27


@pytest.mark.parametrize(
    "path", [p for p in TRACES if p.stem not in DOUBTFUL], ids=lambda p: p.stem
)
def test_exact_count_on_trustworthy_traces(path):
    want, reps, sets = _run(path)
    assert len(reps) == want
    assert [s.reps for s in sets] == [want]  # one set per file
    for rep in reps:
        assert rep.rom_fraction > 0.3
        assert rep.t_start < rep.t_end <= rep.t_confirmed


@pytest.mark.parametrize("name", sorted(DOUBTFUL))
def test_doubtful_traces_match_the_visible_squats(name):
    want, reps, _ = _run(FOLDER / f"{name}.csv")
    assert want != DOUBTFUL[name]  # still doubtful: the name's count is not what is seen
    assert len(reps) == DOUBTFUL[name]
