"""Generalization check: the engine on a lifter and sensor model it was NOT tuned on.

sensor/synthetic.py is the model the engine was developed against; a benchmark on it alone
would reward overfitting to its choices. This file is an independent model written from
the plain description of the hardware and the lifts (no code or parameters shared):

* the lifter moves with trapezoidal or sinusoidal velocity profiles (not minimum jerk),
  bounces that arrive and leave at speed, top pauses of 0-2 s, partial reps (40-75 %
  of the range of motion), locked reps overshooting to 100-105 %, tiny adjusting moves
  under 25 %, and a calibration that is off by a few per cent from where the sled really
  turns;
* the sensor samples at 20-50 Hz with +-30 % jitter and adds noise growing with distance
  (Gaussian, Laplace or proportional to distance squared), slow drift of up to +-8 mm,
  spikes of up to +-250 mm, bursts of 2-6 wrong readings, near-zero readings (0-15 mm),
  glare of 1-5 s with 5-10x the noise, out-of-range codes (8190/8191 and others >= 8000),
  read errors (None), stuck values for up to 1 s and gaps of up to 0.6 s.

Ground truth follows docs/engine.md: phase boundaries are where the noise-free position is
2 % of the (calibrated) range of motion from where the sled was still or turned, solved on
the motion curves themselves; sets end where the sled rested `rest_s` after a rep ("Sets"),
which the model's pauses inside a set (up to 9.5 s) sometimes do: the split as the model
grouped the reps is printed too. Standard library only; one random.Random(seed) per session.
Prints the same figures as bench_accuracy.py; asserts nothing.
`--seeds N` (default 150), `--first S`, `--clean` for a perfect sensor, `-v` for miscounted
sessions and wrong lockout verdicts.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring import GLARE_CLEAR_S, Scoreboard, engine_events, match, out_of_glare, print_miscount

from tempo import EngineSettings

FIRST_SEED = 31_000
BAND = 0.02  # the boundary convention, fraction of the calibrated range of motion
CLEAR_MARGIN = 0.015  # a verdict this close to its threshold (fraction of the ROM) is a toss
TABLE = 256  # resolution of a motion profile's position table


# ---------------------------------------------------------------------- motion profiles


def _profile(speed: list[float]) -> list[float]:
    """Normalised cumulative position (0..1) of a velocity sampled on TABLE+1 points."""
    cum = [0.0]
    for i in range(1, len(speed)):
        cum.append(cum[-1] + 0.5 * (speed[i - 1] + speed[i]))
    total = cum[-1] or 1.0
    return [c / total for c in cum]


def trapezoid(accel: float, decel: float, v0: float = 0.0, v1: float = 0.0) -> list[float]:
    """Velocity ramps from v0 to 1 over `accel`, cruises, ramps down to v1 over `decel`."""
    speed = []
    for i in range(TABLE + 1):
        u = i / TABLE
        if u < accel:
            v = v0 + (1.0 - v0) * u / accel
        elif u > 1.0 - decel:
            v = v1 + (1.0 - v1) * (1.0 - u) / decel
        else:
            v = 1.0
        speed.append(v)
    return _profile(speed)


def sinusoid(power: float = 1.0, v0: float = 0.0, v1: float = 0.0) -> list[float]:
    """Velocity a half sine (raised to `power`), lifted at the ends to v0 / v1."""
    speed = []
    for i in range(TABLE + 1):
        u = i / TABLE
        base = math.sin(math.pi * u) ** power
        lift = v0 * (1.0 - u) + v1 * u
        speed.append(max(base, lift) if (u < 0.5 and v0) or (u >= 0.5 and v1) else base)
    return _profile(speed)


@dataclass(slots=True)
class Move:
    t0: float
    t1: float
    f0: float
    f1: float
    table: list[float] | None  # None: a hold

    def at(self, t: float) -> float:
        if self.table is None or self.t1 <= self.t0:
            return self.f0
        u = min(max((t - self.t0) / (self.t1 - self.t0), 0.0), 1.0) * TABLE
        i = min(int(u), TABLE - 1)
        a = u - i
        s = self.table[i] + (self.table[i + 1] - self.table[i]) * a
        return self.f0 + (self.f1 - self.f0) * s

    def when(self, frac_from_start: float, rom: float) -> float:
        """Time at which the move is `frac_from_start` x rom (absolute) from f0."""
        assert self.table is not None
        travel = abs(self.f1 - self.f0)
        s = min(max(frac_from_start * rom / travel, 0.0), 1.0) if travel else 0.0
        lo, hi = self.t0, self.t1
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            if abs(self.at(mid) - self.f0) < s * travel:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)


@dataclass(slots=True)
class Truth:
    set: int
    t_start: float
    t_top: float
    t_ecc: float
    t_end: float
    t_stop: float
    lockout: str
    clear: bool  # verdict not within 1.5 % of a threshold
    lock_margin: float  # how far the lockout-side turn is from `locked_above` (fraction)
    t_lock: float  # when the sled was there (the concentric's end)
    # clear, and the lockout-side turn clear of `locked_above` by more than the sensor's
    # drift at that moment too (set once the sensor is drawn): nothing in the readings
    # shows that drift, so a verdict within it is the sensor's, not the engine's
    drift_clear: bool = False
    # ... and no glare within GLARE_CLEAR_S of when the sled was there (set with the sensor)
    glare_clear: bool = False
    # the phase durations by the 2 % convention (tempo.events.Rep); a rep that starts at
    # the top has its top pause before it (set once the sets are known: `phase_durations`)
    concentric_s: float = 0.0
    top_pause_s: float = 0.0
    eccentric_s: float = 0.0
    t_far_in: float = 0.0  # a top start's far turn: arrival at it and departure from it
    t_far_out: float = 0.0


class Lifter:
    def __init__(self, rng: random.Random, top_start: bool, settings: EngineSettings) -> None:
        self.rng = rng
        self.top = top_start
        self.s = settings
        self.moves: list[Move] = []
        self.t = 0.0
        self.f = 0.0
        self.reps: list[Truth] = []
        self.sets: list[int] = []
        # calibration error: where this lifter's sled really parks and turns
        self.home_off = rng.uniform(-0.035, 0.035)
        self.far_scale = rng.uniform(0.96, 1.04)

    def hold(self, dur: float) -> None:
        if dur > 0.0:
            self.moves.append(Move(self.t, self.t + dur, self.f, self.f, None))
            self.t += dur

    def go(self, to: float, dur: float, table: list[float]) -> Move:
        m = Move(self.t, self.t + dur, self.f, to, table)
        self.moves.append(m)
        self.t += dur
        self.f = to
        return m

    def shape(self, v0: float = 0.0, v1: float = 0.0) -> list[float]:
        rng = self.rng
        if rng.random() < 0.5:
            return trapezoid(rng.uniform(0.12, 0.45), rng.uniform(0.12, 0.45), v0, v1)
        return sinusoid(rng.choice((0.6, 1.0, 1.5, 2.0)), v0, v1)

    def home(self) -> float:
        """Where the sled rests on the start side (off the calibration by a little)."""
        if self.top:
            return self.lock_level("full") + self.rng.uniform(0.0, 0.06)
        return self.home_off + self.rng.uniform(-0.012, 0.012)

    def lock_level(self, kind: str) -> float:
        """The lockout-side turning point, as a fraction from the calibrated bottom."""
        if kind == "locked":
            return self.rng.uniform(1.0, 1.05)
        return min(self.rng.uniform(0.86, 0.95) * self.far_scale, 0.955)

    def fiddle(self) -> None:
        """Tiny adjusting moves, always under 25 % of the range of motion."""
        rng = self.rng
        base = self.f
        out = -1.0 if self.top else 1.0
        for _ in range(rng.randint(0, 3)):
            amp = rng.uniform(0.03, 0.22)
            to = base + out * (amp if rng.random() < 0.7 else -0.4 * amp)
            self.go(to, rng.uniform(0.3, 1.5), self.shape())
            self.hold(rng.uniform(0.5, 1.5))
            self.go(base + rng.uniform(-0.008, 0.008), rng.uniform(0.3, 1.2), self.shape())
            self.hold(rng.uniform(0.6, 2.0))

    def session(self) -> None:
        rng = self.rng
        self.f = self.home()
        self.hold(rng.uniform(1.0, 3.0))
        for set_no in range(1, rng.randint(1, 3) + 1):
            self.fiddle()
            n = rng.randint(1, 9)
            self.one_set(set_no, n)
            self.sets.append(n)
            self.hold(rng.uniform(0.8, 2.0))
            self.fiddle()
            self.hold(self.s.rest_s + rng.uniform(2.0, 10.0))

    def one_set(self, set_no: int, n: int) -> None:
        rng = self.rng
        bounce_in = False
        for i in range(n):
            last = i == n - 1
            r = rng.random()
            kind = "partial" if r < 0.15 else ("locked" if r < 0.3 else "full")
            bounce = rng.random() < 0.2 and (self.top or not last)
            conc_s = rng.uniform(0.5, 2.2)
            ecc_s = rng.uniform(0.8, 4.5)
            fast = rng.uniform(0.3, 0.8)
            depth = rng.uniform(0.40, 0.75)
            if self.top:
                up = self.lock_level(kind)
                deep = up - depth if kind == "partial" else self.home_off
                deep += rng.uniform(-0.012, 0.012)
                if bounce:
                    m1 = self.go(deep, ecc_s, self.shape(v1=fast))
                    m2 = self.go(up, conc_s, self.shape(v0=fast))
                else:
                    m1 = self.go(deep, ecc_s, self.shape())
                    self.hold(rng.uniform(0.0, 1.5))
                    m2 = self.go(up, conc_s, self.shape())
                t_start = m1.when(BAND, 1.0)
                t_end = m2.when(abs(m2.f1 - m2.f0) - BAND, 1.0)
                self.add(
                    set_no,
                    t_start=t_start,
                    t_top=t_end,
                    t_ecc=t_start,
                    t_end=t_end,
                    t_stop=m2.t1,
                    c_from=m2.f0,
                    c_to=m2.f1,
                    t_lock=m2.t1,
                )
                far = self.reps[-1]
                far.t_far_in = m1.when(abs(m1.f1 - m1.f0) - BAND, 1.0)
                far.t_far_out = m2.when(BAND, 1.0)
                self.hold(rng.uniform(0.0, 2.0))
                if not last and rng.random() < 0.1:
                    self.hold(rng.uniform(1.0, 3.0))
            else:
                up = self.f + depth if kind == "partial" else self.lock_level(kind)
                m1 = self.go(up, conc_s, self.shape(v0=fast if bounce_in else 0.0))
                self.hold(rng.uniform(0.0, 2.0) if rng.random() < 0.8 else 0.0)
                m2 = self.go(self.home(), ecc_s, self.shape(v1=fast if bounce else 0.0))
                t_start = m1.when(BAND, 1.0)
                t_top = m1.when(abs(m1.f1 - m1.f0) - BAND, 1.0)
                t_ecc = m2.when(BAND, 1.0)
                t_end = m2.when(abs(m2.f1 - m2.f0) - BAND, 1.0)
                self.add(
                    set_no,
                    t_start=t_start,
                    t_top=t_top,
                    t_ecc=t_ecc,
                    t_end=t_end,
                    t_stop=m2.t1,
                    c_from=m1.f0,
                    c_to=m1.f1,
                    t_lock=m1.t1,
                )
                bounce_in = bounce
                if not bounce and not last:
                    self.hold(rng.uniform(0.0, 2.0))
                    if rng.random() < 0.1:
                        self.hold(rng.uniform(1.0, 3.0))
                    if rng.random() < 0.1:  # shuffle the feet between reps
                        self.fiddle_small()

    def fiddle_small(self) -> None:
        rng = self.rng
        base = self.f
        self.go(base + rng.uniform(0.05, 0.2), rng.uniform(0.4, 1.0), self.shape())
        self.hold(rng.uniform(0.5, 1.0))
        self.go(base, rng.uniform(0.4, 1.0), self.shape())
        self.hold(rng.uniform(0.6, 1.5))

    def add(
        self,
        set_no: int,
        *,
        t_start: float,
        t_top: float,
        t_ecc: float,
        t_end: float,
        t_stop: float,
        c_from: float,
        c_to: float,
        t_lock: float,
    ) -> None:
        """One true rep; c_from/c_to are the concentric's turning points (from the bottom)."""
        s = self.s
        lock_f, rom_f = c_to, c_to - c_from
        if lock_f >= s.locked_above:
            verdict = "locked"
        else:
            verdict = "partial" if rom_f < s.partial_below else "full"
        clear = (
            abs(lock_f - s.locked_above) > CLEAR_MARGIN
            and abs(rom_f - s.partial_below) > CLEAR_MARGIN
        )
        margin = abs(lock_f - s.locked_above)
        self.reps.append(
            Truth(set_no, t_start, t_top, t_ecc, t_end, t_stop, verdict, clear, margin, t_lock)
        )


