"""The segmenter's track alone: the ring of smoothed samples and the raw readings kept.

Times are binary fractions, so interpolated times compare exactly.
"""

from __future__ import annotations

from tempo.track import BUFFER
from tests.tempo.helpers import track_of

DT = 1.0 / 64.0


def test_a_crossing_is_interpolated_between_two_samples() -> None:
    track = track_of([(0.0, 0.0), (0.125, 8.0), (0.25, 16.0)])
    assert track.crossing(0, 2.0) == 0.03125
    assert track.crossing(1, 30.0) == 0.25  # beyond the pair: its end
    assert track.crossing(2, 5.0) == 0.25  # the newest sample has no next one


def test_the_entry_is_the_first_crossing_after_the_track_was_clearly_outside() -> None:
    # Rising into the band that begins at 98 (way +1): noise takes the track out of it at
    # 0.625 s, by less than the margin of 3, and back; the entry stays the first one.
    ys = [80.0, 90.0, 94.0, 102.0, 100.0, 97.0, 100.0, 100.0]
    track = track_of([(0.125 * i, y) for i, y in enumerate(ys)])
    assert track.entry(track.n - 1, 0, 98.0, 1, margin=3.0, t_from=0.0) == 0.25 + 0.0625
    # Out by more than the margin: the entry is the last one.
    ys[5] = 93.0
    track = track_of([(0.125 * i, y) for i, y in enumerate(ys)])
    assert track.entry(track.n - 1, 0, 98.0, 1, margin=3.0, t_from=0.0) == 0.625 + 0.125 * 5 / 7
    # Never before the movement began.
    assert track.entry(track.n - 1, 0, 98.0, 1, margin=100.0, t_from=0.328125) == 0.328125


def test_the_fitted_shift_is_the_line_s_travel_across_the_samples() -> None:
    track = track_of([(DT * i, 100.0 - 32.0 * DT * i) for i in range(33)])  # 32 mm/s for 0.5 s
    assert track.fitted_shift(0, 32) == 16.0
    assert track_of([(DT * i, 5.0) for i in range(10)]).fitted_shift(0, 9) == 0.0


def test_a_movement_s_track_is_the_ring_from_its_start() -> None:
    track = track_of([(DT * i, float(i)) for i in range(BUFFER + 44)])
    ts, ys = track.since(DT * (BUFFER + 40))
    assert ys == [float(i) for i in range(BUFFER + 40, BUFFER + 44)]
    assert ts == [DT * i for i in range(BUFFER + 40, BUFFER + 44)]
    _, ys = track.since(0.0)  # older than the ring: as far back as it goes
    assert ys == [float(i) for i in range(44, BUFFER + 44)]
    _, ys = track.since(100.0)  # after the newest: the newest
    assert ys == [float(BUFFER + 43)]


def test_raw_readings_between_two_times_and_after_one() -> None:
    track = track_of([], [(0.125 * i, float(10 * i)) for i in range(10)])
    assert track.readings_between(0.25, 0.5) == ([0.25, 0.375, 0.5], [20.0, 30.0, 40.0])
    assert track.readings_between(0.26, 0.49) == ([0.375], [30.0])
    assert track.accepted_after(0.875) == [(1.0, 80.0), (1.125, 90.0)]
    assert track.accepted_after(1.125) == []
