"""Regression tests for miscounts found by bench/bench_accuracy.py and
bench/bench_generalization.py: a start-side turn hidden by a stuck sensor, a fast start
the gate lost during glare, a burst of seven wrong readings at 20 Hz."""

from __future__ import annotations

import itertools
import random

import pytest

from sensor.synthetic import generate
from tempo.filters import RobustFilter
from tests.tempo.helpers import BOTTOM, TOP, as_settings, piecewise, reps_of, run


def _filtered(readings: list[tuple[float, float | None]]) -> list[tuple[float, float, float]]:
    """(push time, output time, output position) of everything the filter emits."""
    f = RobustFilter(gate_base_mm=44.0)
    outs = []
    for t, x in readings:
        if x is None:
            continue
        got = f.push(t, x)
        outs += [(t, a, b) for a, b in f.backlog]
        f.backlog.clear()
        if got is not None:
            outs.append((t, got[0], got[1]))
    return outs


def test_start_side_turn_hidden_by_a_stuck_sensor_ends_the_rep():
    # start at the top (520 mm): a partial rep down to 300 mm, back up to the top with a
    # short pause, and straight into a full rep. The sensor sticks on the way back up and
    # stays stuck through the top pause until the sled is on its way down again.
    knots = [(0.0, 520.0), (2.0, 520.0), (3.2, 300.0), (4.2, 520.0), (4.4, 520.0)]
    knots += [(5.4, 160.0), (7.4, 520.0), (11.0, 520.0)]
    rng = random.Random(11)
    samples = [(t, (d or 0) + round(rng.gauss(0.0, 3.0))) for t, d in piecewise(knots, 39.0)]
    out: list[tuple[float, int | None]] = []
    stuck = None
    for t, d in samples:
        if 3.65 <= t < 4.6:
            stuck = stuck or d
            out.append((t, stuck))  # the same value, stuck for about 0.95 s
        else:
            out.append((t, d))
    reps = reps_of(run(TOP, out))
    assert len(reps) == 2
    assert reps[0].rom_fraction < 0.8  # the partial one stays partial
    assert reps[1].rom_fraction > 0.85


def test_a_fast_start_the_gate_lost_is_found_again_before_long():
    # a still sled at 200 mm, then it moves off at 1 m/s to 600 mm; the first readings of
    # the move are missing and one wrong reading at the old position is accepted right
    # after, so the held readings never look like a jump the sled could have made
    rng = random.Random(5)
    readings: list[tuple[float, float | None]] = []
    for i in range(200):
        t = i * 0.02
        x = 200.0 if t < 2.0 else min(200.0 + 1000.0 * (t - 2.0), 600.0)
        x += rng.gauss(0.0, 2.0)
        if 2.0 <= t < 2.07:
            readings.append((t, None))
        elif abs(t - 2.12) < 0.005:
            readings.append((t, 201.0))  # wrong, where the sled used to be
        else:
            readings.append((t, round(x)))
    outs = _filtered(readings)
    found = [pushed for pushed, _, y in outs if y > 450.0]
    assert found and found[0] < 2.8  # not only after the 1.2 s a lost track waits


def test_a_stuck_wrong_value_on_a_quiet_sensor_is_not_trusted():
    # a quiet sensor (a millimetre of noise) on a still sled repeats one wrong value for
    # 0.8 s: a long run of held readings, but no news
    rng = random.Random(2)
    readings: list[tuple[float, float | None]] = []
    for i in range(200):
        t = i * 0.025
        readings.append((t, 359.0 if 2.0 <= t < 2.8 else 200.0 + rng.choice((-1, 0, 1, 2))))
    outs = _filtered(readings)
    assert max(y for _, _, y in outs) < 210.0


def test_a_burst_of_seven_wrong_readings_at_20_hz_is_dropped():
    rng = random.Random(9)
    burst = [126.0, 125.0, 120.0, 171.0, 157.0, 168.0, 166.0]
    readings: list[tuple[float, float | None]] = []
    for i in range(120):
        t = i * 0.05
        x = 200.0 + rng.gauss(0.0, 5.0)
        if 60 <= i < 67:
            x = 195.0 + burst[i - 60]
        readings.append((t, round(x)))
    outs = _filtered(readings)
    assert max(y for _, _, y in outs) < 225.0


