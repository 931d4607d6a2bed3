"""A sensor 1.2 m away: noise of about 9 mm, more than the 2 % band (docs/engine.md).

The VL53L0X's noise grows with the square of the distance. At 1.25 m the smoothed track
still wanders by several millimetres while the sled is still, so a hold must be told from
its range in noise, and the arrival must not be the last time noise dipped out of the
band. Twenty fixed noise seeds; the tolerance is the contract's 95th-percentile goal.
"""

from __future__ import annotations

import random

import pytest

from tempo import EngineSettings
from tests.tempo.helpers import crossing, phases_of, piecewise, reps_of, run

FAR = EngineSettings(bottom_mm=900, lockout_mm=1250, start="bottom")
B, L = FAR.bottom_mm, FAR.lockout_mm
BAND = 0.02 * FAR.rom_mm
KNOTS = [(0.0, B), (2.0, B), (3.0, L), (3.8, L), (5.8, B), (8.0, B)]  # a 0.8 s lockout hold
TOLERANCE_S = 0.1


def _noisy(
    knots: list[tuple[float, int]], seed: int, rate_hz: float = 50.0
) -> list[tuple[float, int | None]]:
    """The sled through a VL53L0X whose noise is 1 mm + 5 mm per metre squared."""
    rng = random.Random(seed)
    return [
        (t, round(d + rng.gauss(0.0, 1.0 + 5.0 * (d / 1000.0) ** 2)))
        for t, d in piecewise(knots, rate_hz)
    ]


def test_a_lockout_hold_is_measured_at_a_far_noisy_sensor():
    t_top = crossing(KNOTS, 1, L - BAND)
    t_ecc = crossing(KNOTS, 3, L - BAND)
    top_errors, pause_errors = [], []
    for seed in range(20):
        reps = reps_of(run(FAR, _noisy(KNOTS, seed)))
        assert len(reps) == 1, seed
        top_errors.append(abs(reps[0].t_top - t_top))
        pause_errors.append(abs(reps[0].top_pause_s - (t_ecc - t_top)))
    assert max(top_errors) <= TOLERANCE_S
    # The departure is still at the mercy of the noise: the smoothed track can sit 7 mm
    # (1.75 of its deviations) off the level for a fifth of a second just before the sled
    # leaves (seed 15). Before the arrival rule and the noise-wide still band: 15 of 20.
    assert sum(e <= TOLERANCE_S for e in pause_errors) >= 19


def test_a_long_lockout_hold_at_1_4_m_is_no_movement():
    # Noise of 11 mm: over a 5 s hold the smoothed track strays far enough from its level
    # that a movement threshold of 1.5 noise deviations saw a departure in 12 of 100 runs.
    far = EngineSettings(bottom_mm=1050, lockout_mm=1400, start="bottom")
    b, lock = far.bottom_mm, far.lockout_mm
    knots = [(0.0, b), (2.0, b), (3.0, lock), (8.0, lock), (10.0, b), (12.0, b)]
    flipped = 0
    for seed in range(100):
        events = run(far, _noisy(knots, seed))
        assert len(reps_of(events)) == 1, seed
        flipped += any(3.3 < p.t_s < 7.9 for p in phases_of(events))
    assert flipped <= 5


def test_a_slow_negative_at_a_far_noisy_sensor_starts_and_ends_on_its_knees():
    """A 10 s lowering at 35 mm/s with 7-9 mm of noise: the band is crossed in 0.2 s, less
    than the noise moves ten readings, so both ends are placed on a knee through the whole
    move and hold (tempo.crossings). With ten readings around each crossing the start was
    off by more than 0.1 s in 14 of these 20 runs, and the duration by over 0.2 s in 7.

    Seed 4 ends 0.22 s late: its last readings look like a ramp still creeping onto the
    stops, so the end stays on the smoothed track's crossing (KNEE_SETTLED_S). Over seeds
    100-299, 10 of 200 durations are off by more than 0.2 s (18 before the start side's
    still window was sized by the noise, four of them ending 0.3-1.35 s early): within
    0.25 s but for seeds 149 and 152, whose lowering starts 0.8 s early (a noise turn at the
    top merged as the start); a known weakness of the far sensor, not a goal met."""
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.8, L), (13.8, B), (16.0, B)]
    t_ecc = crossing(knots, 3, L - BAND)
    eccentric_s = crossing(knots, 3, B + BAND) - t_ecc
    start_errors, duration_errors = [], []
    for seed in range(20):
        reps = reps_of(run(FAR, _noisy(knots, seed)))
        assert len(reps) == 1, seed
        assert "fast_eccentric" not in reps[0].flags
        start_errors.append(abs(reps[0].t_ecc - t_ecc))
        duration_errors.append(abs(reps[0].eccentric_s - eccentric_s))
    assert sum(e <= TOLERANCE_S for e in start_errors) >= 19
    assert sum(e <= 2 * TOLERANCE_S for e in duration_errors) >= 19


