"""Shared helpers: piecewise-linear sled signals and running the engine over samples."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from tempo import EngineSettings, Event, PhaseChanged, Rep, SetDone, TempoEngine
from tempo.filters import RobustFilter
from tempo.smoother import ACCEPTED_KEEP
from tempo.track import BUFFER, Track

BOTTOM = EngineSettings(bottom_mm=150, lockout_mm=520, start="bottom")
TOP = EngineSettings(bottom_mm=150, lockout_mm=520, start="top")


def piecewise(knots: Sequence[tuple[float, float]], rate_hz: float = 50.0, t0: float = 0.0):
    """Samples of the polyline through (t_s, mm) knots at a regular rate, rounded to mm."""
    dt = 1.0 / rate_hz
    out: list[tuple[float, int | None]] = []
    t = t0
    k = 0
    end = knots[-1][0]
    while t <= end:
        while knots[k + 1][0] < t:
            k += 1
        (ta, a), (tb, b) = knots[k], knots[k + 1]
        x = a if tb == ta else a + (b - a) * (t - ta) / (tb - ta)
        out.append((round(t, 6), round(x)))
        t += dt
    return out


def minimum_jerk(tau: float) -> float:
    """The share of a minimum-jerk move done at `tau` of its time: it leaves and arrives at
    no speed, as a smooth, counted lowering does."""
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


def minimum_jerk_time_at(share: float) -> float:
    """The share of a minimum-jerk move's time at which `share` of it is done (0.02 and
    0.98: where it leaves and enters the 2 % bands)."""
    a, b = 0.0, 1.0
    for _ in range(60):
        m = 0.5 * (a + b)
        a, b = (m, b) if minimum_jerk(m) < share else (a, m)
    return a


def crossing(knots: Sequence[tuple[float, float]], seg: int, level: float) -> float:
    """Exact time at which linear segment `seg` of the polyline passes `level`."""
    (ta, a), (tb, b) = knots[seg], knots[seg + 1]
    return ta + (level - a) / (b - a) * (tb - ta)


def as_settings(settings: Any) -> EngineSettings:
    """EngineSettings from itself or from a synthetic trace's Sled (same fields)."""
    return settings if isinstance(settings, EngineSettings) else EngineSettings(**asdict(settings))


def run(
    settings: Any, samples: Iterable[tuple[float, int | None]], finish: bool = True
) -> list[Event]:
    engine = TempoEngine(as_settings(settings))
    events: list[Event] = []
    for t_s, d in samples:
        events += engine.feed(t_s, d)
    if finish:
        events += engine.finish()
    return events


def reps_of(events: Sequence[Event]) -> list[Rep]:
    return [e for e in events if isinstance(e, Rep)]


def sets_of(events: Sequence[Event]) -> list[SetDone]:
    return [e for e in events if isinstance(e, SetDone)]


def phases_of(events: Sequence[Event]) -> list[PhaseChanged]:
    return [e for e in events if isinstance(e, PhaseChanged)]


def filter_outputs(
    f: RobustFilter, readings: Iterable[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The smoothed (t_s, position) the gate and smoother give for readings (rounded to mm,
    as the sensor gives them), the backlog drained in order."""
    out: list[tuple[float, float]] = []
    for t, x in readings:
        got = f.push(t, float(round(x)))
        out += f.backlog
        f.backlog.clear()
        if got is not None:
            out.append(got)
    return out


def track_of(
    samples: Sequence[tuple[float, float]], raw: Iterable[tuple[float, float]] = ()
) -> Track:
    """A segmenter's `Track` holding these smoothed samples and raw readings."""
    track = Track(deque(raw, maxlen=ACCEPTED_KEEP))
    for t, y in samples:
        track.t[track.n % BUFFER] = t
        track.y[track.n % BUFFER] = y
        track.n += 1
    return track