# ---------------------------------------------------------------------- the sensor


def position(moves: list[Move], t: float, hint: list[int]) -> float:
    i = hint[0]
    while i + 1 < len(moves) and moves[i].t1 < t:
        i += 1
    hint[0] = i
    return moves[i].at(t)


NoiseSd = Callable[[float, float], float]  # (time, true distance) -> deviation, mm
ROUNDING_SD_MM = 1.0 / math.sqrt(12.0)  # a perfect sensor's readings: whole millimetres


def sensor(
    rng: random.Random,
    moves: list[Move],
    s: EngineSettings,
    rate: float,
    clean: bool,
) -> tuple[
    list[tuple[float, int | None]], Callable[[float], float], list[tuple[float, float]], NoiseSd
]:
    """The readings, the sensor's drift (mm) at any time, the spans of glare, and the
    noise's deviation at any time and distance (for bench_timing_floor.py's reference)."""
    end = moves[-1].t1
    dt = 1.0 / rate
    kind = rng.choice(("gauss", "laplace", "square"))
    s0 = rng.uniform(0.6, 2.0)
    s1 = rng.uniform(1.5, 5.0)  # extra deviation at 500 mm
    drift_total = rng.uniform(-8.0, 8.0)
    drift_wave = rng.uniform(0.0, 3.0)
    drift_period = rng.uniform(20.0, 90.0)

    def drift(t: float) -> float:
        if clean:
            return 0.0
        return drift_total * t / end + drift_wave * math.sin(t / drift_period)

    glare = []
    for _ in range(rng.randint(0, 3)):
        g0 = rng.uniform(0.0, end)
        glare.append((g0, g0 + rng.uniform(1.0, 5.0), rng.uniform(5.0, 10.0)))

    def noise_sd(t: float, true_mm: float) -> float:
        if clean:
            return ROUNDING_SD_MM
        scale = true_mm / 500.0
        sd = s0 + s1 * (scale * scale if kind == "square" else scale)
        return sd * max([k for g0, g1, k in glare if g0 <= t < g1], default=1.0)

    p_spike = rng.uniform(0.003, 0.015)
    p_burst = rng.uniform(0.001, 0.006)
    p_zero = rng.uniform(0.001, 0.01)
    p_oor = rng.uniform(0.001, 0.01)
    p_none = rng.uniform(0.001, 0.01)
    p_stuck = rng.uniform(0.0005, 0.003)
    p_gap = rng.uniform(0.0005, 0.004)
    out: list[tuple[float, int | None]] = []
    t = rng.uniform(0.0, dt)
    hint = [0]
    burst: list[float] = []
    stuck_until = -1.0
    stuck: int | None = None
    last: int | None = None
    special = 0
    special_val = 0
    while t < end:
        f = position(moves, t, hint)
        true_mm = s.bottom_mm + f * (s.lockout_mm - s.bottom_mm)
        if clean:
            value: int | None = round(true_mm)
        elif t < stuck_until and stuck is not None:
            value = stuck
        else:
            x = true_mm + drift(t)
            sd = noise_sd(t, true_mm)
            if kind == "laplace":
                e = rng.expovariate(1.0) - rng.expovariate(1.0)
                x += e * sd / math.sqrt(2.0)
            else:
                x += rng.gauss(0.0, sd)
            if not burst and rng.random() < p_burst:
                off = rng.choice((-1.0, 1.0)) * rng.uniform(40.0, 250.0)
                wild = rng.random() < 0.3
                for _ in range(rng.randint(2, 6)):
                    burst.append(rng.uniform(-250.0, 250.0) if wild else off + rng.gauss(0, 5))
            if burst:
                x += burst.pop()
            elif rng.random() < p_spike:
                x += rng.choice((-1.0, 1.0)) * rng.uniform(25.0, 250.0)
            value = max(0, round(x))
            if special == 0:
                r = rng.random()
                if r < p_zero:
                    special, special_val = rng.randint(1, 3), -1
                elif r < p_zero + p_oor:
                    code = rng.choice((8190, 8191, 8191, 8000, 8100, 8189, 65535))
                    special, special_val = rng.randint(1, 6), code
            if special:
                special -= 1
                value = rng.randint(0, 15) if special_val < 0 else special_val
            if rng.random() < p_none:
                value = None
            if last is not None and rng.random() < p_stuck:
                stuck_until = t + rng.uniform(0.1, 1.0)
                stuck = last
                value = last
        out.append((round(t, 4), value))
        if value is not None:
            last = value
        step = dt if clean else dt * rng.uniform(0.7, 1.3)
        if not clean and rng.random() < p_gap:
            step += rng.uniform(0.1, 0.6)
        t += step
    return out, drift, [] if clean else [(g0, g1) for g0, g1, _ in glare], noise_sd


