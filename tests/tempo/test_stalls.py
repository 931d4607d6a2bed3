"""Sticking points and pauses away from the start side are part of their phase (stall_s)."""

from __future__ import annotations

import random

import pytest

from tempo.smoother import SMOOTHED_NOISE
from tempo.stall import longest_stall
from tests.tempo.helpers import BOTTOM, TOP, crossing, piecewise, reps_of, run

B, L = BOTTOM.bottom_mm, BOTTOM.lockout_mm
ROM = BOTTOM.rom_mm
BAND = 0.02 * ROM


def _grind(at: float, stall_s: float, rate: float, conc_s: float = 1.5):
    """A concentric at constant speed that stops for `stall_s` at fraction `at` of the ROM."""
    v = ROM / conc_s
    t1 = 2.0 + at * ROM / v
    t2 = t1 + stall_s
    t3 = t2 + (1.0 - at) * ROM / v
    y = B + at * ROM
    knots = [(0.0, B), (2.0, B), (t1, y), (t2, y), (t3, L), (t3 + 1.0, L), (t3 + 4.0, B)]
    knots.append((t3 + 6.0, B))
    return knots, piecewise(knots, rate)


@pytest.mark.parametrize("rate", [20.0, 50.0])
@pytest.mark.parametrize("at", [0.2, 0.5])
def test_a_stall_in_the_concentric_is_no_boundary(at, rate):
    knots, samples = _grind(at, 0.6, rate)
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 1
    rep = reps[0]
    assert rep.t_start == pytest.approx(crossing(knots, 1, B + BAND), abs=1.0 / rate)
    assert rep.t_top == pytest.approx(crossing(knots, 3, L - BAND), abs=1.0 / rate)
    assert rep.lockout != "partial"
    assert rep.stall_s == pytest.approx(0.6, abs=0.1)
    assert rep.stall_fraction == pytest.approx(at, abs=0.03)


@pytest.mark.parametrize("rate", [20.0, 33.0, 50.0])
def test_a_sticking_point_at_15_percent_of_the_travel_is_a_stall(rate):
    # 13 % of the ROM is 15 % of a full rep's travel of 87 % (where the contract's sticking
    # points begin): the stall is part of the concentric, which starts at the 2 % crossing
    # from the bottom, not after the stall (it did while the whole 15 % nearest the start
    # side counted as a rest before the phase: t_start 0.8-1.1 s late, stall_s 0).
    knots, samples = _grind(0.13, 0.8, rate)
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 1
    rep = reps[0]
    assert rep.t_start == pytest.approx(crossing(knots, 1, B + BAND), abs=1.0 / rate)
    # the contract's 0.15 s: at 20-33 Hz the 0.2 s of moving before the stall is 4-7
    # readings, too few for the stall's edge to be placed as closely as mid-phase
    assert rep.stall_s == pytest.approx(0.8, abs=0.15)
    assert rep.stall_fraction == pytest.approx(0.13, abs=0.03)


def test_a_pause_halfway_down_is_part_of_the_eccentric():
    knots = [(0.0, B), (2.0, B), (3.0, L), (4.0, L), (5.5, 335), (6.5, 335), (8.0, B), (10.0, B)]
    reps = reps_of(run(BOTTOM, piecewise(knots, 50.0)))
    assert len(reps) == 1
    rep = reps[0]
    want = crossing(knots, 5, B + BAND) - crossing(knots, 3, L - BAND)
    assert rep.eccentric_s == pytest.approx(want, abs=0.04)
    assert rep.stall_s == pytest.approx(1.0, abs=0.1)
    assert rep.stall_fraction == pytest.approx(0.5, abs=0.03)


def test_a_pause_of_two_seconds_halfway_down_ends_the_rep_there():
    """Longer than a stall: the lifter stopped; the rep ends there, 1.5 s later at most."""
    knots = [(0.0, B), (2.0, B), (3.0, L), (4.0, L), (5.5, 335), (7.5, 335), (9.0, B), (11.0, B)]
    reps = reps_of(run(BOTTOM, piecewise(knots, 50.0)))
    assert len(reps) == 1
    assert reps[0].t_end == pytest.approx(crossing(knots, 3, 335 + BAND), abs=0.03)
    assert reps[0].t_confirmed < 5.5 + 1.5 + 0.2


def test_a_grind_from_the_top_sticks_on_the_way_up():
    knots = [(0.0, L), (2.0, L), (4.0, B), (4.5, B), (5.0, 261), (5.8, 261), (6.5, L), (9.0, L)]
    reps = reps_of(run(TOP, piecewise(knots, 50.0)))
    assert len(reps) == 1
    rep = reps[0]
    assert rep.t_end == pytest.approx(crossing(knots, 5, L - BAND), abs=0.03)
    assert rep.stall_s == pytest.approx(0.8, abs=0.1)
    assert rep.stall_fraction == pytest.approx(0.3, abs=0.03)


def test_a_steady_slow_negative_has_no_stall():
    knots = [(0.0, B), (2.0, B), (3.0, L), (4.0, L), (14.0, B), (16.0, B)]
    reps = reps_of(run(BOTTOM, piecewise(knots, 50.0)))
    assert [r.stall_s for r in reps] == [0.0]
    assert reps[0].stall_fraction is None


