"""tempo.crossings: a 2 % crossing placed on a parabola through the raw readings."""

from __future__ import annotations

import random

import pytest

from tempo.crossings import parabola_crossing
from tests.tempo.helpers import BOTTOM, reps_of, run


def test_a_ramp_out_of_a_stop_is_crossed_where_it_really_is():
    # constant acceleration from rest: y = 500 t^2 passes 7 mm at t = sqrt(7 / 500)
    ts = [0.02 * i for i in range(1, 11)]
    ys = [500.0 * t * t for t in ts]
    got = parabola_crossing(ts, ys, 0.1, 7.0, 1, noise_mm=1.0)
    assert got == pytest.approx((7.0 / 500.0) ** 0.5, abs=1e-9)


def test_a_straight_line_is_crossed_where_it_passes():
    ts = [0.05 * i for i in range(10)]
    ys = [300.0 - 200.0 * t for t in ts]
    assert parabola_crossing(ts, ys, 0.2, 250.0, -1, noise_mm=1.0) == pytest.approx(0.25, abs=1e-9)


def test_the_crossing_must_go_the_given_way():
    ts = [0.05 * i for i in range(10)]
    ys = [300.0 - 200.0 * t for t in ts]
    assert parabola_crossing(ts, ys, 0.2, 250.0, 1, noise_mm=1.0) is None


def test_no_crossing_among_the_readings_is_none():
    ts = [0.05 * i for i in range(10)]
    ys = [100.0 + 10.0 * t for t in ts]
    assert parabola_crossing(ts, ys, 0.2, 200.0, 1, noise_mm=1.0) is None
    assert (
        parabola_crossing(ts[:4], ys[:4], 0.1, 101.0, 1, noise_mm=1.0) is None
    )  # too few readings


def _trapezoid(t0: float, t1: float, a: float, b: float, ramp: float):
    """Position over a move from a to b with constant-acceleration ramps of `ramp` s."""
    v = (b - a) / (t1 - t0 - ramp)

    def at(t: float) -> float:
        u = min(max(t - t0, 0.0), t1 - t0)
        if u < ramp:
            return a + v * u * u / (2 * ramp)
        if u <= t1 - t0 - ramp:
            return a + v * ramp / 2 + v * (u - ramp)
        w = t1 - t0 - u
        return b - v * w * w / (2 * ramp)

    return at


def test_a_corner_sharper_than_the_noise_allows_is_left_alone():
    # at 20 Hz, a hold and then at once 340 mm/s: no parabola fits such a hinge
    ts = [0.05 * i for i in range(10)]
    ys = [340.0 * max(t - 0.225, 0.0) for t in ts]
    assert parabola_crossing(ts, ys, 0.25, 7.0, 1, noise_mm=1.0) is None


def test_a_wrong_reading_among_them_is_left_alone():
    ts = [0.02 * i for i in range(1, 11)]
    ys = [500.0 * t * t for t in ts]
    ys[6] += 250.0
    assert parabola_crossing(ts, ys, 0.1, 7.0, 1, noise_mm=1.0) is None


def test_ramped_stops_at_20_hz_are_timed_on_the_readings_not_the_smoothed_track():
    # A rep whose moves start and end with 0.3 s constant-acceleration ramps, sampled at
    # 20 Hz with 4 mm of noise: the mean of three medians of five spans 0.35 s, so the
    # smoothed track leaves early and arrives late. Forty fixed noise seeds; before the
    # crossings were placed on the readings: median 18 ms, 90th percentile 62 ms.
    b, lock = BOTTOM.bottom_mm, BOTTOM.lockout_mm
    band = 0.02 * BOTTOM.rom_mm
    up = _trapezoid(2.0, 3.0, b, lock, 0.3)
    down = _trapezoid(4.0, 6.0, lock, b, 0.3)

    def pos(t: float) -> float:
        return up(t) if t < 3.5 else down(t)

    def when(f, lo: float, hi: float, level: float, rising: bool) -> float:
        for _ in range(60):
            mid = (lo + hi) / 2
            if (f(mid) >= level) == rising:
                hi = mid
            else:
                lo = mid
        return hi

    truth = (
        when(up, 2.0, 3.0, b + band, True),
        when(up, 2.0, 3.0, lock - band, True),
        when(down, 4.0, 6.0, lock - band, False),
        when(down, 4.0, 6.0, b + band, False),
    )
    errors = []
    for seed in range(40):
        rng = random.Random(seed)
        samples = [(i / 20.0, round(pos(i / 20.0) + rng.gauss(0.0, 4.0))) for i in range(160)]
        (rep,) = reps_of(run(BOTTOM, samples))
        got = (rep.t_start, rep.t_top, rep.t_ecc, rep.t_end)
        errors += sorted(abs(g - w) for g, w in zip(got, truth, strict=True))
    errors.sort()
    assert errors[len(errors) // 2] <= 0.015
    assert errors[int(0.9 * len(errors))] <= 0.05
