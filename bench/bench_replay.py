"""`repsled replay` throughput as a whole process on a one-hour 50 Hz trace.

Writes a synthetic one-hour session (every sensor fault, 50 Hz, about 180,000 samples) to a
temporary folder, then runs `python -m firmware.cli replay TRACE --format jsonl` as a child
process and reports samples per second of the child's CPU time (user + system, one
core), best of five: start-up, reading, the engine and the JSON output together. The
children run with their bytecode cached (in the temporary folder), as an installed
package has it (pip compiles it at install); a run that compiles every module first, as
a source tree with bytecode writing turned off does, is printed too. The best of five,
since other work on the machine only ever adds time. It does so twice: on the sources as
they are (pure Python), and on the compiled build that `deploy/build-wheel.sh
--compiled` makes (docs/install.md), built here with this venv's tools; the two must
print the same bytes. Prints figures; asserts nothing. Goal: 150,000 samples/s. `--pure`
skips the compiled build.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensor.synthetic import Plan, generate, write

ROOT = Path(__file__).resolve().parent.parent

SEED = 4242
SETS = 45  # about an hour with rests
GOAL = 150_000


def child_env(pycache: Path, *, cache: bool) -> dict[str, str]:
    """The child's environment: bytecode under `pycache` only (never beside the sources),
    written there if `cache`, else never written (an empty `pycache`: all compiled)."""
    env = dict(os.environ)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def child_cpu_s(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """CPU seconds of one child run, and a digest of what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.PIPE)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, hashlib.sha256(done.stdout).hexdigest()


def compiled_build(into: Path) -> Path:
    """The compiled wheel, unpacked into `into` (its folder goes first on sys.path)."""
    env = {**os.environ, "PYTHON": sys.executable}
    script = ROOT / "deploy" / "build-wheel.sh"
    built = subprocess.run(
        ["bash", str(script), "--compiled", "--no-build-isolation", str(into / "dist")],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    wheel = Path(built.stdout.strip().splitlines()[-1])
    unpacked = into / "compiled"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
    return unpacked


def measure(label: str, cwd: Path, trace: Path, n: int) -> str:
    """Best of five runs with bytecode cached (after one that caches it), and one
    that compiles every module; the digest of what they printed, which must agree."""
    cmd = [sys.executable, "-m", "firmware.cli", "replay", str(trace), "--format", "jsonl"]
    empty = trace.parent / f"no-pycache-{cwd.name}"
    pycache = trace.parent / f"pycache-{cwd.name}"
    cold, digest = child_cpu_s(cmd, cwd, child_env(empty, cache=False))
    child_cpu_s(cmd, cwd, child_env(pycache, cache=True))  # writes the cache
    runs = [child_cpu_s(cmd, cwd, child_env(pycache, cache=True)) for _ in range(5)]
    if any(d != digest for _, d in runs):
        print(f"{label}: runs printed DIFFERENT output (a bug)")
    best = min(cpu for cpu, _ in runs)
    print(f"{label}: {best:.2f} s CPU, {n / best:,.0f} samples/s (goal: {GOAL:,})")
    print(f"  the same compiling every module first: {cold:.2f} s CPU, {n / cold:,.0f} samples/s")
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pure", action="store_true", help="skip the compiled build")
    args = parser.parse_args()
    trace = generate(SEED, plan=Plan(sets=SETS, reps=(8, 12)), rate_hz=50.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csv"
        write(trace, path)
        n = len(trace.samples)
        size = os.path.getsize(path)
        print(
            f"trace: {n} samples, {trace.duration_s / 3600.0:.2f} h at 50 Hz, "
            f"{len(trace.reps)} reps, {size / 1e6:.1f} MB"
        )
        pure = measure("replay as a process, pure Python", ROOT, path, n)
        if args.pure:
            return
        print("building the compiled engine ...", flush=True)
        try:
            unpacked = compiled_build(Path(tmp))
        except subprocess.CalledProcessError as e:
            print(f"compiled: not built (deploy/build-wheel.sh exited {e.returncode})")
            return
        compiled = measure("replay as a process, compiled", unpacked, path, n)
        same = "the same bytes" if compiled == pure else "DIFFERENT output (a bug)"
        print(f"compiled and pure Python printed {same}")


if __name__ == "__main__":
    main()
