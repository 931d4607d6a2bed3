"""Load-velocity profile, estimated 1RM and velocity zones (method in docs/prescriptions.md).

Pure arithmetic on plain numbers, no I/O: the hub feeds it the sets of an athlete, the
station the first rep of a set. A profile that cannot be trusted is a `NotEnoughData` with
its reason, never a made-up number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from firmware.station.set_limits import MAX_LOAD_KG
from firmware.vbt import DEFAULT_MVT_M_S

# The window of sets a profile is fitted over, unless the caller chooses another.
DEFAULT_WINDOW_DAYS = 42
# A line needs this many different loads to say anything about the slope and its fit.
MIN_DISTINCT_LOADS = 3
# Loads closer than this are the same load (the next-set message keeps hundredths of a kg).
LOAD_RESOLUTION_KG = 0.01
# A first rep within this of the target velocity is on target: an engineering choice, not a
# value from the literature.
VELOCITY_ZONE_TOLERANCE_M_S = 0.05
# No leg press sled moves this fast on average; a larger value is a measurement fault.
MAX_PLAUSIBLE_VELOCITY_M_S = 5.0
# Suggested loads are rounded to what a lifter can load: the dashboard's +/- step.
LOAD_STEP_KG = 2.5


@dataclass(frozen=True, slots=True)
class ProfilePoint:
    """The best mean concentric velocity seen at one load, and how many sets were at it."""

    load_kg: float
    velocity_m_s: float
    sets: int


@dataclass(frozen=True, slots=True)
class LoadVelocityProfile:
    """velocity = intercept + slope × load, fitted by least squares; e1RM where it meets MVT."""

    points: tuple[ProfilePoint, ...]
    slope_m_s_per_kg: float
    intercept_m_s: float
    r_squared: float
    mvt_m_s: float
    e1rm_kg: float

    def velocity_at(self, load_kg: float) -> float:
        return self.intercept_m_s + self.slope_m_s_per_kg * load_kg

    def load_at(self, velocity_m_s: float) -> float:
        return (velocity_m_s - self.intercept_m_s) / self.slope_m_s_per_kg

    def describe(self) -> str:
        """One line for `repsled history profile`."""
        loads = f"{self.points[0].load_kg:g}-{self.points[-1].load_kg:g} kg"
        return (
            f"{len(self.points)} loads ({loads}): {self.intercept_m_s:.3f} m/s at no load, "
            f"{self.slope_m_s_per_kg * 100:+.3f} m/s per 100 kg, R² {self.r_squared:.3f}, "
            f"e1RM {self.e1rm_kg:.1f} kg at {self.mvt_m_s:g} m/s"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the hub's API and `repsled history profile --format json`."""
        return {
            "status": "ok",
            "points": [_point_dict(p) for p in self.points],
            "slope_m_s_per_kg": round(self.slope_m_s_per_kg, 6),
            "intercept_m_s": round(self.intercept_m_s, 4),
            "r_squared": round(self.r_squared, 4),
            "mvt_m_s": self.mvt_m_s,
            "e1rm_kg": round(self.e1rm_kg, 1),
        }


@dataclass(frozen=True, slots=True)
class NotEnoughData:
    """No profile: `reason` says why in one line; the points found are still shown."""

    reason: str
    points: tuple[ProfilePoint, ...]

    def describe(self) -> str:
        return f"not enough data: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "not_enough_data",
            "reason": self.reason,
            "points": [_point_dict(p) for p in self.points],
        }


ProfileResult = LoadVelocityProfile | NotEnoughData


def _point_dict(p: ProfilePoint) -> dict[str, Any]:
    return {"load_kg": p.load_kg, "velocity_m_s": round(p.velocity_m_s, 3), "sets": p.sets}


def best_per_load(sets: Iterable[tuple[float | None, float | None]]) -> tuple[ProfilePoint, ...]:
    """One point per distinct load from (load_kg, set's best mean concentric velocity) pairs.

    A load keeps the fastest of its sets: slower sets at the same load are fatigue or a bad
    day, not what the lifter can do at that load. Sets with no load, a load the next-set
    message would refuse, or a velocity that is not a positive plausible number are left
    out. Sorted by load.
    """
    best: dict[int, tuple[float, float, int]] = {}
    for load, velocity in sets:
        if load is None or velocity is None:
            continue
        if not (0 < load <= MAX_LOAD_KG and 0 < velocity <= MAX_PLAUSIBLE_VELOCITY_M_S):
            continue  # also NaN, which fails every comparison
        key = round(load / LOAD_RESOLUTION_KG)
        if key in best:
            kept_load, kept_velocity, count = best[key]
            best[key] = (kept_load, max(kept_velocity, velocity), count + 1)
        else:
            best[key] = (load, velocity, 1)
    return tuple(ProfilePoint(*best[k]) for k in sorted(best))