def test_longest_stall_is_the_stop_inside_a_noisy_move():
    rng = random.Random(3)
    ts = [i / 50.0 for i in range(200)]
    ys = [(100.0 * t if t < 1.5 else 150.0 if t < 2.0 else 150.0 + 100.0 * (t - 2.0)) for t in ts]
    ys = [y + rng.gauss(0.0, 1.0) for y in ys]
    stall_s, where = longest_stall(ts, ys, 0.0, ts[-1], noise_mm=2.0)
    assert stall_s == pytest.approx(0.5, abs=0.06)
    assert where == pytest.approx(150.0, abs=3.0)


def test_the_slow_ends_of_a_phase_are_no_stall():
    ts = [i / 50.0 for i in range(101)]
    ys = [100.0 * (3 * (t / 2) ** 2 - 2 * (t / 2) ** 3) for t in ts]  # smooth start and stop
    assert longest_stall(ts, ys, 0.0, 2.0, noise_mm=1.0) == (0.0, None)


def test_a_stall_taking_most_of_the_phase_is_measured_whole():
    """The median speed, and the threshold with it, falls when the sled is stuck for most
    of the phase; the stall's edges are placed from the speed beside it, not a fixed lag."""
    ts = [i / 50.0 for i in range(101)]
    ys = [300.0 * min(t, 0.5) + 300.0 * max(t - 1.5, 0.0) for t in ts]  # 0.5 s, stop 1 s, 0.5 s
    stall_s, where = longest_stall(ts, ys, 0.0, 2.0, noise_mm=1.0)
    assert stall_s == pytest.approx(1.0, abs=0.05)
    assert where == pytest.approx(150.0, abs=3.0)


def _stop_with_a_blip(blip_mm: float, blip_s: float) -> tuple[list[float], list[float]]:
    """150 mm/s for 1.5 s, stopped 1 s with a blip of `blip_mm` for `blip_s` in its middle,
    150 mm/s again (50 Hz)."""
    ts = [i / 50.0 for i in range(200)]

    def y(t: float) -> float:
        if t < 1.5:
            return 150.0 * t
        if t < 2.5:
            return 225.0 + (blip_mm if abs(t - 2.0) < blip_s / 2.0 else 0.0)
        return 225.0 + 150.0 * (t - 2.5)

    return ts, [y(t) for t in ts]


def test_a_noise_bump_inside_a_stall_does_not_split_it():
    """18 mm for 0.2 s, within what 6 mm of sensor noise makes of the track: the windows
    straddling its edges read two or three grid points just over a third of the median
    speed; the stall came out 0.19 s before."""
    ts, ys = _stop_with_a_blip(18.0, 0.2)
    stall_s, _ = longest_stall(ts, ys, 0.0, ts[-1], noise_mm=6.0)
    assert stall_s == pytest.approx(1.0, abs=0.05)


def test_a_real_move_inside_a_stall_splits_it():
    """60 mm there and back in 0.4 s is a move, not noise: the longest still part counts."""
    ts, ys = _stop_with_a_blip(60.0, 0.4)
    stall_s, _ = longest_stall(ts, ys, 0.0, ts[-1], noise_mm=6.0)
    assert stall_s < 0.5


@pytest.mark.parametrize("seed", range(20))
def test_noise_on_a_slow_far_negative_makes_no_stall(seed):
    """A 15 mm/s lowering 1.2 m from the sensor: noise (8 mm) moves the smoothed track more
    than the sled does in 0.3 s, and must not be read as a sticking point."""
    rng = random.Random(seed)
    ts = [i / 20.0 for i in range(201)]
    ys = [15.0 * t + rng.gauss(0.0, SMOOTHED_NOISE * 8.0) for t in ts]
    assert longest_stall(ts, ys, 0.0, 10.0, noise_mm=8.0) == (0.0, None)


@pytest.mark.parametrize("seed", range(10))
def test_a_stall_in_a_far_grind_is_still_seen(seed):
    """A grind at 0.15 m/s stuck for 1 s, 1.2 m from the sensor, at 20 Hz."""
    rng = random.Random(seed)
    ts = [i / 20.0 for i in range(121)]
    ys = [150.0 * min(t, 2.0) + 150.0 * max(t - 3.0, 0.0) for t in ts]
    ys = [y + rng.gauss(0.0, SMOOTHED_NOISE * 8.0) for y in ys]
    stall_s, where = longest_stall(ts, ys, 0.0, 6.0, noise_mm=8.0)
    assert stall_s == pytest.approx(1.0, abs=0.15)
    assert where == pytest.approx(300.0, abs=10.0)


@pytest.mark.parametrize("seed", range(10))
def test_a_stall_as_long_as_the_moves_beside_it_is_seen_in_noise(seed):
    """Stuck for 1 s after 0.3 s of a 0.25 m/s concentric, 0.5 s more after it, 1 m from
    the sensor at 33 Hz: with the windows over the stall's edges the phase's median speed
    falls to what the noise of the track shows, and a third of it must not let that noise
    split the stall."""
    rng = random.Random(seed)
    ts = [i / 33.0 for i in range(60)]
    ys = [250.0 * min(t, 0.3) + 250.0 * max(t - 1.3, 0.0) for t in ts]
    ys = [y + rng.gauss(0.0, SMOOTHED_NOISE * 6.0) for y in ys]
    stall_s, where = longest_stall(ts, ys, 0.0, ts[-1], noise_mm=6.0)
    assert stall_s == pytest.approx(1.0, abs=0.15)
    assert where == pytest.approx(75.0, abs=10.0)
