"""How well could any engine time the phases? A reference the engine's durations are held to.

A sensor model is sampled with every sensor fault, and each 2 % boundary of each true rep
is placed again by an estimator that is given what no engine has: the exact noise-free
trajectory, the model's noise law, and where glare is. All it does not know is when: it
slides the true trajectory in time over the raw readings within WINDOW_S of the boundary
and keeps the shift that fits them best (a level offset, which drift makes, fitted too;
every reading's misfit capped at OUTLIER_DEVIATIONS so spikes, bursts and stuck values
cannot pull it). Its duration errors are what the sensor's noise and faults leave when
the shape of every movement is known, so they are a floor, in practice, under any
estimator that must also find the shape.

Prints, for the reps the engine gave known times (the contract's figures), the median and
95th percentile of |duration error| for this reference and for the engine on the same
rows, overall, per phase, per rate and per start side, with how many rows of each exceed
100 ms; then the same for the time of each kind of boundary, and for each kind split by
what was near it (`context`): glare, another sensor fault, or neither, with the share of
the engine's boundaries over 100 ms that each holds (where the durations' tail comes
from, beside what the reference leaves there). `--model accuracy` (the
default: sensor/synthetic.py, as bench_accuracy.py) or `independent`
(bench_generalization.py); `--seeds N` (default 100), `--first S` (default: the model's
tuning draws, 900000 and 31000), `--eccentric LO HI` as in bench_accuracy.py.
"""

from __future__ import annotations

import argparse
import math
import sys
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_generalization as independent
from scoring import engine_events, match, pct

from sensor.synthetic import (
    GLARE_NOISE_TIMES,
    Plan,
    SyntheticTrace,
    generate,
    noise_deviation_mm,
)
from tempo import TIMES_UNKNOWN, EngineSettings

FIRST_SEED = 900_000
WINDOW_S = 0.5  # readings this far either side of a boundary are fitted
SHIFT_MAX_S = 0.3  # the reference looks for the boundary this far either side of the truth
STEP_S = 0.002  # ... in steps of this (then between steps by a parabola through the best)
OUTLIER_DEVIATIONS = 3.0  # a reading's misfit counts at most this many noise deviations
VALID_MM = (16, 8000)  # near-zero and out-of-range codes are no readings
GOAL_MS = 100.0
PHASES = ("concentric_s", "top_pause_s", "eccentric_s")
# A boundary is "in glare" when glare covers any of the time from GLARE_BEFORE_S before it
# to NEAR_AFTER_S after it: a boundary is placed on the readings of the hold or move that
# led to it (a knee's hold side reaches back seconds, its still window half of one) and on
# the first few after it.
GLARE_BEFORE_S = 1.0
NEAR_AFTER_S = 0.3
# ... and "near a fault" when, from FAULT_BEFORE_S before it to NEAR_AFTER_S after, a
# reading is missing or out of range, readings are GAP_PERIODS sample periods apart or
# more, or STUCK_READINGS in a row read the same (a stuck sensor; a quiet sensor at rest
# repeats a value two or three times by chance).
FAULT_BEFORE_S = 0.8
GAP_PERIODS = 2.5
STUCK_READINGS = 4
CONTEXTS = ("glare", "fault", "clean")


def context(
    t: float,
    samples: Sequence[tuple[float, int | None]],
    glare: Sequence[tuple[float, float]],
    rate_hz: float,
) -> str:
    """What was near the boundary at `t`: "glare", "fault" or "clean"."""
    if any(g0 <= t + NEAR_AFTER_S and g1 >= t - GLARE_BEFORE_S for g0, g1 in glare):
        return "glare"
    i0 = bisect_left(samples, t - FAULT_BEFORE_S, key=lambda s: s[0])
    near = samples[i0 : bisect_right(samples, t + NEAR_AFTER_S, key=lambda s: s[0])]
    run, last = 0, None
    for k, (ts, v) in enumerate(near):
        if v is None or not VALID_MM[0] <= v < VALID_MM[1]:
            return "fault"
        if k and ts - near[k - 1][0] >= GAP_PERIODS / rate_hz:
            return "fault"
        run = run + 1 if v == last else 1
        last = v
        if run >= STUCK_READINGS:
            return "fault"
    return "clean"


