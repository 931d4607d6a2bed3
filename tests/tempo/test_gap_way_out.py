"""A touch-and-go hidden by a gap: the ways into and out of the gap read on the raw readings."""

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


def _samples(
    seed: int,
    *,
    knots: list[tuple[float, float]] = KNOTS,
    gap: tuple[float, float] = GAP,
    rate_hz: float = 20.0,
    noise_mm: float = 4.0,
    jitter_s: float = 0.0,
) -> list[tuple[float, int | None]]:
    """The knots sampled at `rate_hz` from a start up to `jitter_s` late, with noise."""
    rng = random.Random(seed)
    t0 = rng.uniform(0.0, jitter_s) if jitter_s else 0.0
    out: list[tuple[float, int | None]] = []
    for t, x in piecewise(knots, rate_hz=rate_hz, t0=t0):
        if gap[0] <= t < gap[1]:
            continue
        out.append((t, (x or 0) + round(rng.gauss(0.0, noise_mm))))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_a_touch_and_go_in_a_gap_keeps_its_depth(seed: int) -> None:
    reps = reps_of(run(BOTTOM, _samples(seed)))
    assert len(reps) == 2
    assert reps[1].rom_fraction > 0.8
    assert reps[1].lockout == "full"


# A reverse press at 30 Hz, 3 mm of noise (as accuracy seed 1051478): a fast lowering at
# 690 mm/s, touch and go at the bottom, and the readings stop 0.04 s before it for 0.39 s.
# The smoother's last samples before the gap slowed (its windows closing on the last
# readings), the lines met where they ended, and the second rep (345 mm, 0.93 of the
# ROM) came out 0.86-0.92. The way in is the line through the raw readings too.
INTO_GAP = [
    (0.0, 150.0),
    (2.0, 150.0),
    (2.8, 495.0),
    (3.5, 495.0),
    (4.0, 150.0),
    (4.8, 495.0),
    (6.0, 495.0),
    (7.2, 150.0),
    (10.0, 150.0),
]


@pytest.mark.parametrize("seed", range(20))
def test_a_touch_and_go_just_inside_a_gap_keeps_its_depth(seed: int) -> None:
    gap = (3.96, 4.35)
    samples = _samples(seed, knots=INTO_GAP, gap=gap, rate_hz=30.0, noise_mm=3.0, jitter_s=0.033)
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 2
    assert reps[1].rom_fraction == pytest.approx(345.0 / 370.0, abs=0.025)
