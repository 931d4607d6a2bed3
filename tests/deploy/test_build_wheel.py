"""deploy/build-wheel.sh: the pure and the compiled wheel, and that they replay alike.

The compiled build is the same source compiled by mypyc; a replay through it must print
the same bytes as the pure Python engine, or "replay any recorded session exactly" would
depend on how repsled was installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from firmware import __version__
from firmware.cli import main
from sensor.synthetic import Plan, generate, write

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "build-wheel.sh"
EXAMPLES = sorted((ROOT / "examples" / "traces").glob("*.csv"))
# What the compiled build compiles: pyproject.toml's mypyc hook, [include] minus [exclude].
COMPILED_MODULES = sorted(
    [f"tempo.{p.stem}" for p in (ROOT / "tempo").glob("*.py") if p.stem != "__init__"]
    + ["sensor.trace"]
)


def build(out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(SCRIPT), *options, "--no-build-isolation", str(out)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )


def replayed(cwd: Path, trace: Path) -> bytes:
    cmd = [sys.executable, "-m", "firmware.cli", "replay", str(trace), "--format", "jsonl"]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True).stdout


def test_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    proc = subprocess.run([shellcheck, str(SCRIPT)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name the folder the wheel goes into"),
        (["--bogus", "x"], "unknown option --bogus"),
        (["a", "b"], "one output folder only"),
    ],
)
def test_bad_options_give_one_line_errors(args: list[str], message: str):
    proc = subprocess.run(["bash", str(SCRIPT), *args], check=False, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert message in proc.stderr


def test_version_names_the_engine_build(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"repsled {__version__} (engine: pure Python)\n"


@pytest.mark.slow
def test_pure_wheel_has_no_compiled_module_and_leaves_the_checkout_clean(tmp_path):
    before = sorted(ROOT.rglob("*.so"))
    proc = build(tmp_path)
    assert proc.returncode == 0, proc.stderr
    wheel = Path(proc.stdout.strip())
    assert wheel.parent == tmp_path
    assert wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tempo/engine.py" in names
    assert not [n for n in names if n.endswith(".so")]
    assert sorted(ROOT.rglob("*.so")) == before


@pytest.mark.slow
def test_compiled_build_replays_byte_for_byte_like_pure_python(tmp_path):
    before = sorted(ROOT.rglob("*.so"))
    proc = build(tmp_path / "dist", "--compiled")
    assert proc.returncode == 0, proc.stderr
    # the build ran on a copy: nothing compiled was left beside the sources
    assert sorted(ROOT.rglob("*.so")) == before
    unpacked = tmp_path / "compiled"
    with zipfile.ZipFile(Path(proc.stdout.strip())) as z:
        z.extractall(unpacked)

    # the compiled modules are the ones imported from the unpacked wheel
    probe = (
        "import importlib, sys\nfor m in sys.argv[1:]: print(importlib.import_module(m).__file__)"
    )
    files = subprocess.run(
        [sys.executable, "-c", probe, *COMPILED_MODULES],
        cwd=unpacked,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(files) == len(COMPILED_MODULES)
    assert all(f.startswith(str(unpacked)) and f.endswith(".so") for f in files), files

    version = subprocess.run(
        [sys.executable, "-m", "firmware.cli", "--version"],
        cwd=unpacked,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert version.endswith("(engine: compiled)\n"), version

    # a session with every sensor fault, at 20 and 50 Hz, and the example traces
    traces = list(EXAMPLES)
    for rate_hz in (20.0, 50.0):
        path = tmp_path / f"faults_{rate_hz:.0f}hz.csv"
        write(generate(8080, plan=Plan(sets=6, reps=(6, 12)), rate_hz=rate_hz), path)
        traces.append(path)
    assert len(traces) >= 7
    for trace in traces:
        pure = replayed(ROOT, trace)
        assert b'"type":"rep"' in pure, trace
        assert replayed(unpacked, trace) == pure, trace.name
