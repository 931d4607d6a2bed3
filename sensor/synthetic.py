"""Synthetic VL53L0X leg-press traces with ground truth, for tests, benchmarks and examples.

The model has two halves (docs/engine.md, "The sensor model", has the same in prose).

**The lifter** moves the sled along a true trajectory made of holds and moves. A move goes
from one still (or turning) position to the next along a minimum-jerk curve; a bounce at
the bottom joins two quarter-wave curves so that the sled arrives fast and leaves fast. A
session is: rest, a few small unracking or foot-adjusting moves (under 20 % of the range of
motion), then a set of reps with varied tempo (concentric 0.6-2 s, top pause 0-1.5 s,
eccentric 0.8-5 s, bottom pause 0-1 s or a bounce), some partial reps, some locked reps
that overshoot past lockout_mm, the odd breather on the start side, then rest (longer than
rest_s) before the next set. Positions are fractions of the range of motion (0 at
bottom_mm, 1 at lockout_mm) mapped to sensor millimetres by the settings, so either
mounting direction and either start side come out of the same code.

**The sensor** samples that trajectory at 20-50 Hz with jitter and adds, each switchable
in `Faults`: Gaussian noise whose deviation grows with distance; a slow offset drift of a
few millimetres; single-sample spikes of up to ±250 mm; bursts of 2-5 consecutive wrong
readings; near-zero readings when the signal fails; out-of-range codes 8190/8191; read
errors (None); the same value stuck for up to a second; gaps of up to 0.6 s with no
samples; and a few seconds of much higher noise (sunlight, a shiny target).

**Ground truth** follows the engine's conventions exactly (docs/engine.md): phase
boundaries are where the true trajectory is 2 % of the range of motion away from the
position it left or will stop at, solved on the curves themselves, not on samples.

Everything is drawn from one `random.Random(seed)`: the same seed gives the same trace.
Command line: `python -m sensor.synthetic OUT.csv --seed N [--start top] [--flip] ...`
writes OUT.csv (with `# reps=N`) and a config OUT.toml beside it.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

BOUNDARY_FRACTION = 0.02
BOUNCE_MAX_S = 0.15  # same definition as the engine's bounce flag
# The sensor's noise: a deviation of NOISE_FLOOR_MM plus NOISE_PER_MM of the distance, and
# GLARE_NOISE_TIMES as much in glare.
NOISE_FLOOR_MM = 1.0
NOISE_PER_MM = 0.008
GLARE_NOISE_TIMES = (3.0, 6.0)


def noise_deviation_mm(distance_mm: float) -> float:
    """The sensor's noise at `distance_mm`, out of glare (one standard deviation)."""
    return NOISE_FLOOR_MM + NOISE_PER_MM * distance_mm


Shape = Literal["hold", "smooth", "fast_end", "fast_start"]


