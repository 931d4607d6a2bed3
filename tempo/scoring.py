"""Scores and verdicts of one rep and one set (formulas documented in docs/engine.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from tempo.events import BOUNCE, FAST_ECCENTRIC, LOCKED_KNEES, PARTIAL, TIMES_UNKNOWN, Rep
from tempo.settings import EngineSettings

# A bottom turnaround that spends less than this within 2 % of its turning point is a bounce.
BOUNCE_MAX_S: Final = 0.15
# Lowering slower than the target is fine up to this multiple; past it the score falls
# linearly to zero at SLOW_ZERO times the target.
SLOW_OK: Final = 1.5
SLOW_ZERO: Final = 3.0


def eccentric_score(eccentric_s: float, target_s: float) -> int:
    """0-100: proportional to the lowering time up to the target, tolerant of slow lowering."""
    r = eccentric_s / target_s
    if r <= 1.0:
        score = 100.0 * max(r, 0.0)
    elif r <= SLOW_OK:
        score = 100.0
    else:
        score = 100.0 * max(0.0, (SLOW_ZERO - r) / (SLOW_ZERO - SLOW_OK))
    return int(score + 0.5)


def lockout_verdict(
    settings: EngineSettings, lockout_side_fraction: float, rom_fraction: float
) -> Literal["locked", "full", "partial"]:
    """Locked beats partial: a locked knee is the thing to warn about."""
    if lockout_side_fraction >= settings.locked_above:
        return "locked"
    if rom_fraction < settings.partial_below:
        return "partial"
    return "full"


def rep_flags(
    settings: EngineSettings,
    lockout: str,
    eccentric_s: float,
    bounce: bool,
    times_unknown: bool = False,
) -> tuple[str, ...]:
    """Flags in a fixed order so equal reps give equal payloads. With its times unknown
    a rep gets no verdict on them: neither fast_eccentric nor bounce (a turn hidden in a
    fault reads as a V whatever pause the sled made there)."""
    flags: list[str] = []
    if times_unknown:
        flags.append(TIMES_UNKNOWN)
    else:
        if eccentric_s < settings.target_eccentric_s - settings.fast_margin_s:
            flags.append(FAST_ECCENTRIC)
        if bounce:
            flags.append(BOUNCE)
    if lockout == "locked":
        flags.append(LOCKED_KNEES)
    elif lockout == "partial":
        flags.append(PARTIAL)
    return tuple(flags)


def velocity_loss_pct(best_m_s: float, last_m_s: float) -> float:
    """Best-to-last loss of mean concentric velocity, in percent (never negative)."""
    if best_m_s <= 0.0:
        return 0.0
    return max(0.0, 100.0 * (best_m_s - last_m_s) / best_m_s)


def set_summary(reps: Sequence[Rep]) -> dict[str, float]:
    """Aggregates of a set's reps, the fields SetDone needs besides ids and times."""
    known = [r for r in reps if TIMES_UNKNOWN not in r.flags]  # means of measured reps only
    n = len(known)
    velocities = [r.mean_concentric_velocity_m_s for r in known]
    best = max(velocities) if velocities else 0.0
    last = velocities[-1] if velocities else 0.0
    return {
        "mean_eccentric_s": sum(r.eccentric_s for r in known) / n if n else 0.0,
        "time_under_tension_s": sum(r.t_end - r.t_start for r in reps),
        "mean_concentric_velocity_m_s": sum(velocities) / n if n else 0.0,
        "best_concentric_velocity_m_s": best,
        "last_concentric_velocity_m_s": last,
        "velocity_loss_pct": velocity_loss_pct(best, last),
    }