def turns(rep: Any, top: bool) -> dict[str, float]:
    """A rep's four 2 % boundaries by what the sled does there (its times from the top are
    its start and end; the bottom's follow from its durations)."""
    if not top:
        return {
            "leaves bottom": rep.t_start,
            "reaches top": rep.t_top,
            "leaves top": rep.t_ecc,
            "reaches bottom": rep.t_end,
        }
    return {
        "leaves top": rep.t_start,
        "reaches bottom": rep.t_start + rep.eccentric_s,
        "leaves bottom": rep.t_end - rep.concentric_s,
        "reaches top": rep.t_end,
    }


def boundaries(rep: Any, previous: Any, top: bool) -> dict[str, tuple[float, float]]:
    """Each phase duration of `rep` as the two of its `turns` it runs between; from the
    top a rep's top pause is the rest since the previous rep's end in the set, where the
    model counts that rest as one (none for the first)."""
    at = turns(rep, top)
    got = {
        "concentric_s": (at["leaves bottom"], at["reaches top"]),
        "eccentric_s": (at["leaves top"], at["reaches bottom"]),
    }
    if not top:
        got["top_pause_s"] = (at["reaches top"], at["leaves top"])
    elif (
        previous is not None
        and previous.set == rep.set
        and math.isclose(rep.t_start - previous.t_end, rep.top_pause_s)
    ):
        got["top_pause_s"] = (previous.t_end, rep.t_start)
    return got


