"""tempo.turns: a V for a bounce, a parabola for a rounded turn, fitted on raw readings."""

from __future__ import annotations

import random

import pytest

from tempo.turns import fit_turn


def _v(rate: float, speed: float, noise: float = 0.0, seed: int = 1):
    rng = random.Random(seed)
    ts = [i / rate for i in range(-int(0.25 * rate), int(0.25 * rate) + 1)]
    return ts, [speed * abs(t) + rng.gauss(0.0, noise) for t in ts]


@pytest.mark.parametrize("rate", [20.0, 33.0, 50.0])
def test_a_v_is_placed_at_its_corner_with_the_band_times_of_its_lines(rate):
    ts, ys = _v(rate, 300.0)
    level, t_turn, t_in, t_out = fit_turn(ts, ys, -1, 7.0)
    assert level == pytest.approx(0.0, abs=0.5)
    assert t_turn == pytest.approx(0.0, abs=1e-6)
    assert t_out - t_in == pytest.approx(2 * 7.0 / 300.0, abs=0.005)


def test_a_rounded_turn_is_a_parabola_not_a_bounce():
    ts = [i / 50.0 for i in range(-12, 13)]
    ys = [400.0 * t * t for t in ts]  # 0.26 s within 7 mm of the bottom
    level, _, t_in, t_out = fit_turn(ts, ys, -1, 7.0)
    assert level == pytest.approx(0.0, abs=0.1)
    assert t_out - t_in == pytest.approx(2 * (7.0 / 400.0) ** 0.5, abs=0.01)


def test_a_noisy_v_stays_a_bounce():
    ts, ys = _v(50.0, 300.0, noise=2.0)
    _, _, t_in, t_out = fit_turn(ts, ys, -1, 7.0)
    assert t_out - t_in < 0.1


def test_too_few_readings_fit_nothing():
    assert fit_turn([0.0, 0.1, 0.2], [1.0, 0.0, 1.0], -1, 7.0) is None


def test_a_turn_with_a_pause_longer_than_the_readings_fits_nothing():
    # A slow lowering (20 mm/s) into a pause: a line through its few moving readings would
    # come within 7 mm of the bottom 0.35 s before the corner, outside the readings.
    ts = [i / 50.0 for i in range(-12, 13)]
    ys = [20.0 * max(-0.1 - t, 0.0) + 20.0 * max(t - 0.2, 0.0) for t in ts]
    assert fit_turn(ts, ys, -1, 7.0) is None