def fit_profile(
    sets: Iterable[tuple[float | None, float | None]], mvt_m_s: float = DEFAULT_MVT_M_S
) -> ProfileResult:
    """The load-velocity line of an athlete's sets, or why there is none.

    Not enough data: fewer than MIN_DISTINCT_LOADS loads, a line that does not slope down
    (velocity must fall as load rises), or one that reaches `mvt_m_s` at no positive load.
    """
    if not (math.isfinite(mvt_m_s) and mvt_m_s > 0):
        raise ValueError(f"mvt_m_s must be a positive number of m/s, not {mvt_m_s!r}")
    points = best_per_load(sets)
    if len(points) < MIN_DISTINCT_LOADS:
        return NotEnoughData(
            f"{len(points)} distinct load(s); a profile needs sets at {MIN_DISTINCT_LOADS} "
            "or more different loads",
            points,
        )
    n = len(points)
    mean_x = sum(p.load_kg for p in points) / n
    mean_y = sum(p.velocity_m_s for p in points) / n
    sxx = sum((p.load_kg - mean_x) ** 2 for p in points)
    sxy = sum((p.load_kg - mean_x) * (p.velocity_m_s - mean_y) for p in points)
    syy = sum((p.velocity_m_s - mean_y) ** 2 for p in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    if slope >= 0:
        return NotEnoughData(
            f"velocity does not fall as load rises (slope {slope * 100:+.3f} m/s per 100 kg): "
            "the sets were not all-out, or the loads are mislabelled",
            points,
        )
    ss_res = sum((p.velocity_m_s - (intercept + slope * p.load_kg)) ** 2 for p in points)
    r_squared = 1.0 - ss_res / syy  # syy > 0: a falling line has spread in velocity
    e1rm = (mvt_m_s - intercept) / slope
    if e1rm <= 0:
        return NotEnoughData(
            f"the line is already under the {mvt_m_s:g} m/s threshold at no load", points
        )
    return LoadVelocityProfile(points, slope, intercept, r_squared, mvt_m_s, e1rm)


def e1rm_trend(
    sets: Iterable[tuple[float, float | None, float | None]],
    at_s: Iterable[float],
    *,
    window_days: float = DEFAULT_WINDOW_DAYS,
    mvt_m_s: float = DEFAULT_MVT_M_S,
) -> list[tuple[float, ProfileResult]]:
    """The profile as it stood at each time in `at_s` (for example each session's end).

    `sets` are (time in seconds, load_kg, best velocity); each profile is fitted over the
    sets in the window ending at that time, (t - window, t], as the hub's current one is.
    """
    window_s = window_days * 86400.0
    rows = sorted((t, load, v) for t, load, v in sets)
    return [
        (t, fit_profile(((load, v) for ts, load, v in rows if t - window_s < ts <= t), mvt_m_s))
        for t in at_s
    ]


Verdict = Literal["too_light", "on_target", "too_heavy"]


@dataclass(frozen=True, slots=True)
class ZoneAdvice:
    """How the first rep of a set compares with the target velocity, and a load to try."""

    verdict: Verdict
    velocity_m_s: float
    target_m_s: float
    suggested_load_kg: float | None


def round_to_step(load_kg: float, step_kg: float = LOAD_STEP_KG) -> float:
    return round(load_kg / step_kg) * step_kg


def velocity_zone(
    first_rep_velocity_m_s: float,
    target_m_s: float,
    *,
    profile: LoadVelocityProfile | None = None,
    load_kg: float | None = None,
    tolerance_m_s: float = VELOCITY_ZONE_TOLERANCE_M_S,
) -> ZoneAdvice:
    """Too light (faster than the target), too heavy (slower) or on target.

    With a profile, a load to reach the target today: with the set's load known, the
    profile's slope from today's first rep (today's line is the profile shifted to pass
    through it, so a good or bad day counts); without it, the profile's own load for the
    target. Rounded to LOAD_STEP_KG; None without a profile or when it would not be positive.
    """
    difference = first_rep_velocity_m_s - target_m_s
    verdict: Verdict = "on_target"
    if difference > tolerance_m_s:
        verdict = "too_light"
    elif difference < -tolerance_m_s:
        verdict = "too_heavy"
    suggested: float | None = None
    if profile is not None:
        if load_kg is not None:
            raw = load_kg + (target_m_s - first_rep_velocity_m_s) / profile.slope_m_s_per_kg
        else:
            raw = profile.load_at(target_m_s)
        rounded = round_to_step(raw)
        suggested = rounded if rounded > 0 else None
    return ZoneAdvice(verdict, first_rep_velocity_m_s, target_m_s, suggested)
