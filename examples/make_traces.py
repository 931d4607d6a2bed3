"""Regenerate the bundled example traces in examples/traces/ (deterministic: fixed seeds).

Run from the repository root: `python examples/make_traces.py`. Each trace gets a config of
the same name (.toml) and `# reps=N` metadata from the generator's ground truth.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensor.synthetic import Faults, Plan, generate, write
from tempo.settings import EngineSettings

OUT = Path(__file__).resolve().parent / "traces"
QUIET = Faults.only("noise", "drift", "jitter")

EXAMPLES = [
    # name, description, seed, settings, plan, faults, rate_hz
    (
        "reverse_press_clean",
        "reverse press, start at the bottom, a clean set of six full reps",
        11,
        EngineSettings(bottom_mm=150, lockout_mm=520, start="bottom"),
        Plan(sets=1, reps=(6, 6), p_partial=0.0, p_locked=0.0, p_bounce=0.0),
        QUIET,
        50.0,
    ),
    (
        "reverse_press_noisy",
        "the same sled with every sensor fault the model knows",
        12,
        EngineSettings(bottom_mm=150, lockout_mm=520, start="bottom"),
        Plan(sets=1, reps=(7, 7)),
        Faults(),
        50.0,
    ),
    (
        "press45_start_top_flipped",
        "45-degree press, start at the top, sensor facing the other way (readings shrink "
        "towards lockout)",
        13,
        EngineSettings(bottom_mm=560, lockout_mm=210, start="top"),
        Plan(sets=1, reps=(6, 6)),
        Faults(),
        30.0,
    ),
    (
        "two_sets_with_rest",
        "a session: two sets with unracking, foot adjusting and rest between them",
        14,
        EngineSettings(bottom_mm=180, lockout_mm=540, start="bottom"),
        Plan(sets=2, reps=(5, 6)),
        Faults(),
        25.0,
    ),
    (
        "partial_locked_fast",
        "partial reps, locked knees and fast eccentrics",
        15,
        EngineSettings(bottom_mm=140, lockout_mm=500, start="bottom"),
        Plan(sets=1, reps=(8, 8), p_partial=0.3, p_locked=0.3, eccentric_s=(0.8, 1.6)),
        QUIET,
        40.0,
    ),
]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, description, seed, settings, plan, faults, rate in EXAMPLES:
        trace = generate(seed, settings=settings, plan=plan, faults=faults, rate_hz=rate)
        extra = {"description": description}
        write(trace, OUT / f"{name}.csv", extra)
        kinds = {r.lockout for r in trace.reps}
        print(
            f"{name}: {len(trace.samples)} samples, {len(trace.reps)} reps "
            f"({', '.join(sorted(kinds))}) in {len(trace.sets)} set(s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