def test_a_turn_seen_only_by_a_short_run_between_two_gaps_counts() -> None:
    # At 20 Hz a rep to 40 % of the range whose top five readings come between two
    # dropouts of 0.4-0.5 s: the smoother put nothing out for a run under seven readings,
    # the top was never seen, and what was left (80 mm out) was no rep (20 of 20 before;
    # accuracy seed 1002100 lost a partial rep so, its turn between a stuck sensor's runs).
    for seed in range(20):
        rng = random.Random(seed)
        knots = [(0.0, 150.0), (2.0, 150.0), (3.0, 300.0), (3.3, 300.0), (4.3, 150.0)]
        knots += [(7.0, 150.0)]
        samples: list[tuple[float, int | None]] = []
        for t, d in piecewise(knots, 20.0, t0=rng.uniform(0.0, 0.05)):
            dropped = 2.45 <= t < 2.85 or 3.1 <= t < 3.6
            samples.append((t, None if dropped else round((d or 0) + rng.gauss(0.0, 2.0))))
        reps = reps_of(run(BOTTOM, samples))
        assert len(reps) == 1, seed
        assert abs(reps[0].rom_fraction - 150.0 / 370.0) < 0.05, seed


def test_a_turn_hidden_in_a_gap_is_placed_no_further_than_the_stops() -> None:
    """A sled that stopped at the bottom and rested there while the sensor was silent:
    the lines into and out of the gap meet 50 mm below the stops, where no sled can be;
    the turn is placed at the stops, and the next rep's ROM is its own."""
    top = BOTTOM.bottom_mm + 0.9 * BOTTOM.rom_mm
    rise_s = (top - BOTTOM.bottom_mm) / 400.0  # up at 400 mm/s after 0.65 s on the stops
    knots = [(0.0, 150), (2.0, 150), (3.0, top), (3.5, top), (4.7, 150), (5.35, 150)]
    knots += [(5.35 + rise_s, top), (7.0, top), (8.2, 150), (20.0, 150)]
    samples = [(t, x) for t, x in piecewise(knots) if not 4.72 < t < 5.75]
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 2
    # Before: 1.136 (the lines met 50 mm below the stops).
    assert abs(reps[1].rom_fraction - 0.9) < 0.02
    assert "times_unknown" in reps[1].flags


@pytest.mark.parametrize("rate_hz", [33.0, 50.0])
def test_a_partial_rep_whose_top_a_gap_hid_counts_at_the_level_seen_after_it(rate_hz) -> None:
    # A partial rep to 42 % of the range at 400 mm/s whose top falls in a dropout from
    # 0.25 s before it to 0.03 s after: the readings before the gap are 100 mm short of the
    # top, the smoother starts again after it already on the way back, and its first
    # outputs stay short of the 30 % a rep needs; the first readings after the gap, on a
    # line going down, are 12-36 mm from the top (accuracy seed 1008221 lost a rep so).
    top = BOTTOM.bottom_mm + 0.42 * (BOTTOM.lockout_mm - BOTTOM.bottom_mm)
    t_top = 2.0 + (top - BOTTOM.bottom_mm) / 400.0
    knots = [(0.0, 150.0), (2.0, 150.0), (t_top, top), (t_top + (top - 150.0) / 400.0, 150.0)]
    knots += [(8.0, 150.0)]
    # The check that those readings are the sled's way back (one line, within two noise
    # deviations) is tight on purpose and turns away a few true ones: 3-4 in 100 here, lost
    # as they all were before (0 of 100 counted).
    counted = 0
    for seed in range(100):
        rng = random.Random(seed)
        samples: list[tuple[float, int | None]] = []
        for t, d in piecewise(knots, rate_hz, t0=rng.uniform(0.0, 1.0 / rate_hz)):
            hidden = t_top - 0.25 <= t < t_top + 0.03
            samples.append((t, None if hidden else round((d or 0) + rng.gauss(0.0, 2.0))))
        reps = reps_of(run(BOTTOM, samples))
        assert len(reps) <= 1, (rate_hz, seed)
        if reps:
            assert reps[0].rom_fraction < 0.5, (rate_hz, seed)
            counted += 1
    assert counted >= 95, rate_hz


