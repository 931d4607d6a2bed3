"""`repsled replay` throughput as a whole process on a one-hour 50 Hz trace.

Writes a synthetic one-hour session (every sensor fault, 50 Hz, about 180,000 samples) to a
temporary folder, then runs `python -m firmware.cli replay TRACE --format jsonl` as a child
process three times and reports samples per second of the child's CPU time (user +
system, one core), best of three: start-up, reading, the engine and the JSON output
together. Prints figures; asserts nothing. Goal: 150,000 samples/s.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensor.synthetic import Plan, generate, write

ROOT = Path(__file__).resolve().parent.parent

SEED = 4242
SETS = 45  # about an hour with rests


def child_cpu_s(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    trace = generate(SEED, plan=Plan(sets=SETS, reps=(8, 12)), rate_hz=50.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csv"
        write(trace, path)
        n = len(trace.samples)
        size = os.path.getsize(path)
        cmd = [sys.executable, "-m", "firmware.cli", "replay", str(path), "--format", "jsonl"]
        best = min(child_cpu_s(cmd) for _ in range(3))
    print(
        f"trace: {n} samples, {trace.duration_s / 3600.0:.2f} h at 50 Hz, "
        f"{len(trace.reps)} reps, {size / 1e6:.1f} MB"
    )
    print(f"replay as a process: {best:.2f} s CPU, {n / best:,.0f} samples/s (goal: 150,000)")


if __name__ == "__main__":
    main()
