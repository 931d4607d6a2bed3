"""Accuracy of the engine on fresh synthetic traces (seeds no test or tuning used).

For each seed the sensor model (sensor/synthetic.py) draws a sled, a rate of 20-50 Hz, a
session of sets and every sensor fault; the engine's reps are matched to the ground truth
by time and scored. Prints figures; asserts nothing. `--seeds N` (default 200), `--first S`,
`--clean` for a perfect sensor.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring import engine_events, match, pct

from sensor.synthetic import Faults, generate
from tempo import EngineSettings

FIRST_SEED = 900_000  # far from the seeds the tests use (0-10 000)
TIMES = ("t_start", "t_top", "t_ecc", "t_end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=FIRST_SEED)
    parser.add_argument("--clean", action="store_true")
    args = parser.parse_args()
    faults = Faults.none() if args.clean else None
    traces = exact = sets_exact = true_total = got_total = 0
    errors: dict[str, list[float]] = {k: [] for k in TIMES}
    delay_end: list[float] = []
    delay_stop: list[float] = []
    delay_stop_50: list[float] = []
    lock_ok = lock_n = 0
    for seed in range(args.first, args.first + args.seeds):
        trace = generate(seed, faults=faults)
        reps, sets = engine_events(EngineSettings(**asdict(trace.settings)), trace.samples)
        traces += 1
        true_total += len(trace.reps)
        got_total += len(reps)
        exact += len(reps) == len(trace.reps)
        sets_exact += [s.reps for s in sets] == [s.reps for s in trace.sets]
        for tr, r in match(trace.reps, reps):
            for k in TIMES:
                errors[k].append(abs(getattr(r, k) - getattr(tr, k)) * 1000.0)
            delay_end.append((r.t_confirmed - tr.t_end) * 1000.0)
            delay_stop.append((r.t_confirmed - tr.t_stop) * 1000.0)
            if trace.rate_hz == 50.0:
                delay_stop_50.append((r.t_confirmed - tr.t_stop) * 1000.0)
            lock_n += 1
            lock_ok += r.lockout == tr.lockout
    kind = "perfect sensor" if args.clean else "all sensor faults"
    print(
        f"{traces} fresh synthetic sessions ({kind}), seeds {args.first}..{args.first + traces - 1}"
    )
    print(f"rep count exact:        {exact}/{traces} traces ({100.0 * exact / traces:.1f} %)")
    print(f"set split exact:        {sets_exact}/{traces} traces")
    print(f"reps true/counted:      {true_total}/{got_total}")
    print("phase time error |engine - truth| in ms (median / 95th pct):")
    for k in TIMES:
        print(f"  {k:8s}  {pct(errors[k], 0.5):6.0f} / {pct(errors[k], 0.95):6.0f}")
    print(f"lockout verdict:        {lock_ok}/{lock_n} ({100.0 * lock_ok / max(lock_n, 1):.1f} %)")
    print("confirmation delay in ms (median / 95th pct):")
    print(
        f"  after t_end (2 % boundary):   {pct(delay_end, 0.5):5.0f} / {pct(delay_end, 0.95):5.0f}"
    )
    stop50, stop95 = pct(delay_stop, 0.5), pct(delay_stop, 0.95)
    print(f"  after the sled stopped:       {stop50:5.0f} / {stop95:5.0f}")
    print(
        f"  after it stopped, 50 Hz only: {pct(delay_stop_50, 0.5):5.0f} / "
        f"{pct(delay_stop_50, 0.95):5.0f}"
    )


if __name__ == "__main__":
    main()