class ShiftFit:
    """The time shift of the true trajectory that best fits the readings near a boundary."""

    def __init__(
        self,
        samples: Sequence[tuple[float, int | None]],
        position_mm: Callable[[float], float],
        noise_sd: Callable[[float, float], float],
    ) -> None:
        """`position_mm(t)`: the true distance; `noise_sd(t, mm)`: the noise's deviation."""
        self.position_mm = position_mm
        self.ts: list[float] = []
        self.ys: list[float] = []
        self.sds: list[float] = []
        for t, v in samples:
            if v is None or not VALID_MM[0] <= v < VALID_MM[1]:
                continue
            self.ts.append(t)
            self.ys.append(float(v))
            self.sds.append(noise_sd(t, v))
        self.steps = round(SHIFT_MAX_S / STEP_S)

    @classmethod
    def of_accuracy_trace(cls, trace: SyntheticTrace) -> ShiftFit:
        """For the accuracy model, whose glare multiplies the noise 3 to 6 times (the
        reference takes the middle)."""
        times_glare = 0.5 * (GLARE_NOISE_TIMES[0] + GLARE_NOISE_TIMES[1])

        def noise_sd(t: float, mm: float) -> float:
            sd = noise_deviation_mm(mm)
            return sd * times_glare if any(a <= t < b for a, b in trace.glare) else sd

        return cls(trace.samples, trace.position_mm, noise_sd)

    def error_s(self, t_true: float) -> float:
        """Where the reference places the boundary at `t_true`, minus `t_true`."""
        i0 = bisect_left(self.ts, t_true - WINDOW_S)
        i1 = bisect_right(self.ts, t_true + WINDOW_S)
        ts, ys, sds = self.ts[i0:i1], self.ys[i0:i1], self.sds[i0:i1]
        if len(ts) < 4:
            return float("nan")
        # The true track on a grid of STEP_S, wide enough for every reading at every shift.
        g0 = ts[0] - SHIFT_MAX_S - STEP_S
        n_grid = int((ts[-1] + SHIFT_MAX_S + STEP_S - g0) / STEP_S) + 2
        pos = self.position_mm
        grid = [pos(g0 + k * STEP_S) for k in range(n_grid)]
        # reading i at shift s = -SHIFT_MAX_S + k STEP_S sees the track at t_i - s, which
        # is grid index (t_i - g0 + SHIFT_MAX_S) / STEP_S - k
        where = []
        for t in ts:
            x = (t - g0 + SHIFT_MAX_S) / STEP_S
            j = int(x)
            where.append((j, x - j))
        costs = [self._cost(grid, where, ys, sds, k) for k in range(2 * self.steps + 1)]
        k = min(range(len(costs)), key=costs.__getitem__)
        shift = -SHIFT_MAX_S + k * STEP_S
        if 0 < k < len(costs) - 1:
            den = costs[k - 1] - 2.0 * costs[k] + costs[k + 1]
            if den > 0.0:
                shift += 0.5 * STEP_S * (costs[k - 1] - costs[k + 1]) / den
        return shift

    @staticmethod
    def _cost(
        grid: Sequence[float],
        where: Sequence[tuple[int, float]],
        ys: Sequence[float],
        sds: Sequence[float],
        k: int,
    ) -> float:
        resid = []
        for (j, f), y in zip(where, ys, strict=True):
            a = grid[j - k]
            resid.append(y - a - f * (grid[j - k + 1] - a))
        offset = sorted(resid)[len(resid) // 2]  # drift: a level offset, robustly
        cap = OUTLIER_DEVIATIONS * OUTLIER_DEVIATIONS
        total = 0.0
        for r, sd in zip(resid, sds, strict=True):
            z = (r - offset) / sd
            total += min(z * z, cap)
        return total


def rate_label(rate: float) -> str:
    """The accuracy model's rates as they are; the independent model's, drawn from 20 to
    50 Hz, by tens (50 Hz on its own: a third of its sessions run at exactly that)."""
    if rate in (20.0, 25.0, 30.0, 40.0, 50.0):
        return f"{rate:.0f} Hz"
    tens = int(rate // 10) * 10
    return f"{tens}-{tens + 9} Hz"


class Session(NamedTuple):
    """What the reference and the engine are scored on, whichever model drew it."""

    settings: EngineSettings
    rate: float
    samples: list[tuple[float, int | None]]
    reps: list[Any]  # the model's true reps
    fit: ShiftFit
    glare: list[tuple[float, float]]  # spans of glare


def accuracy_session(seed: int, plan: Plan | None) -> Session:
    trace = generate(seed, plan=plan)
    settings = EngineSettings(**asdict(trace.settings))
    fit = ShiftFit.of_accuracy_trace(trace)
    return Session(settings, trace.rate_hz, trace.samples, trace.reps, fit, trace.glare)


def independent_session(seed: int, _plan: Plan | None) -> Session:
    sess = independent.make(seed)
    assert sess.noise_sd is not None
    fit = ShiftFit(sess.samples, sess.position_mm, sess.noise_sd)
    return Session(sess.settings, sess.rate, sess.samples, sess.reps, fit, sess.glare)


MODELS = {
    "accuracy": (accuracy_session, FIRST_SEED),
    "independent": (independent_session, independent.FIRST_SEED),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="accuracy")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first", type=int)
    parser.add_argument("--eccentric", nargs=2, type=float, metavar=("LO", "HI"))
    args = parser.parse_args()
    if args.eccentric is not None and args.model != "accuracy":
        parser.error("--eccentric: only the accuracy model draws lowerings from a range")
    plan = None if args.eccentric is None else Plan(eccentric_s=tuple(args.eccentric))
    make_session, first = MODELS[args.model]
    if args.first is not None:
        first = args.first
    rows: dict[str, list[tuple[float, float]]] = defaultdict(list)  # (reference, engine) ms
    at: dict[str, list[tuple[float, float]]] = defaultdict(list)  # the same, per boundary
    near: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)  # ... and context
    for n, seed in enumerate(range(first, first + args.seeds), 1):
        sess = make_session(seed, plan)
        settings, fit = sess.settings, sess.fit
        top = settings.start == "top"
        reps, _sets = engine_events(settings, sess.samples)
        placed: dict[float, float] = {}
        previous: dict[int, Any] = {}
        for i, rep in enumerate(sess.reps):
            if i:
                previous[id(rep)] = sess.reps[i - 1]
        for truth, got in match(sess.reps, reps):
            if TIMES_UNKNOWN in got.flags:
                continue
            for phase, (b0, b1) in boundaries(truth, previous.get(id(truth)), top).items():
                for b in (b0, b1):
                    if b not in placed:
                        placed[b] = fit.error_s(b)
                ref_ms = 1000.0 * abs(placed[b1] - placed[b0])
                if math.isnan(ref_ms):  # too few readings near a boundary
                    continue
                eng_ms = 1000.0 * abs(getattr(got, phase) - getattr(truth, phase))
                for key in ("all", phase, rate_label(sess.rate), f"start {settings.start}"):
                    rows[key].append((ref_ms, eng_ms))
            engine_at = turns(got, top)
            for what, t in turns(truth, top).items():
                if t not in placed:
                    placed[t] = fit.error_s(t)
                if not math.isnan(placed[t]):
                    pair = (1000.0 * abs(placed[t]), 1000.0 * abs(engine_at[what] - t))
                    at[what].append(pair)
                    near[what, context(t, sess.samples, sess.glare, sess.rate)].append(pair)
        if n % 25 == 0:
            print(f"  {n}/{args.seeds} sessions", file=sys.stderr, flush=True)
    last = first + args.seeds - 1
    print(f"phase durations on {args.seeds} {args.model}-model sessions, seeds {first}..{last},")
    print("reps with known times; |error| in ms, median / 95th pct, and rows over 100 ms:")
    print(f"  {'':21s} {'rows':>6s}   {'reference':>18s}   {'engine':>18s}")

    def order(key: str) -> tuple[int, float, str]:
        if key == "all":
            return (0, 0.0, key)
        if key in PHASES:
            return (1, PHASES.index(key), key)
        if key.endswith("Hz"):
            return (2, float(key.split(maxsplit=1)[0].split("-", maxsplit=1)[0]), key)
        return (3, 0.0, key)

    table = [(key, rows[key]) for key in sorted(rows, key=order)]
    table += [(f"{what} (time)", at[what]) for what in sorted(at)]
    for key, pairs in table:
        ref = [r for r, _ in pairs]
        eng = [e for _, e in pairs]
        over_r = sum(r > GOAL_MS for r in ref)
        over_e = sum(e > GOAL_MS for e in eng)
        ref_fig = f"{pct(ref, 0.5):4.0f} / {pct(ref, 0.95):4.0f} ({over_r:4d})"
        eng_fig = f"{pct(eng, 0.5):4.0f} / {pct(eng, 0.95):4.0f} ({over_e:4d})"
        print(f"  {key:21s} {len(pairs):6d}   {ref_fig}   {eng_fig}")
    print_contexts(near)


def print_contexts(near: dict[tuple[str, str], list[tuple[float, float]]]) -> None:
    """Each kind of boundary by what was near it: how many, the share of each column's
    over 100 ms, and the share of all the engine's boundaries over 100 ms it holds."""
    over_all = sum(e > GOAL_MS for pairs in near.values() for _, e in pairs) or 1
    print("each boundary by what was near it (glare from 1 s before to 0.3 s after; a")
    print("missing, out-of-range or stuck reading or a gap from 0.8 s before): boundaries,")
    print("share over 100 ms for the reference and the engine, share of the engine's tail:")
    for what in sorted({w for w, _ in near}):
        for ctx in CONTEXTS:
            pairs = near.get((what, ctx), [])
            if not pairs:
                continue
            ref = 100.0 * sum(r > GOAL_MS for r, _ in pairs) / len(pairs)
            over = sum(e > GOAL_MS for _, e in pairs)
            eng = 100.0 * over / len(pairs)
            tail = 100.0 * over / over_all
            label = f"{what}, {ctx}"
            print(f"  {label:27s} {len(pairs):6d}   {ref:5.1f} %   {eng:5.1f} %   {tail:5.1f} %")


if __name__ == "__main__":
    main()