@dataclass(frozen=True, slots=True)
class Sled:
    """The sled and thresholds a trace is made for: the fields of tempo's EngineSettings.

    (sensor/ does not import tempo; `EngineSettings(**dataclasses.asdict(sled))` converts,
    and anything with these attributes, an Sled included, is accepted as input.)
    """

    bottom_mm: float = 150.0
    lockout_mm: float = 520.0
    start: Literal["bottom", "top"] = "bottom"
    target_eccentric_s: float = 3.0
    fast_margin_s: float = 1.0
    partial_below: float = 0.80
    locked_above: float = 0.97
    rest_s: float = 8.0

    @property
    def rom_mm(self) -> float:
        return abs(self.lockout_mm - self.bottom_mm)

    @classmethod
    def like(cls, other: Any) -> Sled:
        """A Sled with the same values as any settings-like object."""
        return cls(**{f.name: getattr(other, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Faults:
    """Which sensor effects to add; all on by default."""

    noise: bool = True
    drift: bool = True
    spikes: bool = True
    bursts: bool = True
    near_zero: bool = True
    out_of_range: bool = True
    read_errors: bool = True
    stuck: bool = True
    gaps: bool = True
    glare: bool = True
    jitter: bool = True

    @classmethod
    def none(cls) -> Faults:
        """A perfect sensor at a perfectly regular rate."""
        return cls(**{f.name: False for f in fields(cls)})

    @classmethod
    def only(cls, *names: str) -> Faults:
        """Just the named effects, e.g. `Faults.only("noise", "spikes")`."""
        known = {f.name for f in fields(cls)}
        for name in names:
            if name not in known:
                raise ValueError(f"unknown fault {name!r} (known: {', '.join(sorted(known))})")
        return cls(**{f.name: f.name in names for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Plan:
    """What the lifter does; ranges are drawn uniformly per rep."""

    sets: int = 2
    reps: tuple[int, int] = (3, 8)
    concentric_s: tuple[float, float] = (0.6, 2.0)
    top_pause_s: tuple[float, float] = (0.0, 1.5)
    eccentric_s: tuple[float, float] = (0.8, 5.0)
    bottom_pause_s: tuple[float, float] = (0.0, 1.0)
    p_partial: float = 0.12
    p_locked: float = 0.12
    p_bounce: float = 0.15
    p_breather: float = 0.08  # a pause of 1.5-4 s on the start side between reps
    adjust_moves: tuple[int, int] = (1, 3)  # unracking / foot adjusting before each set
    rest_extra_s: tuple[float, float] = (4.0, 12.0)  # rest between sets beyond rest_s
    lead_in_s: tuple[float, float] = (1.5, 4.0)


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of the true trajectory: fraction f0 at t0 to f1 at t1 along `shape`."""

    t0: float
    t1: float
    f0: float
    f1: float
    shape: Shape

    def at(self, t_s: float) -> float:
        if self.shape == "hold" or self.t1 <= self.t0:
            return self.f0
        u = min(max((t_s - self.t0) / (self.t1 - self.t0), 0.0), 1.0)
        return self.f0 + (self.f1 - self.f0) * _SHAPES[self.shape](u)

    def time_at_progress(self, s: float) -> float:
        """Time at which the move has covered fraction `s` of its travel (bisection)."""
        fn = _SHAPES[self.shape]
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if fn(mid) < s:
                lo = mid
            else:
                hi = mid
        return self.t0 + (lo + hi) / 2 * (self.t1 - self.t0)


def _min_jerk(u: float) -> float:
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


_SHAPES: dict[str, Callable[[float], float]] = {
    "smooth": _min_jerk,
    "fast_end": lambda u: 1.0 - math.cos(math.pi * u / 2.0),
    "fast_start": lambda u: math.sin(math.pi * u / 2.0),
}


@dataclass(frozen=True, slots=True)
class TrueRep:
    """Ground truth of one rep, in the engine's conventions (tempo.events.Rep fields)."""

    set: int
    rep: int
    t_start: float
    t_top: float
    t_ecc: float
    t_end: float
    concentric_s: float
    top_pause_s: float
    eccentric_s: float
    bottom_pause_s: float
    rom_fraction: float
    lockout_fraction: float  # position of the lockout-side turning point
    lockout: Literal["locked", "full", "partial"]
    bounce: bool  # under BOUNCE_MAX_S within 2 % of the bottom turn, as the engine flags it
    mean_concentric_velocity_m_s: float
    t_stop: float  # when the sled really stopped or turned at the end of the rep


@dataclass(frozen=True, slots=True)
class TrueSet:
    set: int
    reps: int
    t_start: float
    t_end: float


@dataclass(slots=True)
class SyntheticTrace:
    """Samples as the sensor reported them, plus what really happened."""

    settings: Sled
    seed: int
    rate_hz: float
    samples: list[tuple[float, int | None]]
    reps: list[TrueRep]
    sets: list[TrueSet]
    segments: list[Segment] = field(repr=False)
    faults: Faults = field(default_factory=Faults)
    # spans (start, end) of glare: the sensor's noise several times its own (the benches
    # tell the lockout verdicts made in it apart)
    glare: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def duration_s(self) -> float:
        return self.segments[-1].t1 if self.segments else 0.0

    def position_mm(self, t_s: float) -> float:
        """True sled position in sensor millimetres (no noise, no drift)."""
        return _to_mm(self.settings, _position(self.segments, t_s))

    def metadata(self) -> dict[str, str]:
        s = self.settings
        return {
            "reps": str(len(self.reps)),
            "sets": str(len(self.sets)),
            "generator": "sensor.synthetic",
            "seed": str(self.seed),
            "rate_hz": f"{self.rate_hz:g}",
            "bottom_mm": f"{s.bottom_mm:g}",
            "lockout_mm": f"{s.lockout_mm:g}",
            "start": s.start,
        }


def _to_mm(settings: Sled, f: float) -> float:
    return settings.bottom_mm + f * (settings.lockout_mm - settings.bottom_mm)


def _position(segments: Sequence[Segment], t_s: float) -> float:
    lo, hi = 0, len(segments) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if segments[mid].t1 < t_s:
            lo = mid + 1
        else:
            hi = mid
    return segments[lo].at(t_s)


def random_settings(rng: random.Random, start: str | None = None) -> Sled:
    """A plausible sled: 80-250 mm at one end, 260-480 mm of travel, either mounting."""
    near = rng.uniform(80.0, 250.0)
    rom = rng.uniform(260.0, 480.0)
    far = near + rom
    if rng.random() < 0.5:
        bottom, lockout = near, far
    else:
        bottom, lockout = far, near
    side = start or rng.choice(["bottom", "top"])
    return Sled(bottom_mm=round(bottom), lockout_mm=round(lockout), start=side)  # type: ignore[arg-type]


class _Lifter:
    """Builds the true trajectory and its ground truth, one segment at a time."""

    def __init__(self, rng: random.Random, settings: Sled, plan: Plan) -> None:
        self.rng = rng
        self.s = settings
        self.plan = plan
        self.top = settings.start == "top"
        self.segments: list[Segment] = []
        self.t = 0.0
        self.f = 0.0
        self.reps: list[TrueRep] = []
        self.sets: list[TrueSet] = []

    def hold(self, duration_s: float) -> None:
        if duration_s > 0:
            self.segments.append(Segment(self.t, self.t + duration_s, self.f, self.f, "hold"))
            self.t += duration_s

    def move(self, to: float, duration_s: float, shape: Shape = "smooth") -> Segment:
        seg = Segment(self.t, self.t + duration_s, self.f, to, shape)
        self.segments.append(seg)
        self.t += duration_s
        self.f = to
        return seg

    def rest_level(self) -> float:
        # The sled parks on its stops a little beyond the start-side calibration point.
        return self.rng.uniform(0.98, 1.03) if self.top else self.rng.uniform(-0.03, 0.01)

    def u(self, bounds: tuple[float, float]) -> float:
        return self.rng.uniform(*bounds)

    def adjust(self) -> None:
        """Unracking or foot adjusting: small moves that must never count."""
        rng = self.rng
        home = self.f
        for _ in range(rng.randint(*self.plan.adjust_moves)):
            amp = rng.uniform(0.04, 0.18)
            toward_far = rng.random() < 0.7
            sign = -1.0 if self.top else 1.0
            to = home + (sign * amp if toward_far else -sign * amp * 0.4)
            self.move(to, rng.uniform(0.4, 1.4))
            self.hold(rng.uniform(0.2, 1.2))
            self.move(home + rng.uniform(-0.01, 0.01), rng.uniform(0.4, 1.2))
            self.hold(rng.uniform(0.8, 2.0))

    def session(self) -> None:
        plan, rng = self.plan, self.rng
        self.f = self.rest_level()
        self.hold(self.u(plan.lead_in_s))
        for _ in range(plan.sets):
            self.adjust()
            if self.top:  # settle on the lockout side after unracking
                self.move(rng.uniform(0.9, 1.0), rng.uniform(0.6, 1.0))
                self.hold(rng.uniform(1.0, 2.0))
            first = len(self.reps)
            n_reps = rng.randint(*plan.reps)
            if n_reps:
                self.one_set(len(self.sets) + 1, n_reps)
                reps = self.reps[first:]
                self.sets.append(
                    TrueSet(len(self.sets) + 1, len(reps), reps[0].t_start, reps[-1].t_end)
                )
            self.hold(rng.uniform(1.0, 2.5))
            self.move(self.rest_level(), rng.uniform(0.6, 1.2))  # re-rack
            self.hold(self.s.rest_s + self.u(plan.rest_extra_s))

    def one_set(self, set_no: int, n_reps: int) -> None:
        rng, plan, s = self.rng, self.plan, self.s
        band = BOUNDARY_FRACTION
        prev_end: float | None = None
        bounce_next = False  # start=bottom: the previous rep ended in a bounce
        for rep_no in range(1, n_reps + 1):
            kind = "full"
            r = rng.random()
            if r < plan.p_partial:
                kind = "partial"
            elif r < plan.p_partial + plan.p_locked:
                kind = "locked"
            bounce = rng.random() < plan.p_bounce
            conc_s = self.u(plan.concentric_s)
            ecc_s = self.u(plan.eccentric_s)
            # Verdicts are kept clear of the default thresholds (0.80 travel, 0.97 lockout)
            # by a few per cent, so the ground truth is not a coin toss against noise.
            top_level = rng.uniform(0.99, 1.05) if kind == "locked" else rng.uniform(0.87, 0.95)
            if self.top:
                deep = rng.uniform(0.3, 0.45) if kind == "partial" else rng.uniform(-0.02, 0.02)
                # Eccentric from the top, bottom turn, concentric back up.
                if bounce:
                    ecc = self.move(deep, ecc_s, "fast_end")
                    conc = self.move(top_level, conc_s, "fast_start")
                else:
                    ecc = self.move(deep, ecc_s)
                    self.hold(self.u(plan.bottom_pause_s))
                    conc = self.move(top_level, conc_s)
                t_start = ecc.time_at_progress(band / abs(ecc.f1 - ecc.f0))
                t_bot = ecc.time_at_progress(1 - band / abs(ecc.f1 - ecc.f0))
                t_cst = conc.time_at_progress(band / abs(conc.f1 - conc.f0))
                t_end = conc.time_at_progress(1 - band / abs(conc.f1 - conc.f0))
                rom = conc.f1 - conc.f0
                lock_f = conc.f1
                rep = {
                    "t_start": t_start,
                    "t_top": t_end,
                    "t_ecc": t_start,
                    "t_end": t_end,
                    "eccentric_s": t_bot - t_start,
                    "bottom_pause_s": t_cst - t_bot,
                    "concentric_s": t_end - t_cst,
                    "top_pause_s": t_start - prev_end if prev_end is not None else 0.0,
                    "bounce": bounce and t_cst - t_bot < BOUNCE_MAX_S,
                    "t_stop": conc.t1,
                }
                conc_time = t_end - t_cst
                self.hold(self.u(plan.top_pause_s))
                if rep_no < n_reps and rng.random() < plan.p_breather:
                    self.hold(rng.uniform(1.5, 4.0))
            else:
                end_level = rng.uniform(-0.02, 0.02)
                if kind == "partial":
                    top_level = rng.uniform(0.5, 0.7)
                conc = self.move(top_level, conc_s, "fast_start" if bounce_next else "smooth")
                self.hold(self.u(plan.top_pause_s))
                ecc = self.move(end_level, ecc_s, "fast_end" if bounce else "smooth")
                t_start = conc.time_at_progress(band / abs(conc.f1 - conc.f0))
                t_top = conc.time_at_progress(1 - band / abs(conc.f1 - conc.f0))
                t_ecc = ecc.time_at_progress(band / abs(ecc.f1 - ecc.f0))
                t_end = ecc.time_at_progress(1 - band / abs(ecc.f1 - ecc.f0))
                rom = conc.f1 - conc.f0
                lock_f = conc.f1
                rep = {
                    "t_start": t_start,
                    "t_top": t_top,
                    "t_ecc": t_ecc,
                    "t_end": t_end,
                    "concentric_s": t_top - t_start,
                    "top_pause_s": t_ecc - t_top,
                    "eccentric_s": t_end - t_ecc,
                    "bottom_pause_s": t_start - prev_end if prev_end is not None else 0.0,
                    "bounce": bounce and rep_no < n_reps,
                    "t_stop": ecc.t1,
                }
                conc_time = t_top - t_start
                last = rep_no == n_reps
                bounce_next = bounce and not last
                if not bounce_next:
                    self.hold(self.u(plan.bottom_pause_s) if not last else 0.0)
                    if not last and rng.random() < plan.p_breather:
                        self.hold(rng.uniform(1.5, 4.0))
            lockout = (
                "locked"
                if lock_f >= s.locked_above
                else ("partial" if rom < s.partial_below else "full")
            )
            travel_mm = (abs(rom) - 2 * band) * s.rom_mm
            self.reps.append(
                TrueRep(
                    set=set_no,
                    rep=rep_no,
                    rom_fraction=rom,
                    lockout_fraction=lock_f,
                    lockout=lockout,  # type: ignore[arg-type]
                    mean_concentric_velocity_m_s=travel_mm / conc_time / 1000.0,
                    **rep,  # type: ignore[arg-type]
                )
            )
            prev_end = rep["t_end"]
        if not self.top:
            # A bounce is a turn with less than BOUNCE_MAX_S within 2 % of it, the engine's
            # definition: the quarter waves of a slow lowering and a slow rise can spend
            # longer there.
            reps = self.reps
            for i in range(len(reps) - n_reps, len(reps) - 1):
                if reps[i].bounce and reps[i + 1].t_start - reps[i].t_end >= BOUNCE_MAX_S:
                    reps[i] = replace(reps[i], bounce=False)
        if not self.top and bounce_next:  # never happens: the last rep does not bounce
            self.hold(0.5)


def _sensor(
    rng: random.Random,
    settings: Sled,
    segments: Sequence[Segment],
    rate_hz: float,
    faults: Faults,
) -> tuple[list[tuple[float, int | None]], list[tuple[float, float]]]:
    """Sample the trajectory like a VL53L0X in continuous mode would; also the spans of
    glare."""
    end = segments[-1].t1
    dt = 1.0 / rate_hz
    drift_amp = rng.uniform(2.0, 6.0) if faults.drift else 0.0
    drift_period = rng.uniform(60.0, 240.0)
    drift_phase = rng.uniform(0.0, 2 * math.pi)
    glare: list[tuple[float, float, float]] = []
    if faults.glare:
        for _ in range(rng.randint(1, 2)):
            g0 = rng.uniform(0.0, max(end - 4.0, 0.0))
            glare.append((g0, g0 + rng.uniform(1.0, 4.0), rng.uniform(*GLARE_NOISE_TIMES)))
    out: list[tuple[float, int | None]] = []
    t = rng.uniform(0.0, dt)
    stuck_until = -1.0
    stuck_value: int | None = None
    burst_left = 0
    burst_offset = 0.0
    zero_left = 0
    oor_left = 0
    last: int | None = None
    while t < end:
        true_mm = _to_mm(settings, _position(segments, t))
        value: int | None
        if t < stuck_until and stuck_value is not None:
            value = stuck_value
        else:
            reading = true_mm
            if faults.drift:
                reading += drift_amp * math.sin(2 * math.pi * t / drift_period + drift_phase)
            if faults.noise:
                sigma = noise_deviation_mm(reading)
                for g0, g1, k in glare:
                    if g0 <= t < g1:
                        sigma *= k
                reading += rng.gauss(0.0, sigma)
            if faults.spikes and rng.random() < 0.01:
                reading += rng.choice((-1, 1)) * rng.uniform(40.0, 250.0)
            if faults.bursts:
                if burst_left == 0 and rng.random() < 0.003:
                    burst_left = rng.randint(2, 5)
                    burst_offset = rng.choice((-1, 1)) * rng.uniform(60.0, 250.0)
                if burst_left > 0:
                    burst_left -= 1
                    reading += burst_offset + rng.gauss(0.0, 3.0)
            value = max(round(reading), 1)
            if faults.near_zero:
                if zero_left == 0 and rng.random() < 0.003:
                    zero_left = rng.randint(1, 4)
                if zero_left > 0:
                    zero_left -= 1
                    value = rng.randint(0, 15)
            if faults.out_of_range:
                if oor_left == 0 and rng.random() < 0.004:
                    oor_left = rng.randint(1, 10)
                if oor_left > 0:
                    oor_left -= 1
                    value = rng.choice((8190, 8191, 8191, 8190, 8100))
            if faults.read_errors and rng.random() < 0.005:
                value = None
            if faults.stuck and last is not None and rng.random() < 0.002:
                stuck_until = t + rng.uniform(0.2, 1.0)
                stuck_value = last
                value = last
        out.append((round(t, 4), value))
        if value is not None:
            last = value
        step = dt
        if faults.jitter:
            step *= rng.uniform(0.85, 1.15)
            if rng.random() < 0.01:
                step *= rng.uniform(1.5, 2.5)
        if faults.gaps and rng.random() < 0.002:
            step += rng.uniform(0.1, 0.6)
        t += step
    return out, [(g0, g1) for g0, g1, _ in glare]


def generate(
    seed: int,
    *,
    settings: Sled | Any | None = None,
    start: str | None = None,
    plan: Plan | None = None,
    faults: Faults | None = None,
    rate_hz: float | None = None,
) -> SyntheticTrace:
    """A session from one seed; anything not given is drawn from it (geometry, rate, ...)."""
    rng = random.Random(seed)
    settings = random_settings(rng, start) if settings is None else Sled.like(settings)
    if start is not None and start != settings.start:
        settings = replace(settings, start=start)  # type: ignore[arg-type]
    if rate_hz is None:
        rate_hz = rng.choice((20.0, 25.0, 30.0, 40.0, 50.0))
    plan = plan or Plan()
    faults = Faults() if faults is None else faults
    lifter = _Lifter(rng, settings, plan)
    lifter.session()
    samples, glare = _sensor(rng, settings, lifter.segments, rate_hz, faults)
    return SyntheticTrace(
        settings=settings,
        seed=seed,
        rate_hz=rate_hz,
        samples=samples,
        reps=lifter.reps,
        sets=lifter.sets,
        segments=lifter.segments,
        faults=faults,
        glare=glare,
    )


def config_toml(settings: Sled) -> str:
    """The config file that goes with a generated trace."""
    return (
        "# Config for the synthetic trace beside it (sensor.synthetic).\n"
        "version = 1\n\n"
        "[sled]\n"
        f"bottom_mm = {settings.bottom_mm:g}\n"
        f"lockout_mm = {settings.lockout_mm:g}\n"
        f'start = "{settings.start}"\n\n'
        "[tempo]\n"
        f"target_eccentric_s = {settings.target_eccentric_s:g}\n"
        f"fast_margin_s = {settings.fast_margin_s:g}\n\n"
        "[lockout]\n"
        f"partial_below = {settings.partial_below:g}\n"
        f"locked_above = {settings.locked_above:g}\n\n"
        "[sets]\n"
        f"rest_s = {settings.rest_s:g}\n"
    )


def write(trace: SyntheticTrace, csv_path: str | Path, extra: dict[str, str] | None = None) -> Path:
    """Write the trace CSV and its config (same name, .toml); returns the config path."""
    from sensor.trace import TraceWriter  # noqa: PLC0415  (keeps `generate` import-light)

    csv_path = Path(csv_path)
    meta = {**trace.metadata(), **(extra or {})}
    with TraceWriter(csv_path, meta) as w:
        for t_s, d in trace.samples:
            w.write(t_s, d)
    toml_path = csv_path.with_suffix(".toml")
    toml_path.write_text(config_toml(trace.settings), encoding="utf-8")
    return toml_path


def _range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sensor.synthetic",
        description="Write a synthetic VL53L0X leg-press trace (CSV + TOML config beside it).",
    )
    parser.add_argument("out", help="trace file to write (.csv); the config goes to .toml")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--start", choices=("bottom", "top"), help="start side (default: drawn)")
    parser.add_argument("--bottom-mm", type=float, help="reading at the bottom")
    parser.add_argument("--lockout-mm", type=float, help="reading at lockout")
    parser.add_argument("--rate", type=float, help="sampling rate in Hz (default: drawn)")
    parser.add_argument("--sets", type=int, default=2)
    parser.add_argument("--reps", type=_range, default=(3, 8), help="reps per set, e.g. 4-6")
    defaults = Plan()
    parser.add_argument("--p-partial", type=float, default=defaults.p_partial)
    parser.add_argument("--p-locked", type=float, default=defaults.p_locked)
    parser.add_argument("--p-bounce", type=float, default=defaults.p_bounce)
    parser.add_argument("--eccentric", type=float, nargs=2, metavar=("MIN_S", "MAX_S"))
    parser.add_argument("--clean", action="store_true", help="no sensor faults at all")
    parser.add_argument(
        "--only", nargs="+", default=None, help="just these faults (e.g. noise jitter)"
    )
    args = parser.parse_args(argv)
    settings = None
    if args.bottom_mm is not None or args.lockout_mm is not None:
        if args.bottom_mm is None or args.lockout_mm is None:
            parser.error("--bottom-mm and --lockout-mm go together")
        settings = Sled(
            bottom_mm=args.bottom_mm, lockout_mm=args.lockout_mm, start=args.start or "bottom"
        )
    plan = Plan(
        sets=args.sets,
        reps=args.reps,
        p_partial=args.p_partial,
        p_locked=args.p_locked,
        p_bounce=args.p_bounce,
        eccentric_s=tuple(args.eccentric) if args.eccentric else defaults.eccentric_s,
    )
    try:
        faults = Faults.none() if args.clean else Faults.only(*args.only) if args.only else None
    except ValueError as exc:
        parser.error(str(exc))
    trace = generate(
        args.seed, settings=settings, start=args.start, plan=plan, faults=faults, rate_hz=args.rate
    )
    toml_path = write(trace, args.out)
    print(
        f"{args.out}: {len(trace.samples)} samples, {len(trace.reps)} reps in "
        f"{len(trace.sets)} sets at {trace.rate_hz:g} Hz; config {toml_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