@dataclass(slots=True)
class Session:
    settings: EngineSettings
    rate: float
    samples: list[tuple[float, int | None]]
    reps: list[Truth]
    sets: list[int]  # reps per set, as docs/engine.md ("Sets") groups them
    model_sets: list[int]  # reps per set, as the model meant them
    # what really happened, for bench_timing_floor.py's reference
    moves: list[Move] = field(default_factory=list, repr=False)
    glare: list[tuple[float, float]] = field(default_factory=list, repr=False)
    noise_sd: NoiseSd | None = field(default=None, repr=False)
    move_ends: list[float] = field(init=False, repr=False)  # of `moves`, to search

    def __post_init__(self) -> None:
        self.move_ends = [m.t1 for m in self.moves]

    def position_mm(self, t: float) -> float:
        """The sled's true distance from the sensor (no noise, no drift), at any time
        (`position` from the first move on whose end is not before it)."""
        s = self.settings
        i = min(bisect_left(self.move_ends, t), len(self.moves) - 1)
        return s.bottom_mm + self.moves[i].at(t) * (s.lockout_mm - s.bottom_mm)


def contract_sets(reps: list[Truth], rest_s: float) -> list[int]:
    """Reps per set by the contract: a rest of `rest_s` from a rep's end to the next rep's
    start ends the set (the model also ends one between its sets)."""
    sizes: list[int] = []
    for i, rep in enumerate(reps):
        if i == 0 or rep.set != reps[i - 1].set or rep.t_start - reps[i - 1].t_end >= rest_s:
            sizes.append(0)
        sizes[-1] += 1
    return sizes