def _lowering_into_the_bottom(seconds: float, ramp_s: float) -> tuple[list, float]:
    """Knots of a 1 s push and a lowering at constant speed that slows at a constant
    deceleration over `ramp_s` into the bottom; and when it came within 2 % of it."""
    t_low, t_stop = 3.8, 3.8 + seconds
    speed = (L - B) / (seconds - ramp_s / 2)
    knots = [(0.0, B), (2.0, B), (3.0, L), (t_low, L)]
    steps = 20
    for i in range(steps, -1, -1):  # the ramp as a fine polyline
        w = ramp_s * i / steps
        knots.append((t_stop - w, B + speed * w * w / (2 * ramp_s)))
    knots.append((t_stop + 2.0, B))
    # within the ramp, the sled is BAND from the bottom when w^2 = 2 ramp BAND / speed
    return knots, t_stop - (2 * ramp_s * BAND / speed) ** 0.5


def test_a_slow_negative_at_a_far_noisy_sensor_ends_on_its_knee_at_the_bottom():
    """A 12 s lowering at 29 mm/s into a 0.25 s stop with 5-6 mm of noise: the end on the
    start side is placed on the knee once the sled has been at rest KNEE_SETTLED_S (before,
    the crossing on the smoothed track: within 0.1 s in 8 of these 20 runs). When the hold
    is confirmed sooner than that after the stop, the crossing on the track still stands."""
    knots, t_end = _lowering_into_the_bottom(12.0, 0.25)
    errors = []
    for seed in range(20):
        reps = reps_of(run(FAR, _noisy(knots, seed)))
        assert len(reps) == 1, seed
        errors.append(abs(reps[0].t_end - t_end))
    assert sum(e <= TOLERANCE_S for e in errors) >= 13


def test_a_breath_at_the_bottom_after_a_slow_negative_is_no_excuse_for_a_late_end():
    """A 12 s lowering, 0.4 s at the bottom, the next rep, at 33 Hz. After so slow a move
    the still test needs a longer window than the pause, so the bottom ends in a turn; its
    arrival is placed on a knee through the lowering and the pause (before, the entry into
    the band before a flat, noisy extreme: within 0.1 s in 11 of these 20 runs)."""
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.8, L), (15.8, B), (16.2, B), (17.2, L)]
    knots += [(18.0, L), (20.0, B), (22.4, B)]
    t_end = crossing(knots, 3, B + BAND)
    errors = []
    for seed in range(20):
        reps = reps_of(run(FAR, _noisy(knots, seed, 33.0)))
        assert len(reps) == 2, seed
        errors.append(abs(reps[0].t_end - t_end))
    assert sum(e <= TOLERANCE_S for e in errors) >= 16


@pytest.mark.parametrize("rate_hz", [33.0, 50.0])
def test_after_a_breath_at_the_bottom_the_next_rep_starts_where_its_knee_says(
    rate_hz: float,
) -> None:
    """A 12 s lowering, 0.2 s at the bottom, the next rep: the bottom ends in a turn (as
    above), and the next rep's start, its departure, is placed on a knee through the pause
    and the way up as a hold's is (before, the last exit from the band on the smoothed
    track: up to 0.11-0.12 s early in these 20 runs, 13-20 ms at the median)."""
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.8, L), (15.8, B), (16.0, B), (17.0, L)]
    knots += [(17.8, L), (19.8, B), (22.2, B)]
    t_start = crossing(knots, 5, B + BAND)
    errors = []
    for seed in range(20):
        reps = reps_of(run(FAR, _noisy(knots, seed, rate_hz)))
        assert len(reps) == 2, seed
        errors.append(abs(reps[1].t_start - t_start))
    assert max(errors) <= 0.05


@pytest.mark.parametrize(
    ("rate_hz", "seconds", "seeds", "early_before"),
    [(20.0, 8.0, range(1200, 1300), 4), (50.0, 10.0, range(1000, 1100), 1)],
)
def test_a_slow_negative_at_a_far_sensor_is_not_ended_early_by_a_pseudo_stop(
    rate_hz: float, seconds: float, seeds: range, early_before: int
) -> None:
    """Over a still window a slow lowering moves a few trends; in 5 mm of noise the line
    through its readings can look flat by chance (3-4 standard errors of its shift), and a
    hold confirmed there ended the rep 0.4-1.5 s early, tens of millimetres above the
    bottom (`early_before` of these runs did). On the start side the window is long enough
    for four standard errors (SLOW_MOVE_SHIFT_ERRORS)."""
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.8, L), (3.8 + seconds, B), (6.0 + seconds, B)]
    t_end = crossing(knots, 3, B + BAND)
    early = []
    for seed in seeds:
        reps = reps_of(run(FAR, _noisy(knots, seed, rate_hz)))
        assert len(reps) == 1, seed
        if reps[0].t_end < t_end - 0.3:
            early.append(seed)
    assert early == []
