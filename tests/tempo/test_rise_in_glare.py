"""A partial rep's way out in glare counts when the readings themselves went 30 % out.

A rep is under way once the smoothed track is REP_FRACTION of the range of motion away
from the start side plus REP_NOISE deviations of a reading (docs/engine.md, "Reps"). In
glare of 25-40 mm (7-11 % of this range) that margin put a partial rep of 38-42 % short
of it most of the time. The readings' medians of 13 move less than the smoothed track in
such noise: past 30 % by two of their standard errors, counted from where the readings
rested before the movement, the rise is the sled's (`Segmenter._risen`).
"""

from __future__ import annotations

import random

import pytest

from tempo import EngineSettings
from tempo.filters import RobustFilter
from tests.tempo.helpers import BOTTOM, TOP, piecewise, reps_of, run

QUIET_MM = 2.0
SEEDS = range(40)


def _partial_rep_in_glare(
    seed: int, settings: EngineSettings, fraction: float, glare_mm: float, hold_s: float = 0.0
) -> list[tuple[float, int | None]]:
    """One excursion `fraction` of the ROM out in 1 s (held `hold_s` there) and back in 1
    s, from rest; glare of `glare_mm` from 0.5 s before it until 2 s after it."""
    rng = random.Random(seed)
    near, far = (
        (settings.bottom_mm, settings.lockout_mm)
        if settings.start == "bottom"
        else (settings.lockout_mm, settings.bottom_mm)
    )
    out_mm = near + fraction * (far - near)
    knots = [(0.0, near), (2.0, near), (3.0, out_mm), (3.0 + hold_s, out_mm)]
    knots += [(4.0 + hold_s, near), (14.0, near)]
    samples: list[tuple[float, int | None]] = []
    for t, x in piecewise(knots):
        assert x is not None
        deviation = glare_mm if 1.5 <= t < 6.0 + hold_s else QUIET_MM
        samples.append((t, round(x + rng.gauss(0.0, deviation))))
    return samples


def _reps_counted(settings: EngineSettings, fraction: float, glare_mm: float, **kw) -> int:
    return sum(
        len(reps_of(run(settings, _partial_rep_in_glare(seed, settings, fraction, glare_mm, **kw))))
        for seed in SEEDS
    )


@pytest.mark.parametrize("settings", [BOTTOM, TOP], ids=["bottom", "top"])
def test_a_partial_rep_in_glare_counts_where_its_readings_went_out(
    settings: EngineSettings,
) -> None:
    # Partial reps of 38 and 42 % of the ROM in glare of 25 and 40 mm, 40 noise seeds each:
    # before, 54 of these 160 counted from the bottom, 60 from the top (71 and 78 now).
    counted = sum(
        _reps_counted(settings, fraction, glare_mm)
        for fraction in (0.38, 0.42)
        for glare_mm in (25.0, 40.0)
    )
    assert counted >= 68


@pytest.mark.parametrize("settings", [BOTTOM, TOP], ids=["bottom", "top"])
@pytest.mark.parametrize("hold_s", [0.0, 1.0])
def test_a_foot_moved_short_of_a_rep_in_glare_is_still_no_rep(
    settings: EngineSettings, hold_s: float
) -> None:
    # Moves of 25 and 28 % in the same glare, held or not: no more reps than before (at
    # most 2 of 40, the 28 % held a second in 25 mm from the bottom; its swings are the
    # smoothed track's past REP_NOISE deviations of a reading, not the readings' rise).
    for fraction in (0.25, 0.28):
        for glare_mm in (25.0, 40.0):
            assert _reps_counted(settings, fraction, glare_mm, hold_s=hold_s) <= 2


def test_the_median_before_a_time_is_of_the_last_thirteen_readings_a_burst_barely_moves() -> None:
    f = RobustFilter(gate_base_mm=40.0)
    for i in range(20):
        f.push(i * 0.02, 100.0 + (i % 3))
    for i in range(20, 26):
        f.push(i * 0.02, 400.0 + i)  # a burst of six
    # six of the thirteen are the burst's: the median is the highest of the other seven,
    # within their spread
    assert f.median_before(0.50) == 102.0
    assert f.median_before(0.38) == 101.0
    assert f.median_before(0.2) is None  # fewer than thirteen kept up to then