def phase_durations(reps: list[Truth], top: bool, rest_s: float) -> None:
    """Each rep's concentric, top pause and eccentric, as the engine reports them: a rep
    that starts at the top lowers first, and its top pause is the rest before it within
    its set (none for the first rep of a set, which a rest of `rest_s` begins)."""
    for i, rep in enumerate(reps):
        if top:
            rep.eccentric_s = rep.t_far_in - rep.t_start
            rep.concentric_s = rep.t_end - rep.t_far_out
            before = rep.t_start - reps[i - 1].t_end if i else rest_s
            same_set = i > 0 and rep.set == reps[i - 1].set and before < rest_s
            rep.top_pause_s = before if same_set else 0.0
        else:
            rep.concentric_s = rep.t_top - rep.t_start
            rep.top_pause_s = rep.t_ecc - rep.t_top
            rep.eccentric_s = rep.t_end - rep.t_ecc


def make(seed: int, clean: bool = False) -> Session:
    rng = random.Random(seed)
    near = rng.uniform(50.0, 300.0)
    rom = rng.uniform(150.0, 600.0)
    flip = rng.random() < 0.5
    bottom, lockout = (near + rom, near) if flip else (near, near + rom)
    start = rng.choice(("bottom", "top"))
    settings = EngineSettings(bottom_mm=round(bottom), lockout_mm=round(lockout), start=start)
    rate = 50.0 if rng.random() < 0.35 else rng.uniform(20.0, 50.0)
    lifter = Lifter(rng, start == "top", settings)
    lifter.session()
    samples, drift, glare, noise_sd = sensor(rng, lifter.moves, settings, rate, clean)
    for rep in lifter.reps:
        rep.drift_clear = (
            rep.clear
            and rep.lock_margin * settings.rom_mm
            > CLEAR_MARGIN * settings.rom_mm + abs(drift(rep.t_lock))
        )
        rep.glare_clear = out_of_glare(rep.t_lock, glare)
    sets = contract_sets(lifter.reps, settings.rest_s)
    phase_durations(lifter.reps, start == "top", settings.rest_s)
    return Session(
        settings, rate, samples, lifter.reps, sets, lifter.sets, lifter.moves, glare, noise_sd
    )