@pytest.mark.parametrize("rate_hz", [20.0, 25.0])
def test_a_turn_a_stuck_sensor_hid_after_a_hold_counts_from_where_it_was_seen(rate_hz) -> None:
    # A full rep whose lowering pauses 0.9 s at 35 % of the range, then goes on to the
    # bottom at 370 mm/s and straight up at 276 mm/s into a partial rep to 60 %. The sensor
    # sticks on the last reading of the pause for 0.7 s, over the bottom turn: the readings
    # after it are on the way up already, 20 % above the bottom, where the smoother's
    # restart hides them, and from the pause the partial rep rose 25 %: no rep (10 and 77
    # of 100 counted before; accuracy seed 1018684 lost one so). Those first readings go
    # back up on one line from below the pause: the sled turned in the gap, and the rep
    # counts from there at least.
    lo, full, pause = 150.0, 150.0 + 0.9 * 370.0, 280.0
    part = 150.0 + 0.6 * 370.0
    knots = [(0.0, lo), (2.0, lo), (3.0, full), (4.0, full), (4.0 + (full - pause) / 180.0, pause)]
    knots += [(5.9, pause), (6.25, lo), (6.25 + (part - lo) / 276.0, part), (8.6, part)]
    knots += [(9.5, lo), (20.0, lo)]
    counted = 0
    for seed in range(100):
        rng = random.Random(seed)
        samples: list[tuple[float, int | None]] = []
        last: int | None = None
        for t, d in piecewise(knots, rate_hz, t0=rng.uniform(0.0, 1.0 / rate_hz)):
            x = round((d or 0) + rng.gauss(0.0, 3.0))
            if 5.8 <= t < 6.5 and last is not None:
                x = last  # stuck
            samples.append((t, x))
            last = x
        reps = reps_of(run(BOTTOM, samples))
        assert 1 <= len(reps) <= 2, (rate_hz, seed)
        if len(reps) == 2:
            counted += 1
            # From the level seen after the gap (the way in was a pause, so no lines meet):
            # partial, and short of the truth.
            assert 0.3 < reps[1].rom_fraction < 0.6, (rate_hz, seed, reps[1].rom_fraction)
            assert "partial" in reps[1].flags
    # (a few in a hundred stay lost: their first readings after the gap are not one line)
    assert counted >= 93, rate_hz


def _smooth_path(knots: list[tuple[float, float]]):
    """Position at t along minimum-jerk moves between (t_s, mm) knots: a sled that speeds
    up out of each knot and slows into the next."""

    def at(t: float) -> float:
        for (t0, x0), (t1, x1) in itertools.pairwise(knots):
            if t0 <= t < t1:
                u = (t - t0) / (t1 - t0)
                return x0 + (x1 - x0) * u**3 * (10.0 - 15.0 * u + 6.0 * u * u)
        return knots[-1][1]

    return at


# A full rep to 93 % of the range: the last quarter second of its slowing into lockout,
# its 0.15 s hold there and the first of the lowering fall in a 0.45 s dropout. Seen on a
# rep starting at the bottom (the lockout its far turn) and at the top (the lockout its
# end).
_LOCK_93 = {
    "bottom": (
        BOTTOM,
        [(0.0, 150.0), (2.0, 150.0), (3.0, 494.1), (3.15, 494.1), (4.65, 150.0), (20.0, 150.0)],
        (2.75, 3.2),
    ),
    "top": (
        TOP,
        [
            *[(0.0, 520.0), (2.0, 520.0), (3.5, 150.0), (4.0, 150.0), (5.0, 494.1)],
            *[(5.15, 494.1), (6.65, 150.0), (7.15, 150.0), (8.15, 520.0), (20.0, 520.0)],
        ],
        (4.75, 5.2),
    ),
}


