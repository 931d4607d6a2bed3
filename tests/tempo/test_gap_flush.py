"""A gap at the end of a lowering: the smoother's flush is no hold.

When a reading comes after a gap, the smoother flushes the medians of ever fewer of the
readings before it; on a slow end of a lowering they lag the sled and look flat, and the
still test took them for a hold above the bottom: the rep ended before the gap, 0.5 s
early and with a `fast_eccentric` (accuracy seed 900024). Such samples confirm a hold only
when the newest reading is within the band of their level, as samples owed at a blackout
do (docs/engine.md, "Movements and stops").
"""

from __future__ import annotations

import random

import pytest

from tests.tempo.helpers import BOTTOM, piecewise, reps_of, run

ROM = BOTTOM.rom_mm
GAP = (6.0, 6.6)


def _slow_into_a_gap(seed: int, speed: float) -> list[tuple[float, int | None]]:
    """A lowering that slows to `speed` (mm/s) 0.4 s before a 0.6 s gap, and reaches the
    bottom in it; 30 Hz, 2 mm of noise."""
    rng = random.Random(seed)
    at_gap = 0.03 * ROM + 0.4 * speed
    b, top = BOTTOM.bottom_mm, BOTTOM.lockout_mm
    knots = [(0.0, b), (2.0, b), (3.0, top), (4.0, top), (5.6, b + at_gap + 0.4 * speed)]
    knots += [(GAP[0], b + at_gap), (GAP[0] + at_gap / speed, b), (10.0, b)]
    return [
        (t, round(x + rng.gauss(0.0, 2.0)))
        for t, x in piecewise(knots, 30.0)
        if not GAP[0] < t < GAP[1]
    ]


@pytest.mark.parametrize(("speed", "before", "most"), [(30.0, 20, 6), (40.0, 12, 3)])
def test_a_lowering_into_a_gap_does_not_end_before_it(speed, before, most) -> None:
    early = 0
    for seed in range(40):
        (rep,) = reps_of(run(BOTTOM, _slow_into_a_gap(seed, speed)))
        # its end is in the gap: placed after it, or flagged as not seen
        early += rep.t_end < GAP[0] - 0.05 and "times_unknown" not in rep.flags
    assert early <= most, f"{early} of 40 ended before the gap (before this rule: {before})"
