"""Turns hidden in a gap, alone: hand-made tracks in, the turn the lines give out.

Times are binary fractions and the tracks straight lines, so every time is exact.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tempo.gaps import (
    SEEN_WAY_N,
    first_after_gap,
    gap_at_turn,
    seen_after_gap,
    slowing_turn,
    surely_reached_in_gap,
    turn_behind_hold,
    turn_in_gap,
)
from tempo.track import Track
from tests.tempo.helpers import track_of

DT = 1.0 / 64.0
BAND = 8.0


def _up_gap_down(k_after: int = 8) -> list[tuple[float, float]]:
    """Up at 512 mm/s to 256 mm at 0.5 s, nothing until 1 s, down at 512 mm/s from 256 mm
    (the lines meet at 0.75 s, 384 mm)."""
    up = [(DT * i, 512.0 * DT * i) for i in range(33)]
    down = [(1.0 + DT * i, 256.0 - 512.0 * DT * i) for i in range(k_after)]
    return up + down


def test_a_turn_in_a_gap_is_where_the_lines_before_and_after_it_meet() -> None:
    track = track_of(_up_gap_down())
    n = track.n - 1
    assert gap_at_turn(track, n, 32) == 32
    got = turn_in_gap(track, n, 0, d=1, k_ext=32, ext=256.0, band=BAND, raw_way_out=False)
    assert got == (384.0, 0.75 - BAND / 512.0, 0.75 + BAND / 512.0)


def test_a_turn_at_lockout_in_a_gap_slows_on_the_smoothest_path_through_it() -> None:
    # The same readings at lockout: a sled that slows to its stop does not reach where the
    # lines meet. The cubic through the ends of the gap (256 mm at 512 mm/s out at 0.5 s,
    # back at 1 s) is a parabola with its top at 0.75 s, 256 + 512 * 0.5 / 4 = 320 mm,
    # decelerating at 2048 mm/s^2: within BAND of the top for sqrt(2 * BAND / 2048) either side.
    track = track_of(_up_gap_down())
    n = track.n - 1
    got = turn_in_gap(
        track, n, 0, d=1, k_ext=32, ext=256.0, band=BAND, raw_way_out=False, slowing=True
    )
    w = (2.0 * BAND / 2048.0) ** 0.5
    assert got == pytest.approx((320.0, 0.75 - w, 0.75 + w), abs=1e-6)
    # an extreme beyond that: nothing hidden
    assert (
        turn_in_gap(
            track, n, 0, d=1, k_ext=32, ext=330.0, band=BAND, raw_way_out=False, slowing=True
        )
        is None
    )


@pytest.mark.parametrize("d", [1, -1])
def test_the_smoothest_path_through_a_gap_finds_a_constant_deceleration_exactly(d: int) -> None:
    # A sled at constant deceleration 2000 mm/s^2 turning at 300 mm at 0.2 s, seen at 0 s
    # and 0.5 s: the cubic through those ends is that parabola, and its 2 % times are exact.
    def at(t: float) -> float:
        return d * (300.0 - 1000.0 * (t - 0.2) ** 2)

    got = slowing_turn(0.0, at(0.0), d * 400.0, 0.5, at(0.5), d * -600.0, d, BAND)
    w = (2.0 * BAND / 2000.0) ** 0.5
    assert got == pytest.approx((d * 300.0, 0.2 - w, 0.2 + w), abs=1e-6)
    # the ends of the gap already inside the band: arrival and departure at the ends
    near = slowing_turn(0.0, at(0.19), d * 20.0, 0.02, at(0.21), d * -20.0, d, BAND)
    assert near is not None and near[1:] == (0.0, 0.02)
    # speeds that do not turn the `d` way: no turn
    assert slowing_turn(0.0, 0.0, d * 400.0, 0.5, d * 300.0, d * 200.0, d, BAND) is None


@given(
    span=st.floats(0.05, 2.0),
    y2=st.floats(-300.0, 300.0),
    v1=st.floats(1.0, 3000.0),
    v2=st.floats(1.0, 3000.0),
    d=st.sampled_from([1, -1]),
)
def test_the_smoothest_turn_is_beyond_both_ends_and_its_band_inside_the_gap(
    span: float, y2: float, v1: float, v2: float, d: int
) -> None:
    # Leaving 0 mm the `d` way and coming back from y2: the cubic turns once, as far out as
    # it ever gets between the ends, and enters and leaves the band around that in order.
    got = slowing_turn(1.0, 0.0, d * v1, 1.0 + span, d * y2, -d * v2, d, BAND)
    assert got is not None
    level, t_in, t_out = got
    assert d * level >= max(0.0, y2) - 1e-9
    assert 1.0 <= t_in <= t_out <= 1.0 + span


def test_the_way_out_of_a_gap_is_taken_from_the_raw_readings_after_it() -> None:
    # The smoothed samples after the gap are flat (the smoother starting again); the raw
    # readings go down at 512 mm/s.
    samples = [(DT * i, 512.0 * DT * i) for i in range(33)]
    samples += [(1.0 + DT * i, 256.0) for i in range(8)]
    raw = [(1.0 + DT * i, 256.0 - 512.0 * DT * i) for i in range(12)]
    track = track_of(samples, raw)
    n = track.n - 1
    got = turn_in_gap(track, n, 0, d=1, k_ext=32, ext=256.0, band=BAND, raw_way_out=True)
    assert got is not None
    assert got[0] == pytest.approx(384.0) and got[1] == pytest.approx(0.75 - BAND / 512.0)
    assert turn_in_gap(track, n, 0, d=1, k_ext=32, ext=256.0, band=BAND, raw_way_out=False) is None


def test_no_turn_without_a_gap_or_short_of_the_extreme() -> None:
    steady = track_of([(DT * i, 512.0 * DT * i) for i in range(40)])
    assert gap_at_turn(steady, steady.n - 1, 32) is None
    track = track_of(_up_gap_down())
    # an extreme already beyond where the lines meet: nothing hidden
    assert (
        turn_in_gap(track, track.n - 1, 0, d=1, k_ext=32, ext=400.0, band=BAND, raw_way_out=False)
        is None
    )
    # two samples after the gap are needed for the way out
    short = track_of(_up_gap_down(k_after=1))
    assert (
        turn_in_gap(short, short.n - 1, 0, d=1, k_ext=32, ext=256.0, band=BAND, raw_way_out=False)
        is None
    )


def test_a_turn_hidden_on_the_start_side_is_no_further_than_the_stops() -> None:
    # Down at 512 mm/s to 32 mm, a gap, up again: the lines meet 96 mm beyond the stops.
    down = [(DT * i, 288.0 - 512.0 * DT * i) for i in range(33)]
    up = [(1.0 + DT * i, 32.0 + 512.0 * DT * i) for i in range(8)]
    track = track_of(down + up)
    got = turn_in_gap(track, track.n - 1, 0, d=-1, k_ext=32, ext=32.0, band=BAND, raw_way_out=False)
    assert got is not None and got[0] == 0.0


def test_a_turn_first_seen_after_a_gap_is_as_far_out_as_its_first_readings() -> None:
    samples = [(DT * i, 512.0 * DT * i) for i in range(33)]
    samples += [(1.0 + DT * i, 300.0 - 64.0 * i) for i in range(4)]  # the extreme: 300 mm
    raw = [(1.0, 330.0), (1.0 + DT, 310.0), (1.0 + 2 * DT, 320.0), (1.0 + 3 * DT, 250.0)]
    track = track_of(samples, raw)
    assert first_after_gap(track, 33, 1, 300.0, 0) == 320.0  # the median of the first three
    assert first_after_gap(track, 33, 1, 330.0, 0) == 330.0  # never nearer than the extreme
    assert first_after_gap(track, 32, 1, 256.0, 0) == 256.0  # no gap before sample 32


def test_a_turn_seen_after_a_gap_counts_only_when_the_way_back_is_one_line() -> None:
    samples = [(DT * i, 512.0 * DT * i) for i in range(33)]
    samples += [(1.0 + DT * i, 300.0 - 64.0 * i) for i in range(4)]  # the extreme: 300 mm
    # Down at 512 mm/s (8 mm a sample) from 336 mm, a millimetre of wobble.
    way = [(1.0 + DT * i, 336.0 - 8.0 * i + (-1.0) ** i) for i in range(8)]
    track = track_of(samples, way)
    assert seen_after_gap(track, 33, 1, 300.0, stop=0, noise=1.0) == 327.0  # median of three
    # Half a millimetre of noise is too little for that wobble ...
    assert seen_after_gap(track, 33, 1, 300.0, stop=0, noise=0.45) == 300.0
    # ... and a burst that scatters (one reading 40 mm off the line) is no way back.
    burst = list(way)
    burst[4] = (burst[4][0], burst[4][1] + 40.0)
    track = track_of(samples, burst)
    assert seen_after_gap(track, 33, 1, 300.0, stop=0, noise=1.0) == 300.0
    # Nor is a level reached by readings that go on up.
    up = [(t, 672.0 - x) for t, x in way]
    track = track_of(samples, up)
    assert seen_after_gap(track, 33, 1, 300.0, stop=0, noise=1.0) == 300.0
    # Fewer than SEEN_WAY_N readings after the gap say too little.
    track = track_of(samples, way[: SEEN_WAY_N - 1])
    assert seen_after_gap(track, 33, 1, 300.0, stop=0, noise=1.0) == 300.0


def _hold_gap_up(way_in: float) -> Track:
    """Smoothed samples into a hold at 256 mm at 0.5 s (moving at `way_in` mm/s before
    it, 0 for a pause), nothing until 1 s, then raw readings up at 512 mm/s from 128 mm
    and four smoothed samples after the gap (flat: the smoother starting again)."""
    before = [(DT * i, 256.0 + way_in * (0.5 - DT * i)) for i in range(33)]
    after = [(1.0 + DT * i, 160.0) for i in range(4)]
    raw = [(1.0 + DT * i, 128.0 + 512.0 * DT * i) for i in range(12)]
    return track_of(before + after, raw)


def test_a_turn_behind_a_hold_after_a_pause_is_at_the_level_seen_after_the_gap() -> None:
    # The way in was a pause: no lines meet; the sled was seen at the median of the first
    # three readings (136 mm) and had left from the first of them.
    track = _hold_gap_up(0.0)
    got = turn_behind_hold(track, track.n - 1, 0, d=-1, level=256.0, band=BAND, noise=1.0)
    assert got == (136.0, 1.0)


def test_a_turn_behind_a_hold_the_sled_came_into_moving_is_where_the_lines_meet() -> None:
    # Down at 512 mm/s into the "hold" (a stuck sensor's first repeats), up at 512 mm/s
    # after the gap: the lines meet at 0.875 s, 64 mm; the turn is left a band later.
    track = _hold_gap_up(512.0)
    got = turn_behind_hold(track, track.n - 1, 0, d=-1, level=256.0, band=BAND, noise=1.0)
    assert got is not None
    assert got[0] == pytest.approx(64.0) and got[1] == pytest.approx(0.875 + BAND / 512.0)


def test_no_turn_behind_a_hold_without_a_gap_or_short_of_the_noise() -> None:
    steady = track_of([(DT * i, 256.0) for i in range(40)])
    assert (
        turn_behind_hold(steady, steady.n - 1, 0, d=-1, level=256.0, band=BAND, noise=1.0) is None
    )
    # seen 120 mm beyond the hold, but that is within three deviations of 50 mm of noise
    # (the first readings lie on their line exactly, so the line check alone would pass)
    track = _hold_gap_up(0.0)
    assert turn_behind_hold(track, track.n - 1, 0, d=-1, level=256.0, band=BAND, noise=50.0) is None
    # the gap further back than the departure's few samples: not this hold's
    late = track_of(
        [(DT * i, 256.0) for i in range(33)] + [(1.0 + DT * i, 160.0) for i in range(12)],
        [(1.0 + DT * i, 128.0 + 512.0 * DT * i) for i in range(12)],
    )
    assert turn_behind_hold(late, late.n - 1, 0, d=-1, level=256.0, band=BAND, noise=1.0) is None


def _up_gap_down_raw(stuck_n: int = 0) -> Track:
    """`_up_gap_down` with its raw readings too (the sensor stuck for `stuck_n` readings at
    the last one before the gap)."""
    samples = _up_gap_down(12)
    raw = list(samples)
    raw[33:33] = [(0.5 + DT * (i + 1), 256.0) for i in range(stuck_n)]
    return track_of(samples, raw)


def test_a_far_turn_in_a_gap_surely_reached_is_where_exact_lines_meet() -> None:
    track = _up_gap_down_raw()
    n = track.n - 1
    got = surely_reached_in_gap(track, n, d=1, k_ext=32, noise=1e-9)
    assert got == pytest.approx(384.0)


def test_the_noisier_the_readings_the_less_sure_the_reach() -> None:
    track = _up_gap_down_raw()
    n = track.n - 1
    reach = [surely_reached_in_gap(track, n, d=1, k_ext=32, noise=s) for s in (1.0, 4.0, 16.0)]
    assert all(r is not None for r in reach)
    assert 384.0 > reach[0] > reach[1] > reach[2] > 256.0  # type: ignore[operator]
    # so noisy that either line may be a sled at rest: nothing is sure
    assert surely_reached_in_gap(track, n, d=1, k_ext=32, noise=200.0) is None


def test_a_stuck_sensors_repeats_before_a_gap_are_not_the_way_in() -> None:
    # the sensor repeated 256 mm for four readings before it went silent: the way in still
    # ends at 256 mm at 512 mm/s, not on a line flattened by the repeats
    track = _up_gap_down_raw(stuck_n=4)
    n = track.n - 1
    got = surely_reached_in_gap(track, n, d=1, k_ext=32, noise=1e-9)
    assert got == pytest.approx(384.0)


# Accuracy seed 1044537 (30 Hz, 30 mm of noise, a still sled at the start of a session):
# noise climbing into a gap of 0.85 s and one far reading after it. A rep needed 153 mm.
SESSION_START_READINGS = (
    "3.00:-7 3.04:-1 3.07:-9 3.10:-2 3.14:-27 3.17:-20 3.20:17 3.24:-26 3.27:2 3.30:-15 "
    "3.34:26 3.37:47 4.22:58 4.31:-21 4.34:-24 4.38:-24 4.41:-32 4.45:-24 4.48:-35 4.52:-31"
)


def test_noise_climbing_into_a_gap_is_not_surely_a_turn_beyond_it() -> None:
    raw = [(float(t), float(x)) for t, x in (r.split(":") for r in SESSION_START_READINGS.split())]
    track = track_of(raw, raw)
    n = track.n - 1
    lines = turn_in_gap(track, n, 0, d=1, k_ext=11, ext=47.0, band=BAND, raw_way_out=True)
    assert lines is not None and lines[0] > 300.0  # the lines meet far out
    # The way out is one far reading and a flat run: four readings at least show how
    # they scatter about their line (with three, 157 mm).
    sure = surely_reached_in_gap(track, n, d=1, k_ext=11, noise=13.4)
    assert sure is None or sure < 153.0


def _down_slowed_gap_up(edge: list[float] | None = None) -> tuple[Track, int]:
    """Down at 512 mm/s to 64 mm at 0.5 s, nothing until 1 s, up at 512 mm/s as from a
    V at 32 mm at 0.5625 s. The smoothed samples slow to 128 mm/s over the last 0.09 s
    before the gap, as a smoother's windows closing on the last readings do (at 100 mm
    at 0.5 s); `edge` replaces the last raw readings before it."""
    raw = [(DT * i, 320.0 - 512.0 * DT * i) for i in range(33)]
    if edge is not None:
        raw[-len(edge) :] = [(t, x) for (t, _), x in zip(raw[-len(edge) :], edge, strict=True)]
    t_slow, x_slow = DT * 26, 320.0 - 512.0 * DT * 26
    smoothed = [(t, x if t <= t_slow else x_slow - 128.0 * (t - t_slow)) for t, x in raw]
    way_up = [(1.0 + DT * i, 32.0 + 512.0 * (1.0 + DT * i - 0.5625)) for i in range(12)]
    track = track_of(smoothed + way_up, raw + way_up)
    return track, track.n - 1


def test_the_way_into_a_bounce_hidden_in_a_gap_is_read_on_the_raw_readings() -> None:
    # Accuracy seed 1051478 (30 Hz): a touch-and-go at the bottom hidden by 0.37 s without
    # readings; the smoothed way in slowed before the gap and ended 17 mm short of the
    # last reading, the lines met at its end and the next rep's ROM came out 0.78 of the
    # range, partial, for 0.90.
    track, n = _down_slowed_gap_up()
    kw = {"d": -1, "k_ext": 32, "ext": 100.0, "band": BAND, "raw_way_out": True}
    got = turn_in_gap(track, n, 0, **kw, noise=3.0)  # type: ignore[arg-type]
    assert got == pytest.approx((32.0, 0.5625 - BAND / 512.0, 0.5625 + BAND / 512.0))
    # without the readings' noise (as in glare) the smoothed way in: the lines meet
    # 48 mm short of the turn
    smoothed = turn_in_gap(track, n, 0, **kw)  # type: ignore[arg-type]
    assert smoothed is not None and smoothed[0] == pytest.approx(80.0)


def test_the_raw_way_in_is_not_taken_at_lockout_or_through_a_burst() -> None:
    # A sled slowing into lockout keeps the smoothed way in (the line through its last
    # readings is faster than it was at the gap, and the cubic overshoots; its speed is
    # the slower of the two) ...
    track, n = _down_slowed_gap_up()
    kw = {"d": -1, "k_ext": 32, "ext": 100.0, "band": BAND, "raw_way_out": True}
    slow = turn_in_gap(track, n, 0, **kw, slowing=True, noise=3.0)  # type: ignore[arg-type]
    assert slow == turn_in_gap(track, n, 0, **kw, slowing=True)  # type: ignore[arg-type]
    # ... and a burst at the gap's edge, off the line of the readings before it, is no way in
    track, n = _down_slowed_gap_up(edge=[140.0, 150.0])
    burst = turn_in_gap(track, n, 0, **kw, noise=3.0)  # type: ignore[arg-type]
    assert burst == turn_in_gap(track, n, 0, **kw)  # type: ignore[arg-type]
    assert burst is not None and burst[0] == pytest.approx(80.0)


def test_the_raw_way_into_a_gap_ends_where_the_sensor_stuck() -> None:
    # The sensor stuck on its reading at 0.469 s (80 mm) and repeated it to the gap: the
    # repeats are no way (the sled went on down meanwhile), and the way in is the line
    # through the readings up to the first of them. On accuracy 1051200-1051599 and
    # 1052000-1052799 a sensor stuck over the low turn was most of the full reps read
    # partial (19 of 33), the smoothed way in flattened by its repeats.
    track, n = _down_slowed_gap_up(edge=[80.0, 80.0, 80.0])
    kw = {"d": -1, "k_ext": 32, "ext": 100.0, "band": BAND, "raw_way_out": True}
    got = turn_in_gap(track, n, 0, **kw, noise=3.0)  # type: ignore[arg-type]
    assert got == pytest.approx((32.0, 0.5625 - BAND / 512.0, 0.5625 + BAND / 512.0))


def test_a_stuck_sensors_repeats_after_the_gap_are_no_way_out_either() -> None:
    # Stuck on 80 mm from 0.469 s, the sensor repeats it twice more after the gap (a run
    # longer than a second counts again: a quiet sensor on a still sled), then reads the
    # way up. Those repeats would bend the way out (accuracy 1051458, 40 Hz: the sensor
    # stuck 1 s over a whole lowering, its repeats after the gap made the way out rise, no
    # turn was placed, and a full rep read 0.70).
    track, n = _down_slowed_gap_up(edge=[80.0, 80.0, 80.0])
    stuck = [(1.0 - 2.0 * DT, 80.0), (1.0 - DT, 80.0)]
    raw = list(track.accepted)
    i = next(k for k, (t, _) in enumerate(raw) if t >= 1.0)
    track = track_of([(track.t[k], track.y[k]) for k in range(track.n)], raw[:i] + stuck + raw[i:])
    kw = {"d": -1, "k_ext": 32, "ext": 100.0, "band": BAND, "raw_way_out": True}
    got = turn_in_gap(track, n, 0, **kw, noise=3.0)  # type: ignore[arg-type]
    assert got == pytest.approx((32.0, 0.5625 - BAND / 512.0, 0.5625 + BAND / 512.0))


def _stopped_gap_down() -> tuple[Track, int]:
    """Up at 512 mm/s to 192 mm at 0.375 s and held there (readings 1 mm apart, not a
    stuck sensor's repeats); nothing from 0.5 s to 1 s; down at 512 mm/s from 192 mm. The
    smoothed samples lag: 16 mm short from 0.25 s, 24 mm at the stop (0.375 s), then
    closing at 176 mm/s to 1 mm short at 0.5 s, as a smoother's windows filling with the
    held readings do."""
    raw = [(DT * i, 512.0 * DT * i if i <= 24 else 192.0 + (-0.5) ** (i % 2)) for i in range(33)]
    smoothed = [(t, x if t <= 0.25 else x - 16.0) for t, x in raw[:25]]
    smoothed[24] = (DT * 24, 168.0)
    smoothed += [(DT * i, 191.0 - 176.0 * DT * (32 - i)) for i in range(25, 33)]
    way_down = [(1.0 + DT * i, 192.0 - 512.0 * DT * i) for i in range(12)]
    track = track_of(smoothed + way_down, raw + way_down)
    return track, track.n - 1


def test_a_sled_stopped_before_a_gap_at_lockout_goes_into_it_no_faster_than_its_readings() -> None:
    # Accuracy seed 1052880 (30 Hz, ROM 461 mm): the sled arrived at lockout (563 mm,
    # 0.94 of the ROM) and held; its readings were flat for 0.1 s before a gap of 0.37 s,
    # but the smoothed samples into it still rose, and the cubic leaving at their speed
    # turned 16 mm beyond the hold: a full rep read locked.
    track, n = _stopped_gap_down()
    kw = {"d": 1, "k_ext": 32, "ext": 191.0, "band": BAND, "raw_way_out": True, "slowing": True}
    # the readings into the gap lie flat within their noise: stopped, no turn in the gap
    assert turn_in_gap(track, n, 0, **kw, noise=3.0) is None  # type: ignore[arg-type]
    # without the readings' noise (in glare) the smoothed speed: the cubic overshoots
    smoothed = turn_in_gap(track, n, 0, **kw)  # type: ignore[arg-type]
    assert smoothed is not None and smoothed[0] > 192.0 + BAND


def _stuck_into_gap_back_past() -> Track:
    """Raw readings down at 512 mm/s to 256 mm at 0.5 s, then three repeats of 256 mm (a
    stuck sensor; the smoothed samples flat there, a hold), nothing until 1 s, then up at
    512 mm/s from 300 mm: back past the hold before the readings began again (the lines
    meet at 724/1024 s, 150 mm)."""
    raw = [(DT * i, 256.0 + 512.0 * (0.5 - DT * i)) for i in range(33)]
    raw += [(0.5 + DT * i, 256.0) for i in range(1, 4)]
    after = [(1.0 + DT * i, 300.0 + 512.0 * DT * i) for i in range(12)]
    return track_of(raw + after[:4], raw + after)


def _rest_ending_in_a_creep() -> Track:
    """The same, but the readings came to rest at 256 mm (0.5 mm either side) at 0.25 s
    and only their last four crept down 2 mm each before the sensor stuck."""
    raw = [(DT * i, 256.0 + 512.0 * (0.5 - DT * i)) for i in range(16)]
    raw += [
        (DT * i, 256.0 - 2.0 * max(0, i - 28) + (0.5 if i % 2 else -0.5)) for i in range(16, 33)
    ]
    raw += [(0.5 + DT * i, raw[-1][1]) for i in range(1, 4)]
    after = [(1.0 + DT * i, 300.0 + 512.0 * DT * i) for i in range(12)]
    return track_of(raw + after[:4], raw + after)


def test_a_turn_behind_a_stuck_hold_the_sled_came_back_past_is_where_the_lines_meet() -> None:
    # Accuracy seed 1053756 (40 Hz, a reverse press): the sensor stuck on a slow lowering
    # and the repeats made a hold; the sled turned at the bottom and came back past it
    # before the readings began again. Nothing after the gap was beyond the hold, and
    # the rep read 0.56 of the ROM for 0.94 (partial); the lines place the turn.
    track = _stuck_into_gap_back_past()
    kw = {"d": -1, "level": 256.0, "band": BAND, "noise": 1.0, "arrived": 0.5}
    got = turn_behind_hold(track, track.n - 1, 0, **kw)  # type: ignore[arg-type]
    assert got == pytest.approx((150.0, 724.0 / 1024.0 + BAND / 512.0))
    # not at lockout, where a sled slows into its stop: the hold is where it stopped
    assert turn_behind_hold(track, track.n - 1, 0, **kw, slowing=True) is None  # type: ignore[arg-type]


def test_a_hold_at_rest_whose_last_readings_crept_hides_no_turn() -> None:
    # The last 0.15 s alone (arrived 0.5 s) show the sled moving on; its readings since it
    # came to rest (0.25 s) do not lie on that way (independent seed 79236: a bottom pause
    # ending in a gap, its last readings' noise read as a way on, the ROM 0.09 deeper).
    track = _rest_ending_in_a_creep()
    kw = {"d": -1, "level": 250.0, "band": BAND, "noise": 1.0}
    assert turn_behind_hold(track, track.n - 1, 0, **kw, arrived=0.5) is not None  # type: ignore[arg-type]
    assert turn_behind_hold(track, track.n - 1, 0, **kw, arrived=0.25) is None  # type: ignore[arg-type]
