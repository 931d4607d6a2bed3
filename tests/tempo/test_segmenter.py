"""The segmenter alone: hand-made smoothed tracks in, the calls to its listener out.

Tracks are piecewise linear in the engine's coordinate (millimetres away from the start
side), so every 2 % boundary is an exact interpolation between two samples and the whole
sequence of calls can be compared at once. The filter in front gets no readings: its noise
estimate stays at 1 mm and no turn is fitted on raw readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tempo.filters import RobustFilter
from tempo.gaps import slowing_turn
from tempo.segmenter import (
    FORCED,
    HOLD,
    STALL_MAX_S,
    TURN,
    Movement,
    Segmenter,
    Stop,
)

ROM = 400.0
BAND = 0.02 * ROM  # 8 mm
NO_STALL = (0.0, None)


def a(x: float) -> Any:
    """A float computed by interpolation: equal up to rounding."""
    return pytest.approx(x, abs=1e-9)


def ms(x: float) -> Any:
    """A time placed on a fit (tempo.crossings): equal to a millisecond."""
    return pytest.approx(x, abs=1e-3)


def track(
    knots: Sequence[tuple[float, float]],
    rate: float = 50.0,
    skip: tuple[float, float] | None = None,
) -> list[tuple[float, float]]:
    """Samples of the polyline through (t_s, mm) knots; none in the interval `skip`."""
    out: list[tuple[float, float]] = []
    k = 0
    for i in range(int(knots[-1][0] * rate + 1e-9) + 1):
        t = i / rate
        if skip is not None and skip[0] < t < skip[1]:
            continue
        while knots[k + 1][0] < t:
            k += 1
        (ta, ya), (tb, yb) = knots[k], knots[k + 1]
        out.append((t, ya + (yb - ya) * (t - ta) / (tb - ta)))
    return out


class Recorder:
    """A listener that writes down what it is told, with the time of the sample."""

    def __init__(self, seg: Segmenter, fall_after_rise: bool = False) -> None:
        self.seg = seg
        self.fall_after_rise = fall_after_rise
        self.now = 0.0
        self.calls: list[tuple[Any, ...]] = []

    def found(self, level: float) -> None:
        self.calls.append(("found", level))

    def started(self, way: int, t_start: float, level: float) -> None:
        self.calls.append(("started", way, t_start))

    def stopped(self, stop: Stop) -> None:
        self.calls.append(("stopped", stop))

    def hold_lasted(self) -> None:
        self.calls.append(("hold_lasted", self.now))

    def arrival_placed(self, t_was: float, t_now: float, level: float) -> None:
        self.calls.append(("arrival_placed", t_was, t_now))

    def hold_was_turn(self, t_was: float, level: float, t_arrive: float, t_depart: float) -> None:
        self.calls.append(("hold_was_turn", t_was, t_arrive, t_depart))

    def rose(self, move: Movement, y: float) -> None:
        self.calls.append(("rose", move, y))
        if self.fall_after_rise:  # as the rep machine does: now watch the way back
            self.seg.watch_fall(y, move.level_from, 120.0, 1.5)

    def fell(self, move: Movement, high: float) -> None:
        self.calls.append(("fell", move, high))


def segment(
    samples: Sequence[tuple[float, float]], *, lockout_out: bool = True, **recorder: Any
) -> tuple[Segmenter, Recorder]:
    seg = Segmenter(ROM, RobustFilter(gate_base_mm=0.12 * ROM), lockout_out=lockout_out)
    rec = Recorder(seg, **recorder)
    seg.listener = rec
    return seg, rec


def run(seg: Segmenter, rec: Recorder, samples: Sequence[tuple[float, float]]) -> list[Any]:
    for t, y in samples:
        rec.now = t
        seg.step(t, y)
    return rec.calls


def test_hold_move_hold_is_one_movement_with_its_2_percent_times():
    samples = track([(0.0, 0.0), (2.0, 0.0), (3.5, 300.0), (6.0, 300.0)])  # 200 mm/s
    seg, rec = segment(samples)
    assert run(seg, rec, samples) == [
        ("found", 0.0),
        ("started", 1, a(2.0 + BAND / 200.0)),
        ("stopped", Stop(HOLD, 1, a(3.5 - BAND / 200.0), a(300.0), None, a(200.0), NO_STALL)),
        ("hold_lasted", a(3.5 - BAND / 200.0 + STALL_MAX_S)),
    ]


@pytest.mark.parametrize("speed", [13.0, 40.0, 200.0, 1000.0])
@pytest.mark.parametrize("rate", [20.0, 50.0])
def test_a_move_at_any_speed_is_one_movement(speed, rate):
    """From a 15 s negative's speed to a fast push: no stop is found inside the move, and
    its 2 % times are right within a sample (the hold level follows the slowest starts by
    a millimetre or so: it follows drift)."""
    t1 = 2.0 + 200.0 / speed
    samples = track([(0.0, 100.0), (2.0, 100.0), (t1, 300.0), (t1 + 3.0, 300.0)], rate)
    seg, rec = segment(samples)
    calls = run(seg, rec, samples)
    assert [c[0] for c in calls] == ["found", "started", "stopped", "hold_lasted"]
    assert calls[1] == ("started", 1, pytest.approx(2.0 + BAND / speed, abs=1.0 / rate))
    stop = calls[2][1]
    assert (stop.kind, stop.way, stop.level) == (HOLD, 1, a(300.0))
    assert stop.t_arrive == pytest.approx(t1 - BAND / speed, abs=1.0 / rate)


def test_a_turnaround_ends_one_movement_and_starts_the_next():
    samples = track([(0.0, 0.0), (2.0, 0.0), (3.5, 300.0), (5.0, 0.0), (7.0, 0.0)])
    seg, rec = segment(samples)
    assert run(seg, rec, samples) == [
        ("found", 0.0),
        ("started", 1, a(2.04)),
        ("stopped", Stop(TURN, 1, a(3.46), a(300.0), a(3.54), a(200.0), NO_STALL)),
        ("started", -1, a(3.54)),
        ("stopped", Stop(HOLD, -1, a(4.96), a(0.0), None, a(200.0), NO_STALL)),
        ("hold_lasted", a(4.96 + STALL_MAX_S)),
    ]


def test_a_short_stop_halfway_is_merged_into_the_movement():
    """A 0.3 s stop at 150 mm (away from the start side) and on the same way: the listener
    hears of the stop, but the movement keeps its start, and its stall is that stop."""
    samples = track([(0.0, 0.0), (2.0, 0.0), (2.75, 150.0), (3.05, 150.0), (3.8, 300.0), (6, 300)])
    seg, rec = segment(samples)
    seg.watch_rise(0.0, 200.0, 1.5)  # passed only after the stop, at 204 mm
    assert run(seg, rec, samples) == [
        ("found", 0.0),
        ("started", 1, a(2.04)),
        # placed on a knee through the samples: to a millisecond
        ("stopped", Stop(HOLD, 1, ms(2.71), a(150.0), None, a(200.0), NO_STALL)),
        ("started", 1, a(3.09)),
        ("rose", Movement(a(2.04), 0.0, a(200.0)), a(204.0)),
        ("stopped", Stop(HOLD, 1, a(3.76), a(300.0), None, a(200.0), (a(0.3), a(150.0)))),
        ("hold_lasted", a(3.76 + STALL_MAX_S)),
    ]


def test_the_excursion_watch_reports_once_each_way():
    """Armed for 120 mm + 1.5 noise (1 mm): the first sample 121.5 mm out, then back."""
    samples = track([(0.0, 0.0), (2.0, 0.0), (3.5, 300.0), (5.0, 0.0), (7.0, 0.0)])
    seg, rec = segment(samples, fall_after_rise=True)
    seg.watch_rise(0.0, 120.0, 1.5)
    calls = [c for c in run(seg, rec, samples) if c[0] in ("rose", "fell")]
    assert calls == [
        ("rose", Movement(a(2.04), 0.0, a(200.0)), a(124.0)),  # sample at 2.62 s
        ("fell", Movement(a(3.54), a(300.0), a(200.0)), a(300.0)),
    ]


def test_an_excursion_short_of_the_watch_is_not_reported():
    samples = track([(0.0, 0.0), (2.0, 0.0), (2.6, 120.0), (3.2, 0.0), (5.0, 0.0)])
    seg, rec = segment(samples)
    seg.watch_rise(0.0, 120.0, 1.5)
    assert [c[0] for c in run(seg, rec, samples)] == [
        "found",
        "started",
        "stopped",
        "started",
        "stopped",
        "hold_lasted",
    ]


def test_a_turn_hidden_in_a_gap_is_where_the_lines_meet():
    """No samples from 3.4 s to 3.8 s: the turn at 300 mm (3.5 s) is placed on the lines,
    where the far turns are not at lockout (a rep that starts at the top turns out at the
    bottom of the press, where a sled may bounce)."""
    knots = [(0.0, 0.0), (2.0, 0.0), (3.5, 300.0), (5.0, 0.0), (7.0, 0.0)]
    samples = track(knots, skip=(3.41, 3.79))
    seg, rec = segment(samples, lockout_out=False)
    assert run(seg, rec, samples)[:4] == [
        ("found", 0.0),
        ("started", 1, a(2.04)),
        ("stopped", Stop(TURN, 1, a(3.46), a(300.0), a(3.54), a(200.0), NO_STALL)),
        ("started", -1, a(3.54)),
    ]


def test_a_lockout_hidden_in_a_gap_is_on_the_smoothest_path_through_it():
    """The same readings at lockout, where a sled slows to a stop: the turn is on the
    cubic through the gap's ends (280 mm at 200 mm/s out at 3.4 s, 240 mm at 200 mm/s
    back at 3.8 s; tests/tempo/test_gaps.py checks that cubic exactly), short of where
    the lines meet and beyond the last reading before the gap."""
    knots = [(0.0, 0.0), (2.0, 0.0), (3.5, 300.0), (5.0, 0.0), (7.0, 0.0)]
    samples = track(knots, skip=(3.41, 3.79))
    seg, rec = segment(samples)
    stop = run(seg, rec, samples)[2][1]
    want = slowing_turn(3.4, 280.0, 200.0, 3.8, 240.0, -200.0, 1, BAND)
    assert want is not None and 280.0 < want[0] < 300.0
    assert (stop.t_arrive, stop.level, stop.t_depart) == (a(want[1]), a(want[0]), a(want[2]))


def test_a_movement_cut_short_stops_at_its_extreme():
    samples = track([(0.0, 0.0), (2.0, 0.0), (3.0, 200.0)])
    seg, rec = segment(samples)
    run(seg, rec, samples)
    assert seg.moving_since == a(2.04)
    assert seg.stop_at_extreme() == Stop(FORCED, 1, a(2.96), a(200.0), None, a(200.0), NO_STALL)


def test_after_a_restart_the_track_is_found_again_where_the_sled_is():
    seg, rec = segment([])
    run(seg, rec, track([(0.0, 0.0), (2.0, 0.0), (2.5, 100.0)]))
    seg.restart()
    assert seg.moving_since is None
    run(seg, rec, [(5.0, 250.0)])
    assert rec.calls[-1] == ("found", 250.0)


def test_a_departure_that_went_nowhere_keeps_the_stop_it_left():
    # At the lockout hold a dip of 21 mm (over the 20 mm movement threshold) comes back by
    # 19 mm (under it, so no turn) and the sled is still again 2 mm off its old level: the
    # departure was noise, and the stop it left goes on with its own arrival. (At a noisy
    # sensor this once made a rep's concentric 3.5 s short: the new stop's arrival was
    # searched for back through the whole ring buffer.)
    knots = [(0.0, 0.0), (2.0, 0.0), (3.5, 300.0), (4.5, 300.0), (4.6, 279.0), (4.7, 298.0)]
    samples = track([*knots, (8.0, 298.0)])
    seg, rec = segment(samples)
    assert run(seg, rec, samples) == [
        ("found", 0.0),
        ("started", 1, a(2.04)),
        ("stopped", Stop(HOLD, 1, a(3.46), a(300.0), None, a(200.0), NO_STALL)),
        ("started", -1, a(4.5 + 0.1 * BAND / 21.0)),
        ("stopped", Stop(HOLD, 1, a(3.46), a(298.0), None, a(200.0), NO_STALL)),
        ("hold_lasted", a(5.0)),
    ]
