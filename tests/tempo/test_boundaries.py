"""Boundaries placed again on the raw readings, alone: noise-free readings in, exact times
out (the fits recover a parabola and a knee exactly)."""

from __future__ import annotations

import math

import pytest

from tempo.boundaries import KNEE_HOLD_S, Boundaries
from tests.tempo.helpers import track_of

DT = 1.0 / 64.0
ROM = 400.0
BAND = 8.0


def _boundaries(points: list[tuple[float, float]], *, home_mm: float = 0.0) -> Boundaries:
    """The same points as smoothed samples and as raw readings."""
    return Boundaries(track_of(points, points), ROM, BAND, home_mm)


def _into_a_hold(
    t_stop: float, level: float, speed: float, end: float
) -> list[tuple[float, float]]:
    """At `speed` into a hold at `level`, reached at `t_stop`, held until `end`."""
    n = int(end / DT) + 1
    return [(DT * i, level - speed * max(t_stop - DT * i, 0.0)) for i in range(n)]


def test_a_crossing_is_placed_on_the_parabola_through_the_readings() -> None:
    # Speeding up out of a stop at 800 mm/s^2: 8 mm after sqrt(2 * 8 / 800) s.
    place = _boundaries([(DT * i, 400.0 * (DT * i) ** 2) for i in range(40)])
    want = math.sqrt(2.0 * 8.0 / 800.0)
    assert place.refined(want + 0.02, 8.0, 1, noise=1.0) == pytest.approx(want, abs=1e-9)
    # Too few readings kept on one side of it: the time found on the track stands.
    assert place.refined(0.03, 8.0, 1, noise=1.0) == 0.03


def test_an_arrival_is_placed_on_the_knee_through_the_move_and_the_hold() -> None:
    place = _boundaries(_into_a_hold(1.0, 200.0, 256.0, 1.75))
    n = int(1.75 / DT)
    got = place.arrival(n, 0.97, 200.0, 1, noise=1.0, t_from=0.0)
    # (and the sled came to rest at 1 s, a sharp stop, at 200 mm)
    assert got == pytest.approx((1.0 - BAND / 256.0, 1.0, 200.0), abs=1e-6)


def test_on_the_start_side_an_arrival_waits_until_the_sled_has_settled() -> None:
    # 0.125 s of the hold seen: it may still be creeping onto the stops (KNEE_SETTLED_S).
    place = _boundaries(_into_a_hold(1.0, 20.0, 256.0, 1.125), home_mm=60.0)
    n = int(1.125 / DT)
    assert place.arrival(n, 0.97, 20.0, 1, noise=1.0, t_from=0.0) is None
    got = place.arrival(n, 0.97, 20.0, 1, noise=1.0, t_from=0.0, settled=True)
    assert got == pytest.approx((1.0 - BAND / 256.0, 1.0, 20.0), abs=1e-6)


def test_a_departure_is_placed_on_the_knee_time_reversed() -> None:
    # Held at 100 mm until 1 s, then away at 256 mm/s.
    points = [(DT * i, 100.0 + 256.0 * max(DT * i - 1.0, 0.0)) for i in range(97)]
    place = _boundaries(points)
    got = place.departure(96, 100.0, 1, t_hold=0.0, t_start=1.04, noise=1.0)
    assert got is not None
    t_start, t_left = got
    assert t_start == pytest.approx(1.0 + BAND / 256.0, abs=1e-6)
    assert t_left == pytest.approx(1.0, abs=1e-6)


def test_an_arrival_is_placed_again_once_enough_of_the_hold_is_seen() -> None:
    place = _boundaries(_into_a_hold(1.0, 200.0, 256.0, 1.75))
    n = int(1.75 / DT)
    kw = {"t_move": 0.0, "noise": 1.0, "hold_s": KNEE_HOLD_S}
    again = place.arrival_again(n, 200.0, 1, t_near=0.97, t_left=1.5, **kw)
    assert again == pytest.approx((1.0 - BAND / 256.0, 200.0), abs=1e-6)
    # The hold's level is the readings', whatever level the still test had for it.
    again = place.arrival_again(n, 203.0, 1, t_near=0.97, t_left=1.5, **kw)
    assert again == pytest.approx((1.0 - BAND / 256.0, 200.0), abs=1e-6)
    # A hold left 0.4 s (KNEE_RAW_STOP_S) after the arrival or sooner: nothing to add.
    assert place.arrival_again(n, 200.0, 1, t_near=0.97, t_left=1.3, **kw) is None


def test_the_move_side_of_an_arrival_reaches_a_fifth_of_the_rom_back() -> None:
    # At 32 mm/s into a hold at 200 mm, reached at 4 s: 80 mm (a fifth of the ROM,
    # KNEE_REACH_FRACTION) back is 2.5 s before it, within the move (begun at 1 s).
    place = _boundaries(_into_a_hold(4.0, 200.0, 32.0, 5.0))
    n = int(5.0 / DT)
    t_near = 4.0 - BAND / 32.0
    got = place.move_side_s(n, t_near, 200.0, 1, noise=1.0, t_from=1.0)
    assert got == pytest.approx(2.5 - BAND / 32.0, abs=DT)
    # never from before the move began
    assert place.move_side_s(n, t_near, 200.0, 1, noise=1.0, t_from=2.5) == pytest.approx(
        t_near - 2.5, abs=DT
    )
