"""Glare that begins while the sled holds at lockout: its swings are no farther turn."""

from __future__ import annotations

import random

import pytest

from tempo.filters import RobustFilter
from tests.tempo.helpers import BOTTOM, piecewise, reps_of, run

GLARE_MM = 40.0  # a reading's deviation in the glare (about ten times the usual)


def _hold_at_90_percent_with_glare(seed: int) -> list[tuple[float, int | None]]:
    """A rep to 90 % of the ROM that holds there 2 s; glare from 0.8 s into the hold
    until the sled is halfway back down."""
    rng = random.Random(seed)
    bottom = BOTTOM.bottom_mm
    top = bottom + 0.9 * BOTTOM.rom_mm
    knots = [(0.0, bottom), (2.0, bottom), (3.0, top), (5.0, top), (7.0, bottom), (17.0, bottom)]
    out: list[tuple[float, int | None]] = []
    for t, x in piecewise(knots):
        assert x is not None
        deviation = GLARE_MM if 3.8 <= t < 6.0 else 2.0
        out.append((t, round(x + rng.gauss(0.0, deviation))))
    return out


def test_glare_beginning_at_a_lockout_hold_leaves_the_rep_full() -> None:
    verdicts = [
        tuple(r.lockout for r in reps_of(run(BOTTOM, _hold_at_90_percent_with_glare(seed))))
        for seed in range(40)
    ]
    assert all(len(v) == 1 for v in verdicts)
    # Before: 21 of these 40 read "locked" (a swing of the glare above the hold taken
    # for the top); then 2, swings beyond twice the noise estimate, which lags as the
    # glare begins; none since the readings since the sled left the hold judge them.
    assert all(v == ("full",) for v in verdicts)


def test_the_readings_about_a_span_are_its_median_spread_and_count_bursts_left_out() -> None:
    f = RobustFilter(gate_base_mm=40.0)
    # a sled rising at 200 mm/s, readings alternately 3 mm either side (steady motion
    # cancels in the second differences), then a spike the gate holds back
    for i in range(20):
        f.push(i * 0.02, 100.0 + 4.0 * i + (3.0 if i % 2 else -3.0))
    f.push(0.40, 400.0)
    median, deviation, n = f.readings_about(0.1, 0.40) or (0.0, 0.0, 0)
    # 15 of the sled's readings (121-179 mm) and the spike: the median is the ninth
    # smallest, 153 mm
    assert (median, n) == (153.0, 16)
    assert deviation == pytest.approx(1.2 * 6.0)  # second differences of +-6 mm, scaled
    assert f.readings_about(0.31, 0.38) is None  # four readings: too few to tell
    # A burst the gate took out (from 0.1 s up to the reading that showed it, 0.2 s) is no
    # reading of the sled: the five of it are left out, the median of the other eleven is
    # their sixth smallest.
    f.disowned.append((0.1, 0.2))
    about = f.readings_about(0.1, 0.40)
    assert about is not None and (about[0], about[2]) == (161.0, 11)
