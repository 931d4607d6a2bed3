"""Accuracy of the engine on fresh synthetic traces (seeds no test or tuning used).

For each seed the sensor model (sensor/synthetic.py) draws a sled, a rate of 20-50 Hz, a
session of sets and every sensor fault; the engine's reps are matched to the ground truth
by time and scored. Prints figures; asserts nothing. `--seeds N` (default 200), `--first S`,
`--clean` for a perfect sensor, `--eccentric LO HI` to draw every lowering's duration
from LO-HI s (default 0.8-5; 6 10 for smooth slow negatives), `-v` to list each
miscounted session (the reps lost and the reps too many) and each wrong lockout verdict.
The lockout verdict is also printed for the reps out of glare (none within GLARE_CLEAR_S of
their lockout-side turn).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring import GLARE_CLEAR_S, Scoreboard, engine_events, match, out_of_glare, print_miscount

from sensor.synthetic import Faults, Plan, generate
from tempo import EngineSettings

FIRST_SEED = 900_000  # far from the seeds the tests use (0-10 000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=FIRST_SEED)
    parser.add_argument("--clean", action="store_true")
    parser.add_argument(
        "--eccentric",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="seconds each minimum-jerk lowering takes, drawn uniformly (default 0.8 5)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    faults = Faults.none() if args.clean else None
    plan = None
    if args.eccentric is not None:
        lo, hi = args.eccentric
        if not 0.0 < lo <= hi:
            parser.error("--eccentric: LO and HI must be seconds, 0 < LO <= HI")
        plan = Plan(eccentric_s=(lo, hi))
    board = Scoreboard()
    clear = [0, 0]  # lockout verdicts right, and made, out of glare
    for seed in range(args.first, args.first + args.seeds):
        trace = generate(seed, faults=faults, plan=plan)
        settings = EngineSettings(**asdict(trace.settings))
        reps, sets = engine_events(settings, trace.samples)
        fast_below_s = settings.target_eccentric_s - settings.fast_margin_s
        board.add(
            trace.reps,
            [s.reps for s in trace.sets],
            reps,
            sets,
            trace.rate_hz,
            fast_below_s,
            start=settings.start,
        )
        for tr, r in match(trace.reps, reps):
            if out_of_glare(tr.t_top, trace.glare):
                clear[0] += r.lockout == tr.lockout
                clear[1] += 1
        if args.verbose:
            where = f"start {settings.start}, rom {settings.rom_mm:.0f}, {trace.rate_hz:.0f} Hz"
            print_miscount(f"seed {seed} ({where})", trace.reps, reps)
            for tr, r in match(trace.reps, reps):
                if r.lockout != tr.lockout:
                    print(
                        f"  seed {seed} rep {tr.set}.{tr.rep} at {tr.t_top:.2f} s: lockout "
                        f"{tr.lockout} read {r.lockout} (lockout-side turn at "
                        f"{tr.lockout_fraction:.3f} of the ROM; rom_fraction "
                        f"{r.rom_fraction:.3f}; {where}; flags {', '.join(r.flags) or '-'})"
                    )
    kind = "perfect sensor" if args.clean else "all sensor faults"
    if args.eccentric is not None:
        kind += f", lowerings of {args.eccentric[0]:g}-{args.eccentric[1]:g} s"
    last = args.first + board.sessions - 1
    board.report(f"{board.sessions} fresh synthetic sessions ({kind}), seeds {args.first}..{last}")
    if clear[1]:
        print(
            f"lockout verdict, reps with no glare within {GLARE_CLEAR_S:g} s of their "
            f"lockout-side turn: {clear[0]}/{clear[1]} ({100.0 * clear[0] / clear[1]:.1f} %)"
        )


if __name__ == "__main__":
    main()