@pytest.mark.parametrize("rate_hz", [20.0, 33.0, 50.0])
@pytest.mark.parametrize("start", ["bottom", "top"])
def test_a_lockout_hidden_in_a_gap_is_not_placed_where_the_lines_meet(start, rate_hz) -> None:
    # The lines into and out of the gap meet beyond the 97 % a locked rep needs (the sled
    # still rose at about 360 mm/s when the sensor went silent); a sled slowing into
    # lockout stops short of that, and the smoothest path through the gap says so.
    # Before: 29 of the 60 bottom starts and 24 of the 60 top starts read "locked".
    settings, knots, (gap_from, gap_to) = _LOCK_93[start]
    at = _smooth_path(knots)
    for seed in range(20):
        rng = random.Random(seed)
        t = rng.uniform(0.0, 1.0 / rate_hz)
        samples: list[tuple[float, int | None]] = []
        while t < 18.0:
            hidden = gap_from <= t < gap_to
            samples.append((round(t, 5), None if hidden else round(at(t) + rng.gauss(0.0, 2.0))))
            t += 1.0 / rate_hz
        reps = reps_of(run(settings, samples))
        assert len(reps) == (1 if start == "bottom" else 2), (seed, len(reps))
        assert reps[0].lockout == "full", (seed, reps[0].rom_fraction)


@pytest.mark.parametrize("rate_hz", [20.0, 33.0, 50.0])
def test_a_partial_rep_whose_far_turn_a_stuck_sensor_hid_counts(rate_hz: float) -> None:
    # A rep to 45 % of the range at 300 mm/s with a short pause at its top; the sensor
    # sticks on the way out at 22 % and goes on only at 22 % on the way back, so every
    # reading either side of the stuck run, and the level seen after it, is short of the
    # 30 % a rep needs. The lines into and out of the run, moved two standard errors
    # towards the seen side, still meet past it (accuracy seeds 900204, 1043398 and
    # 1044176 lost a rep so; before: 0 of 20 counted at each rate).
    top = BOTTOM.bottom_mm + 0.45 * BOTTOM.rom_mm
    up_s = (top - BOTTOM.bottom_mm) / 300.0
    stuck_at = BOTTOM.bottom_mm + 0.22 * BOTTOM.rom_mm
    t_up = 2.0 + (stuck_at - BOTTOM.bottom_mm) / 300.0  # where the sensor sticks
    t_down = 2.0 + 2.0 * up_s + 0.2 - (t_up - 2.0)  # and where it goes on
    knots = [(0.0, 150.0), (2.0, 150.0), (2.0 + up_s, top), (2.2 + up_s, top)]
    knots += [(2.2 + 2.0 * up_s, 150.0), (6.0, 150.0)]
    for seed in range(20):
        rng = random.Random(seed)
        samples: list[tuple[float, int | None]] = []
        stuck: int | None = None
        for t, d in piecewise(knots, rate_hz, t0=rng.uniform(0.0, 0.02)):
            x = round((d or 0) + rng.gauss(0.0, 3.0))
            if t_up <= t < t_down:
                stuck = stuck or x
                x = stuck
            samples.append((t, x))
        reps = reps_of(run(BOTTOM, samples))
        assert len(reps) == 1, seed
        assert reps[0].rom_fraction < 0.6, seed  # and it stays partial


@pytest.mark.parametrize("seed", [1044176, 1043398, 1043630, 1043682, 1044537])
def test_far_turns_hidden_in_gaps_count_only_where_the_sled_surely_went(seed: int) -> None:
    # Accuracy seed 1044176 (20 Hz): the sensor stuck 0.9 s over a partial rep's far
    # turn, the readings either side short of the rise: lost before (1043398, 40 Hz, the
    # same behind 0.4 s of stuck readings and a gap). 1043630, 1043682
    # and 1044537: lines into and out of a gap that meet beyond the rise where the sled
    # did not go (a move that stopped in the gap; speeds read from noise at 13 mm of it,
    # 0.85 s without readings at the start of a session). Those stay no rep.
    trace = generate(seed)
    reps = reps_of(run(as_settings(trace.settings), trace.samples))
    assert len(reps) == len(trace.reps), seed
