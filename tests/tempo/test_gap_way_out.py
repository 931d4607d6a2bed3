"""A touch-and-go hidden by a gap: the way out of the gap read on the raw readings."""

from __future__ import annotations

import random

import pytest

from tests.tempo.helpers import BOTTOM, piecewise, reps_of, run

# A reverse press at 20 Hz, 4 mm of noise (as accuracy seed 1002382): two reps, touch and
# go at the bottom, and no reading for 0.65 s over the bottom turn; three readings of the
# way up at 575 mm/s follow it. The smoother starts again after the gap, and its first
# outputs already averaged the top: the turn was placed where the lines into and out of
# the gap met, the way out read on those outputs at the speed of the arrival at the top,
# about 85 mm above the bottom, and the second rep (93 % of the ROM) came out partial,
# 0.69-0.72, in all ten.
KNOTS = [
    (0.0, 150.0),
    (2.0, 150.0),
    (2.8, 495.0),
    (3.5, 495.0),
    (4.7, 150.0),
    (5.3, 495.0),
    (6.5, 495.0),
    (7.7, 150.0),
    (10.0, 150.0),
]
GAP = (4.50, 5.15)


def _samples(seed: int) -> list[tuple[float, int | None]]:
    rng = random.Random(seed)
    out: list[tuple[float, int | None]] = []
    for t, x in piecewise(KNOTS, rate_hz=20.0):
        if GAP[0] <= t < GAP[1]:
            continue
        out.append((t, (x or 0) + round(rng.gauss(0.0, 4.0))))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_a_touch_and_go_in_a_gap_keeps_its_depth(seed: int) -> None:
    reps = reps_of(run(BOTTOM, _samples(seed)))
    assert len(reps) == 2
    assert reps[1].rom_fraction > 0.8
    assert reps[1].lockout == "full"