# ---------------------------------------------------------------------- scoring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=150)
    parser.add_argument("--first", type=int, default=FIRST_SEED)
    parser.add_argument("--clean", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    board = Scoreboard()
    model_split = 0  # sessions split as the model grouped the reps
    out_of_glare = [0, 0]  # lockout verdicts right, and made, clear of the drift and glare
    for seed in range(args.first, args.first + args.seeds):
        sess = make(seed, args.clean)
        reps, sets = engine_events(sess.settings, sess.samples)
        board.add(sess.reps, sess.sets, reps, sets, sess.rate, start=sess.settings.start)
        model_split += [s.reps for s in sets] == sess.model_sets
        for tr, r in match(sess.reps, reps):
            if tr.drift_clear and tr.glare_clear:
                out_of_glare[0] += r.lockout == tr.lockout
                out_of_glare[1] += 1
        if args.verbose:
            s = sess.settings
            where = f"{s.start}, rom {s.rom_mm:.0f}, {sess.rate:.0f} Hz"
            print_miscount(f"seed {seed} ({where})", sess.reps, reps)
            for tr, r in match(sess.reps, reps):
                if r.lockout != tr.lockout:
                    drift = "" if tr.drift_clear else ", within the drift"
                    print(
                        f"  seed {seed} rep {sess.reps.index(tr) + 1} at {tr.t_top:.2f} s: "
                        f"lockout {tr.lockout} read {r.lockout} (rom_fraction "
                        f"{r.rom_fraction:.3f}{drift}; {where}; flags {', '.join(r.flags)})"
                    )
    kind = "perfect sensor" if args.clean else "all sensor faults"
    last = args.first + board.sessions - 1
    board.report(
        f"{board.sessions} independent-model sessions ({kind}), seeds {args.first}..{last}",
        with_clear=True,
    )
    if out_of_glare[1]:
        ok, n = out_of_glare
        print(
            f"  ... and with no glare within {GLARE_CLEAR_S:g} s of their lockout-side turn: "
            f"{ok}/{n} ({100.0 * ok / n:.1f} %)"
        )
    print(
        f"set split as the model grouped the reps: {model_split}/{board.sessions} traces "
        f"(its pauses inside a set may pass the {EngineSettings().rest_s:.0f} s rest)"
    )


if __name__ == "__main__":
    main()
