"""Single-leg sets: which leg each set is for, and the left/right imbalance of a pair.

Pure logic. The leg of a set is fixed when the set starts (its first rep), from the button's
selection at that moment, so pressing the button during a set only affects the next one.

Imbalance percentages are relative to the mean of both sides, (right - left) / mean(left,
right) * 100: symmetric, so swapping legs only flips the sign, and still defined when one side
is zero. Positive means the right leg did more (more reps, faster, longer lowering).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from firmware.publishing.payloads import Leg
from tempo.events import SetDone

LEGS: tuple[Leg, ...] = ("both", "left", "right")


def _check_leg(leg: str) -> Leg:
    if leg not in LEGS:
        raise ValueError(f"leg must be one of {', '.join(LEGS)}, not {leg!r}")
    return cast(Leg, leg)


def diff_pct(left: float, right: float) -> float:
    """(right - left) relative to the mean of both, in percent; 0 when both are 0."""
    mean = (left + right) / 2
    if mean == 0:
        return 0.0
    return round((right - left) / mean * 100, 1)


@dataclass(frozen=True, slots=True)
class SetSummary:
    """What a finished set leaves for pairing it with the other leg's."""

    set: int
    leg: Leg
    reps: int
    mean_velocity_m_s: float
    mean_eccentric_s: float


class LegTracker:
    """Binds sets to legs and pairs a right-leg set with the left-leg set just before it."""

    def __init__(self) -> None:
        self._legs: dict[int, Leg] = {}
        self._last: SetSummary | None = None

    def leg_for_set(self, set_no: int, selected: Leg) -> Leg:
        """The leg of set `set_no`; the first call binds it to `selected` (the button's pick)."""
        if set_no not in self._legs:
            self._legs[set_no] = _check_leg(selected)
        return self._legs[set_no]

    def finish_set(self, done: SetDone, selected: Leg) -> tuple[Leg, dict[str, Any] | None]:
        """The leg of the finished set and, for a right set right after a left one, the imbalance.

        `selected` only matters when no rep of the set was seen (then the set starts now).
        """
        leg = self.leg_for_set(done.set, selected)
        del self._legs[done.set]
        summary = SetSummary(
            done.set,
            leg,
            done.reps,
            done.mean_concentric_velocity_m_s,
            done.mean_eccentric_s,
        )
        previous, self._last = self._last, summary
        if leg != "right" or previous is None or previous.leg != "left":
            return leg, None
        return leg, imbalance(previous, summary)


def imbalance(left: SetSummary, right: SetSummary) -> dict[str, Any]:
    """The `imbalance` object of a set payload (docs/payloads.md, docs/cues.md)."""
    return {
        "left_set": left.set,
        "right_set": right.set,
        "reps_diff": right.reps - left.reps,
        "reps_pct": diff_pct(left.reps, right.reps),
        "mean_velocity_diff_pct": diff_pct(left.mean_velocity_m_s, right.mean_velocity_m_s),
        "eccentric_s_diff_pct": diff_pct(left.mean_eccentric_s, right.mean_eccentric_s),
    }
