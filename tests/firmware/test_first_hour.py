"""The first hour with repsled: mistakes a newcomer makes get one line, never a traceback.

Each test runs the real command line in a subprocess, as a user would, and checks the exit
status and every line on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "examples" / "traces"
EXAMPLE = TRACES / "reverse_press_clean.csv"
FLIPPED_45 = TRACES / "press45_start_top_flipped.csv"
FAST = "40"  # the fake sensor's speed-up: the whole example in a few seconds


def _repsled(*args: str, prelude: str = "", stdout: object = subprocess.PIPE, **kw: object):
    """`repsled ARGS` in a fresh interpreter; `prelude` runs first (to break an import)."""
    code = f"{prelude}\nimport sys\nfrom firmware.cli import main\nsys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=kw.pop("cwd", ROOT),
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def _errors(stderr: str) -> list[str]:
    """Every line on stderr: a refused start prints its one error line and nothing else."""
    assert "Traceback" not in stderr, stderr
    return stderr.splitlines()


def test_demo_without_its_extra_says_how_to_install_it() -> None:
    # A plain `pip install repsled` has no amqtt: None in sys.modules makes its import fail.
    done = _repsled("demo", "--duration", "1", prelude="import sys; sys.modules['amqtt'] = None")
    assert done.returncode == 2
    assert _errors(done.stderr) == [
        "repsled demo: error: the demo needs its extra, which this install lacks: "
        "pip install 'repsled[demo]' (in a clone of the project: make demo)"
    ]


def test_demo_port_out_of_range() -> None:
    done = _repsled("demo", "--port", "70000", "--duration", "1")
    assert done.returncode == 2
    assert _errors(done.stderr) == [
        "repsled demo: error: --port: must be between 0 and 65535 (0: any free port)"
    ]


def _run_recording(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _repsled(
        "run", "--sensor", f"fake:{EXAMPLE}", "--speed", FAST, "--text-cues", "--record", str(out),
        *extra,
    )  # fmt: skip


def test_run_record_into_a_missing_folder(tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "t.csv"
    done = _run_recording(out)
    assert done.returncode == 2
    assert _errors(done.stderr) == [
        f"repsled run: error: {out}: folder {out.parent} does not exist"
    ]


def test_run_record_onto_a_folder(tmp_path: Path) -> None:
    done = _run_recording(tmp_path)
    assert done.returncode == 2
    assert _errors(done.stderr) == [
        f"repsled run: error: {tmp_path}: is a folder; name a file in it, "
        f"e.g. {tmp_path / 'trace.csv'}"
    ]


def test_run_record_keeps_an_existing_trace_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_text("t_s,distance_mm\n0.0,150\n", encoding="utf-8")
    before = out.read_bytes()
    done = _run_recording(out)
    assert done.returncode == 2
    assert _errors(done.stderr) == [
        f"repsled run: error: {out}: already exists (pass --force to overwrite)"
    ]
    assert out.read_bytes() == before
    forced = _run_recording(out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_bytes() != before
    assert len(out.read_text(encoding="utf-8").splitlines()) > 100


def test_recording_over_the_trace_being_played_is_refused_even_with_force(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "t.csv"
    trace.write_bytes(EXAMPLE.read_bytes())
    for command in (["run", "--text-cues", "--record"], ["record"]):
        done = _repsled(*command, str(trace), "--sensor", f"fake:{trace}", "--force")
        assert done.returncode == 2
        assert _errors(done.stderr) == [
            f"repsled {command[0]}: error: {trace}: is the trace the fake sensor plays; "
            "record to another file"
        ]
    assert trace.read_bytes() == EXAMPLE.read_bytes()


def test_record_refuses_the_same_way(tmp_path: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_text("t_s,distance_mm\n", encoding="utf-8")
    done = _repsled("record", str(out), "--sensor", f"fake:{EXAMPLE}", "--speed", FAST)
    assert done.returncode == 2
    assert _errors(done.stderr) == [
        f"repsled record: error: {out}: already exists (pass --force to overwrite)"
    ]
    missing = tmp_path / "nope" / "t.csv"
    done = _repsled("record", str(missing), "--sensor", f"fake:{EXAMPLE}", "--speed", FAST)
    assert _errors(done.stderr) == [
        f"repsled record: error: {missing}: folder {missing.parent} does not exist"
    ]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["table", "jsonl"])
def test_replay_onto_a_full_device(fmt: str) -> None:
    with open("/dev/full", "w", encoding="utf-8") as full:
        done = _repsled("replay", str(EXAMPLE), "--format", fmt, stdout=full)
    assert done.returncode == 1
    assert _errors(done.stderr) == [
        "repsled replay: error: standard output: cannot write: No space left on device"
    ]


# A real SIGINT, raised while `repsled` imports MODULE: the moments a quick Ctrl-C after Enter
# lands in (the command modules while the parser is built; the station's modules once `run`
# has read its config, before its own signal handler is in place).
CTRL_C_DURING_IMPORT = """
import importlib.abc, os, signal, sys

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize("module", ["firmware.commands.run", "firmware.station.station"])
def test_ctrl_c_during_start_up_is_quiet(module: str) -> None:
    prelude = f"MODULE = {module!r}\n{CTRL_C_DURING_IMPORT}"
    done = _repsled("run", "--sensor", f"fake:{EXAMPLE}", "--text-cues", prelude=prelude)
    assert done.returncode == 130
    assert "Traceback" not in done.stderr
    assert all(line.startswith("INFO ") for line in done.stderr.splitlines()), done.stderr


def test_run_uses_the_config_beside_a_fake_trace_like_replay() -> None:
    """The 45-degree example is parked at the top and its sensor faces the other way: with the
    built-in defaults every rep came out as fast_eccentric,locked_knees."""
    done = _repsled("run", "--sensor", f"fake:{FLIPPED_45}", "--speed", FAST, "--text-cues")
    assert done.returncode == 0, done.stderr
    beside = FLIPPED_45.with_suffix(".toml")
    assert f"INFO repsled: using config {beside} (beside the trace)" in done.stderr.splitlines()
    reps = [line for line in done.stderr.splitlines() if ": rep 1." in line]
    replayed = _repsled("replay", str(FLIPPED_45), "--format", "jsonl")
    first_sent = replayed.stdout.count('"type":"rep"') - replayed.stdout.count('"revision":1')
    assert len(reps) == first_sent == 6
    assert sum("locked_knees" in line for line in reps) < len(reps)


def test_run_says_when_it_uses_the_defaults(tmp_path: Path) -> None:
    trace = tmp_path / "alone.csv"
    trace.write_bytes(EXAMPLE.read_bytes())
    done = _repsled("run", "--sensor", f"fake:{trace}", "--speed", FAST, "--text-cues")
    assert done.returncode == 0, done.stderr
    assert (
        "INFO repsled: using built-in defaults (no --config, no alone.toml beside the trace)"
        in done.stderr.splitlines()
    )
