"""Every tempo from 0.25 s to 15 s per phase is one phase with the 2 % times (docs/engine.md).

Clean piecewise-linear sleds: constant-speed moves between holds, so the 2 % boundary
times are known exactly (`crossing`). The tolerance is two sample periods: the track is
interpolated between samples, and a corner from a hold into a fast move is seen only at
the samples.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempo import FAST_ECCENTRIC
from tests.tempo.helpers import BOTTOM, TOP, crossing, piecewise, reps_of, run

B, L = BOTTOM.bottom_mm, BOTTOM.lockout_mm
BAND = 0.02 * BOTTOM.rom_mm


def _one_rep(conc_s: float, ecc_s: float, rate: float, top_s: float = 1.0):
    """Hold, concentric, top hold, eccentric, hold; the rep's true 2 % times."""
    knots = [
        (0.0, B),
        (2.0, B),
        (2.0 + conc_s, L),
        (2.0 + conc_s + top_s, L),
        (2.0 + conc_s + top_s + ecc_s, B),
        (5.0 + conc_s + top_s + ecc_s, B),
    ]
    truth = (
        crossing(knots, 1, B + BAND),
        crossing(knots, 1, L - BAND),
        crossing(knots, 3, L - BAND),
        crossing(knots, 3, B + BAND),
    )
    return piecewise(knots, rate), truth


def _times(rep):
    return (rep.t_start, rep.t_top, rep.t_ecc, rep.t_end)


@pytest.mark.parametrize("rate", [20.0, 33.0, 50.0])
@pytest.mark.parametrize("ecc_s", [4.0, 8.0, 12.0])
def test_a_slow_constant_speed_negative_is_one_eccentric(ecc_s, rate):
    samples, truth = _one_rep(1.0, ecc_s, rate)
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 1
    rep = reps[0]
    want_ecc = truth[3] - truth[2]
    assert rep.eccentric_s == pytest.approx(want_ecc, abs=0.05)
    assert rep.top_pause_s == pytest.approx(truth[2] - truth[1], abs=0.05)
    assert FAST_ECCENTRIC not in rep.flags
    for got, want in zip(_times(rep), truth, strict=True):
        assert got == pytest.approx(want, abs=2.0 / rate)


def test_a_15_s_negative_over_200_mm_is_one_eccentric():
    """13 mm/s, the slowest phase the contract promises."""
    s = BOTTOM.__class__(bottom_mm=150, lockout_mm=350, start="bottom")
    knots = [(0.0, 150), (2.0, 150), (3.0, 350), (4.0, 350), (19.0, 150), (22.0, 150)]
    reps = reps_of(run(s, piecewise(knots, 50.0)))
    band = 0.02 * 200
    assert len(reps) == 1
    want = crossing(knots, 3, 150 + band) - crossing(knots, 3, 350 - band)
    assert reps[0].eccentric_s == pytest.approx(want, abs=0.05)


def test_a_slow_negative_from_the_top_is_one_eccentric():
    knots = [(0.0, L), (2.0, L), (12.0, B), (13.0, B), (14.0, L), (17.0, L)]
    reps = reps_of(run(TOP, piecewise(knots, 50.0)))
    assert len(reps) == 1
    want = crossing(knots, 1, B + BAND) - crossing(knots, 1, L - BAND)
    assert reps[0].eccentric_s == pytest.approx(want, abs=0.04)


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(
    up_mm_s=st.floats(13.0, 2500.0),
    down_mm_s=st.floats(13.0, 2500.0),
    rate=st.sampled_from([20.0, 25.0, 33.0, 40.0, 50.0]),
)
def test_any_constant_speed_between_two_holds_is_one_phase(up_mm_s, down_mm_s, rate):
    rom = BOTTOM.rom_mm
    conc_s, ecc_s = rom / up_mm_s, rom / down_mm_s
    samples, truth = _one_rep(conc_s, ecc_s, rate)
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 1
    for got, want in zip(_times(reps[0]), truth, strict=True):
        assert got == pytest.approx(want, abs=2.0 / rate)


@pytest.mark.parametrize("rate", [20.0, 33.0, 50.0])
def test_a_sharp_bounce_is_not_flattened(rate):
    """Touch-and-go: a V at the bottom; the next rep keeps its full ROM and the bounce."""
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.5, L), (4.7, B), (4.75, B), (5.75, L)]
    knots += [(6.5, L), (8.0, B), (10.0, B)]
    reps = reps_of(run(BOTTOM, piecewise(knots, rate)))
    assert len(reps) == 2
    assert "bounce" in reps[0].flags
    assert reps[1].rom_fraction == pytest.approx(1.0, abs=0.02)
    assert reps[1].lockout != "partial"
    assert reps[0].t_end == pytest.approx(crossing(knots, 3, B + BAND), abs=1.0 / rate)
    assert reps[1].t_start == pytest.approx(crossing(knots, 5, B + BAND), abs=1.0 / rate)


def test_a_smooth_turn_is_no_bounce():
    """A rounded bottom turn (0.3 s within 2 %) stays a turn without the bounce flag."""
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.5, L), (5.0, B + 30), (5.2, B + 5), (5.3, B)]
    knots += [(5.4, B + 5), (5.6, B + 30), (6.6, L), (7.5, L), (9.0, B), (11.0, B)]
    reps = reps_of(run(BOTTOM, piecewise(knots, 50.0)))
    assert len(reps) == 2
    assert "bounce" not in reps[0].flags
