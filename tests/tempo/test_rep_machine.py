"""The rep machine alone: hand-made movements and stops in, whole event sequences out.

`Sled` stands in for the segmenter: it tells the machine of each movement (`started`, the
excursion watch's `rose`/`fell`, `stopped`) and keeps the watch the machine arms, passing
it as the segmenter would with a noise of 1 mm. Times are binary fractions, so every
duration is exact and events compare with `==`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from tempo import EngineSettings, Event, PhaseChanged, Rep, RepRevised, SetDone
from tempo.rep_machine import REVISION_MIN_S, RepMachine
from tempo.segmenter import FORCED, HOLD, TURN, Movement, Stall, Stop

SETTINGS = EngineSettings(bottom_mm=100, lockout_mm=500, start="bottom")  # ROM 400 mm
NOISE_MM = 1.0
NO_STALL: Stall = (0.0, None)
PEAK = 500.0  # mm/s
CONFIRM_S = 0.125  # when each boundary is known, after it (the rep's t_confirmed)


class Sled:
    """The segmenter's side of the interface, for movements made by hand."""

    def __init__(
        self,
        settings: EngineSettings = SETTINGS,
        faults: Sequence[tuple[float, float]] = (),
        bursts: Sequence[tuple[float, float]] = (),
        readings: tuple[float, float, int] | None = None,
    ) -> None:
        self.watch: tuple[str, float, float] | None = None  # rise/fall, ref, margin
        self.noise = NOISE_MM  # a reading's deviation, as the filter would tell it
        self.asked: list[tuple[float, float]] = []  # the spans `readings_about` was asked
        self.readings = readings  # what it tells: median, deviation, count (None: too few)
        self.machine = RepMachine(
            settings,
            self,
            lambda now: faults,
            lambda: self.noise,
            at_burst=lambda t: any(a <= t <= b for a, b in bursts),
            readings_about=self.readings_about,
        )
        self.events: list[Event] = []
        self.machine.events = self.events
        self.level = 0.0

    def readings_about(self, t_lo: float, t_hi: float) -> tuple[float, float, int] | None:
        self.asked.append((t_lo, t_hi))
        return self.readings

    def watch_rise(self, ref: float, margin_mm: float, margin_noise: float) -> None:
        self.watch = ("rise", ref, margin_mm + margin_noise * NOISE_MM)

    def watch_fall(self, high: float, floor: float, margin_mm: float, margin_noise: float) -> None:
        self.watch = ("fall", high, margin_mm + margin_noise * NOISE_MM)

    def watch_arrival(self, t_arrive: float) -> None:
        self.arrival_watched = t_arrive

    def found(self, level: float) -> None:
        self.level = level
        self.machine.found(level)

    def move(
        self,
        t_start: float,
        to: float,
        t_arrive: float,
        turn_until: float | None = None,
        stall: Stall = NO_STALL,
    ) -> None:
        """From the current level to `to`: it leaves at `t_start` and arrives at
        `t_arrive` (2 % times); a turn that leaves again at `turn_until`, else a hold."""
        m = self.machine
        way = 1 if to > self.level else -1
        m.now = t_start + CONFIRM_S
        m.started(way, t_start, self.level)
        move = Movement(t_start, self.level, PEAK)
        w = self.watch
        if w is not None and w[0] == "rise" and way > 0 and to - w[1] >= w[2]:
            self.watch = None
            m.rose(move, w[1] + w[2])
        w = self.watch
        if w is not None and w[0] == "fall":
            if way > 0 and to > w[1]:
                self.watch = ("fall", to, w[2])  # the highest point so far
            elif way < 0 and w[1] - to >= w[2]:
                self.watch = None
                m.fell(move, w[1])
        m.now = t_arrive + CONFIRM_S
        kind = HOLD if turn_until is None else TURN
        m.stopped(Stop(kind, way, t_arrive, to, turn_until, PEAK, stall))
        self.level = to


def rep(n: int, t: tuple[float, float, float, float], out_mm: float, **fields: object) -> Rep:
    """The rep of a start = "bottom" set, from 0 out to `out_mm` and back to 0, emitted
    when its end is known; `t` = t_start, t_top, t_ecc, t_end."""
    t_start, t_top, t_ecc, t_end = t
    rom = SETTINGS.rom_mm
    concentric_s = t_top - t_start
    values: dict[str, object] = {
        "set": 1,
        "rep": n,
        "t_start": t_start,
        "t_top": t_top,
        "t_ecc": t_ecc,
        "t_end": t_end,
        "concentric_s": concentric_s,
        "top_pause_s": t_ecc - t_top,
        "eccentric_s": t_end - t_ecc,
        "bottom_pause_s": 0.0,
        "rom_mm": out_mm,
        "rom_fraction": out_mm / rom,
        "lockout": "full",
        "eccentric_score": 0,
        "mean_concentric_velocity_m_s": (out_mm - 2.0 * (0.02 * rom)) / concentric_s / 1000.0,
        "peak_concentric_velocity_m_s": PEAK / 1000.0,
        "flags": (),
        "t_confirmed": t_end + CONFIRM_S,
        "stall_s": 0.0,
        "stall_fraction": None,
    }
    values.update(fields)
    return Rep(**values)


def test_an_excursion_of_35_percent_out_and_back_is_one_rep():
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 140.0, 2.5, turn_until=2.625)
    sled.move(2.625, 0.0, 3.25)
    assert sled.events == [
        PhaseChanged(2.0, "concentric"),
        PhaseChanged(2.5, "top_pause"),
        PhaseChanged(2.625, "eccentric"),
        rep(
            1,
            (2.0, 2.5, 2.625, 3.25),
            140.0,
            lockout="partial",
            eccentric_score=21,  # 0.625 s of the 3 s target
            flags=("fast_eccentric", "partial"),
        ),
        PhaseChanged(3.25, "bottom_pause"),
    ]


def test_an_excursion_of_25_percent_is_no_rep():
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 100.0, 2.5, turn_until=2.625)
    sled.move(2.625, 0.0, 3.25)
    assert sled.events == []
    assert sled.watch == ("rise", 0.0, 121.5)  # 30 % of 400 mm and 1.5 noise deviations


def test_the_excursion_is_measured_from_the_lowest_stop_since_the_last_rep():
    sled = Sled()
    sled.found(20.0)
    sled.move(1.0, 5.0, 1.5)  # settled lower
    sled.move(2.0, 125.0, 2.5, turn_until=2.625)  # 120 mm: short of 121.5
    sled.move(2.625, 5.0, 3.25)
    assert sled.events == []
    assert sled.watch == ("rise", 5.0, 121.5)


def _dip_then_push(noise_mm: float, bursts: Sequence[tuple[float, float]] = ()) -> Sled:
    """At rest at 0, noise of `noise_mm` (glare), a turn 60 mm below the rest, a push to
    100 mm (25 % of the ROM, 160 mm from the turn) and back down to that turn's level."""
    sled = Sled(bursts=bursts)
    sled.found(0.0)
    sled.noise = noise_mm
    sled.move(1.0, -60.0, 1.25, turn_until=1.375)
    sled.move(1.375, 100.0, 2.0, turn_until=2.125)
    sled.move(2.125, -60.0, 2.75)
    return sled


def test_a_turn_in_the_noise_below_the_rest_is_not_where_the_excursion_counts_from():
    # Glare around a sled at rest (independent seeds 68643, 68371): a turn within two
    # deviations of a reading below the rest is noise around it, as beyond a far hold.
    assert _dip_then_push(40.0).events == []


def test_a_turn_below_the_rest_by_more_than_the_noise_is_where_the_excursion_counts_from():
    # A sled held off its stops and lowered further before the push.
    sled = _dip_then_push(1.0)
    (got,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (got.t_start, got.rom_mm) == (1.375, 160.0)


def test_a_turn_below_the_rest_at_a_burst_the_gate_took_out_is_not_where_it_counts_from():
    # Independent seed 69304: a burst of six 40 mm beyond a sled at rest on a quiet
    # sensor, taken out by the gate only after the smoothed track had turned there.
    sled = _dip_then_push(1.0, bursts=[(1.125, 1.25)])
    assert sled.events == []


def test_a_hold_counts_at_its_level_as_the_sled_leaves_it():
    # A rep ends in a hold placed 25 mm up on arrival; the sled then settles to 0 before
    # the next push, which rises 130 mm: short of 121.5 mm from 25, a rep from 0.
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 200.0, 2.5, turn_until=2.625)
    sled.move(2.625, 25.0, 3.25)
    assert len([e for e in sled.events if isinstance(e, Rep)]) == 1
    sled.level = 0.0  # where the hold ended up
    sled.move(4.0, 130.0, 4.5, turn_until=4.625)
    sled.move(4.625, 0.0, 5.25)
    reps = [e for e in sled.events if isinstance(e, Rep)]
    assert [(r.rep, r.t_start, r.t_end, r.rom_mm) for r in reps] == [
        (1, 2.0, 3.25, 200.0),
        (2, 4.0, 5.25, 130.0),
    ]


def test_a_hold_that_only_wobbles_keeps_its_arrival_level():
    # Within the 2 % band (8 mm of 400) the arrival's level stands: the lowest stop so far.
    sled = Sled()
    sled.found(20.0)
    sled.move(1.0, 5.0, 1.5)
    sled.level = 11.0
    sled.move(2.0, 125.0, 2.5, turn_until=2.625)  # 120 mm above 5: short of 121.5
    sled.move(2.625, 5.0, 3.25)
    assert sled.events == []
    assert sled.watch == ("rise", 5.0, 121.5)


def _out_and_halfway_back(sled: Sled) -> None:
    sled.found(0.0)
    sled.move(2.0, 360.0, 2.5, turn_until=2.625)
    sled.move(2.625, 200.0, 3.25)  # a stop at half the ROM: pause or end?


OUT_AND_HALFWAY = [
    PhaseChanged(2.0, "concentric"),
    PhaseChanged(2.5, "top_pause"),
    PhaseChanged(2.625, "eccentric"),
]


def _ended_at_the_halfway_stop(t_confirmed: float) -> Rep:
    """The rep of `_out_and_halfway_back` when its way back ended at the stop halfway."""
    return rep(
        1,
        (2.0, 2.5, 2.625, 3.25),
        360.0,
        eccentric_score=21,
        flags=("fast_eccentric",),
        t_confirmed=t_confirmed,
    )


def test_a_stop_away_from_the_start_side_that_lasts_ends_the_rep_there():
    sled = Sled()
    _out_and_halfway_back(sled)
    assert sled.events == OUT_AND_HALFWAY  # not known yet
    sled.machine.now = 4.75
    sled.machine.hold_lasted()  # the segmenter: it has lasted STALL_MAX_S
    assert sled.events == [
        *OUT_AND_HALFWAY,
        _ended_at_the_halfway_stop(t_confirmed=4.75),
        PhaseChanged(3.25, "bottom_pause"),
    ]


def test_a_stop_away_from_the_start_side_that_goes_on_the_same_way_is_a_pause():
    sled = Sled()
    _out_and_halfway_back(sled)
    sled.move(4.0, 0.0, 4.5, stall=(0.75, 200.0))  # the way back, merged across the pause
    assert sled.events == [
        *OUT_AND_HALFWAY,
        rep(
            1,
            (2.0, 2.5, 2.625, 4.5),
            360.0,
            eccentric_score=63,  # 1.875 s of 3 s
            flags=("fast_eccentric",),
            stall_s=0.75,
            stall_fraction=0.5,
        ),
        PhaseChanged(4.5, "bottom_pause"),
    ]


def test_a_stop_away_from_the_start_side_then_a_push_ends_the_rep_at_the_stop():
    sled = Sled()
    _out_and_halfway_back(sled)
    sled.move(4.0, 300.0, 4.5)  # the lifter pushes from halfway
    assert sled.events == [
        *OUT_AND_HALFWAY,
        _ended_at_the_halfway_stop(t_confirmed=4.0 + CONFIRM_S),
        PhaseChanged(3.25, "bottom_pause"),
        PhaseChanged(4.0, "concentric"),  # within the set, every movement out is shown
        PhaseChanged(4.5, "bottom_pause"),  # and every stop on the start side
    ]


def _two_reps(sled: Sled) -> list[Event]:
    sled.found(0.0)
    sled.move(2.0, 360.0, 2.5, turn_until=2.625)
    sled.move(2.625, 0.0, 3.25)
    sled.move(4.0, 360.0, 4.75, turn_until=4.875)
    sled.move(4.875, 0.0, 5.5)
    first = rep(1, (2.0, 2.5, 2.625, 3.25), 360.0, eccentric_score=21, flags=("fast_eccentric",))
    second = rep(
        2,
        (4.0, 4.75, 4.875, 5.5),
        360.0,
        bottom_pause_s=0.75,
        eccentric_score=21,
        flags=("fast_eccentric",),
    )
    return [
        PhaseChanged(2.0, "concentric"),
        PhaseChanged(2.5, "top_pause"),
        PhaseChanged(2.625, "eccentric"),
        first,
        PhaseChanged(3.25, "bottom_pause"),
        PhaseChanged(4.0, "concentric"),
        PhaseChanged(4.75, "top_pause"),
        PhaseChanged(4.875, "eccentric"),
        second,
        PhaseChanged(5.5, "bottom_pause"),
    ]


def test_the_set_closes_after_the_rest():
    sled = Sled()
    want = _two_reps(sled)
    assert sled.events == want
    m = sled.machine
    assert m.rest_from == 5.5  # the engine tests now - rest_from >= rest_s per sample
    first, second = want[3], want[8]
    assert isinstance(first, Rep) and isinstance(second, Rep)
    m.rest_over(13.5, moving_since=13.0)  # a movement began during the rest: wait
    assert sled.events == want
    m.rest_over(14.0, moving_since=None)
    v1, v2 = first.mean_concentric_velocity_m_s, second.mean_concentric_velocity_m_s
    assert sled.events[len(want) :] == [
        SetDone(
            set=1,
            reps=2,
            t_start=2.0,
            t_end=5.5,
            mean_eccentric_s=0.625,
            time_under_tension_s=1.25 + 1.5,
            mean_concentric_velocity_m_s=(v1 + v2) / 2,
            best_concentric_velocity_m_s=v1,
            last_concentric_velocity_m_s=v2,
            velocity_loss_pct=100.0 * (v1 - v2) / v1,
            reason="rest",
        ),
        PhaseChanged(13.5, "rest"),  # backdated to the end of the rest: 8 s after 5.5
    ]
    assert m.rest_from == math.inf
    assert m.phase == "rest"


def test_a_rep_near_a_sensor_fault_has_unknown_times():
    sled = Sled(faults=[(1.0, 2.4)])  # no news until 0.1 s before the top
    sled.found(0.0)
    sled.move(2.0, 360.0, 2.5, turn_until=2.625)
    sled.move(2.625, 0.0, 3.25)
    reps = [e for e in sled.events if isinstance(e, Rep)]
    assert reps == [
        rep(1, (2.0, 2.5, 2.625, 3.25), 360.0, eccentric_score=21, flags=("times_unknown",))
    ]


def _hold_at_the_top_then_beyond(
    sled: Sled, beyond_mm: float, *, noise_mm: float = 40.0, dip: bool = False, hold: bool = False
) -> Rep:
    """A hold at 90 % of the ROM, noise of `noise_mm` from then on (glare), a stop
    `beyond_mm` beyond the hold (a turn, or a hold if `hold`; after a dip of 30 mm back if
    `dip`), and the way back: the rep."""
    sled.found(0.0)
    sled.move(2.0, 360.0, 2.5)
    sled.noise = noise_mm
    if dip:
        sled.move(3.0, 330.0, 3.25, turn_until=3.375)
    sled.move(3.375, 360.0 + beyond_mm, 3.5, turn_until=None if hold else 3.625)
    sled.move(3.625, 0.0, 4.5)
    (got,) = [e for e in sled.events if isinstance(e, Rep)]
    return got


def test_a_turn_in_the_noise_around_a_far_hold_is_no_farther_turn():
    for dip in (False, True):
        got = _hold_at_the_top_then_beyond(Sled(), 30.0, dip=dip)
        assert (got.t_top, got.rom_mm, got.lockout) == (2.5, 360.0, "full")


def test_a_turn_beyond_a_far_hold_by_more_than_the_noise_is_the_far_point():
    got = _hold_at_the_top_then_beyond(Sled(), 90.0)  # over 2 x 40 mm
    assert (got.t_top, got.rom_mm, got.lockout) == (3.5, 450.0, "locked")


def test_a_turn_beyond_a_far_hold_at_a_burst_the_gate_took_out_is_not_the_far_point():
    # The burst's readings made the turn; the gate found they were a burst only after
    # the smoothed track had carried them to the segmenter.
    got = _hold_at_the_top_then_beyond(Sled(bursts=[(3.375, 3.625)]), 90.0)
    assert (got.t_top, got.rom_mm, got.lockout) == (2.5, 360.0, "full")


def test_a_hold_beyond_a_far_hold_is_the_far_point_however_noisy():
    # The sled pressed on after stopping (a sticking point) and held at lockout.
    got = _hold_at_the_top_then_beyond(Sled(), 30.0, hold=True)
    assert (got.t_top, got.rom_mm, got.lockout) == (3.5, 390.0, "locked")


def test_on_a_quiet_sensor_a_turn_just_beyond_the_far_hold_is_the_far_point():
    got = _hold_at_the_top_then_beyond(Sled(), 30.0, noise_mm=1.0, dip=True)
    assert (got.t_top, got.rom_mm, got.lockout) == (3.5, 390.0, "locked")


def test_a_turn_the_readings_since_the_far_hold_do_not_show_is_no_farther_turn():
    # Glare just begun: the running noise estimate still 10 mm, so a turn 30 mm beyond the
    # hold passes two deviations of it; the readings since the sled left the hold lie
    # around it (their median 2 mm beyond, 25 mm apart, 11 of them): a turn of the noise
    # (accuracy seed 1052980: a 0.6 s hold at lockout, glare from its end, a full rep
    # read locked).
    sled = Sled(readings=(362.0, 25.0, 11))
    got = _hold_at_the_top_then_beyond(sled, 30.0, noise_mm=10.0)
    assert (got.t_top, got.rom_mm, got.lockout) == (2.5, 360.0, "full")
    assert sled.asked == [(3.375, 3.5 + CONFIRM_S)]  # from leaving the hold to now
    # Readings that went out with the turn (median 15 mm beyond, more than two standard
    # errors of it) make it the far point; so do too few to tell.
    for readings in ((375.0, 5.0, 11), None):
        got = _hold_at_the_top_then_beyond(Sled(readings=readings), 30.0, noise_mm=10.0)
        assert (got.t_top, got.rom_mm, got.lockout) == (3.5, 390.0, "locked")


def test_ending_the_set_finishes_a_rep_on_its_way_back_at_its_extreme():
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 360.0, 2.5, turn_until=2.625)
    m = sled.machine
    m.started(-1, 2.625, 360.0)
    m.fell(Movement(2.625, 360.0, PEAK), 360.0)  # 30 % back, still moving
    assert m.coming_back
    extreme = Stop(FORCED, -1, 3.125, 40.0, None, PEAK, NO_STALL)
    m.now = 3.25  # the engine's end_set(3.25)
    m.close_set(3.25, "ended", extreme, 40.0)
    got = rep(
        1,
        (2.0, 2.5, 2.625, 3.125),
        360.0,
        eccentric_score=17,  # 0.5 s of 3 s
        flags=("fast_eccentric",),
        t_confirmed=3.25,
    )
    assert sled.events[3:] == [
        got,
        SetDone(
            set=1,
            reps=1,
            t_start=2.0,
            t_end=3.125,
            mean_eccentric_s=0.5,
            time_under_tension_s=1.125,
            mean_concentric_velocity_m_s=got.mean_concentric_velocity_m_s,
            best_concentric_velocity_m_s=got.mean_concentric_velocity_m_s,
            last_concentric_velocity_m_s=got.mean_concentric_velocity_m_s,
            velocity_loss_pct=0.0,
            reason="ended",
        ),
        PhaseChanged(3.25, "rest"),
    ]
    assert not m.coming_back


def test_a_rep_under_way_when_the_sensor_is_lost_is_dropped():
    sled = Sled()
    want = _two_reps(sled)
    sled.move(7.0, 360.0, 7.5, turn_until=7.625)
    m = sled.machine
    m.now = 9.0
    m.sensor_lost()
    assert sled.events[len(want) :] == [
        PhaseChanged(7.0, "concentric"),
        PhaseChanged(7.5, "top_pause"),
        PhaseChanged(9.0, "bottom_pause"),
    ]
    assert m.rest_from == 5.5  # the set goes on: its rest counts from the last rep


def test_a_far_arrival_placed_again_is_the_reps_top_but_not_the_live_phase():
    """The segmenter places a far hold's arrival again once the sled leaves it (the raw
    readings of the whole hold): the rep takes the new time; the phase change already
    sent keeps the first."""
    placed_again = Sled()
    placed_again.found(0.0)
    placed_again.move(2.0, 140.0, 2.5)
    placed_again.machine.arrival_placed(2.5, 2.5625, 140.0)
    placed_again.move(2.75, 0.0, 3.25)
    first_known = Sled()
    first_known.found(0.0)
    first_known.move(2.0, 140.0, 2.5625)
    first_known.move(2.75, 0.0, 3.25)
    assert placed_again.events == [
        PhaseChanged(2.5, "top_pause") if e == PhaseChanged(2.5625, "top_pause") else e
        for e in first_known.events
    ]
    (rep_,) = [e for e in placed_again.events if isinstance(e, Rep)]
    assert rep_.t_top == 2.5625


def test_an_arrival_placed_again_of_a_stop_that_is_not_the_far_one_changes_nothing():
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 140.0, 2.5)
    sled.machine.arrival_placed(2.25, 2.3125, 140.0)  # no stop arrived then
    sled.move(2.75, 0.0, 3.25)
    reference = Sled()
    reference.found(0.0)
    reference.move(2.0, 140.0, 2.5)
    reference.move(2.75, 0.0, 3.25)
    assert sled.events == reference.events


def test_a_far_hold_counts_at_its_level_as_the_sled_leaves_it():
    # Confirmed at 392 mm (0.98 of the ROM: locked), the hold's level over all of it was
    # 360 mm (glare swung the few samples seen on arrival): the rep is full, at 360 mm.
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 392.0, 2.5)
    sled.level = 360.0  # where the segmenter's running mean ended up
    sled.move(3.5, 0.0, 4.25)
    (got,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (got.t_top, got.t_ecc, got.rom_mm, got.lockout) == (2.5, 3.5, 360.0, "full")


def test_a_far_turn_keeps_its_level_whatever_the_sled_leaves_from():
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 392.0, 2.5, turn_until=2.625)
    sled.level = 360.0
    sled.move(2.625, 0.0, 3.25)
    (got,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (got.rom_mm, got.lockout) == (392.0, "locked")


def test_only_the_far_hold_takes_its_leaving_level():
    # A hold nearer than the far one (a pause on the way out that the sled left
    # backwards, then another push) changes nothing about the far point.
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 392.0, 2.5)
    sled.move(3.0, 300.0, 3.25)  # back 92 mm: short of the 30 % that ends the rep
    sled.level = 250.0
    sled.move(4.0, 0.0, 4.75)
    (got,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (got.t_top, got.rom_mm, got.lockout) == (2.5, 392.0, "locked")


TOP = EngineSettings(bottom_mm=100, lockout_mm=500, start="top")  # ROM 400 mm


def _pushed_back_to(end_mm: float) -> Sled:
    """From the top (0) down to the bottom (400 mm) and pushed back to `end_mm` from the
    top, where the rep ends at 5.25 s in a hold that the still window put at `end_mm`."""
    sled = Sled(TOP)
    sled.found(0.0)
    sled.move(1.0, 400.0, 4.0)  # a 3 s lowering: not fast
    sled.move(4.5, end_mm, 5.25)
    return sled


def test_from_the_top_the_whole_hold_reads_the_lockout_again() -> None:
    """The rep ends at lockout: the still window's median said 8 mm short of it (0.98 of the
    ROM: locked knees); the readings of the whole hold say 20 mm (0.95: a full rep)."""
    sled = _pushed_back_to(8.0)
    (first,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (first.lockout, first.flags, first.rom_mm) == ("locked", ("locked_knees",), 392.0)
    sled.machine.now = 6.5
    sled.machine.arrival_placed(5.25, 5.25, 20.0)  # the end did not move, the level did
    travel = 380.0 - 2.0 * 8.0
    assert sled.events[-1] == RepRevised(
        rep=replace(
            first,
            rom_mm=380.0,
            rom_fraction=0.95,
            lockout="full",
            flags=(),
            mean_concentric_velocity_m_s=travel / first.concentric_s / 1000.0,
        ),
        t_revised=6.5,
    )


def test_from_the_top_a_hold_that_reads_the_same_verdict_and_end_revises_nothing() -> None:
    sled = _pushed_back_to(8.0)
    sled.machine.arrival_placed(5.25, 5.25 + 0.5 * REVISION_MIN_S, 6.0)
    assert not [e for e in sled.events if isinstance(e, RepRevised)]


def test_from_the_top_an_end_placed_again_takes_the_holds_rom_with_it() -> None:
    sled = _pushed_back_to(8.0)
    (first,) = [e for e in sled.events if isinstance(e, Rep)]
    sled.machine.arrival_placed(5.25, 5.375, 6.0)
    (revised,) = [e.rep for e in sled.events if isinstance(e, RepRevised)]
    assert (revised.t_end, revised.concentric_s) == (5.375, first.concentric_s + 0.125)
    assert (revised.rom_mm, revised.lockout) == (394.0, "locked")


def test_from_the_bottom_the_hold_after_the_rep_reads_no_lockout() -> None:
    """Starting at the bottom, the hold after the rep is the start side's: the lockout was
    read on the far stop, and an end that did not move revises nothing."""
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 392.0, 2.5)
    sled.move(3.0, 0.0, 4.0)
    sled.machine.arrival_placed(4.0, 4.0, 30.0)
    assert not [e for e in sled.events if isinstance(e, RepRevised)]


def test_from_the_top_an_end_turned_at_a_burst_is_where_the_readings_came_back_to() -> None:
    # Accuracy seed 1053728 (25 Hz): the concentric came out of 0.3 s out of range, and a
    # burst of four 120 mm beyond lockout came in with its first readings; the way back
    # turned there, 37 mm beyond the top (1.09 of the ROM: locked). The gate took the
    # burst out after the smoothed track had carried it; the readings since the turn have
    # their median 36 mm short of the top (0.91: a full rep, as the sled did).
    sled = Sled(TOP, bursts=[(5.0, 5.5)], readings=(36.0, 5.0, 20))
    sled.found(0.0)
    sled.move(1.0, 400.0, 4.0)
    sled.move(4.5, -37.0, 5.25, turn_until=5.375)
    (rep,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (rep.t_end, rep.rom_mm, rep.lockout) == (5.25, 364.0, "full")
    assert sled.asked == [(5.25, 5.25 + CONFIRM_S)]
    # without a burst there, the turn is the sled's: beyond the top, locked
    sled = Sled(TOP, readings=(36.0, 5.0, 20))
    sled.found(0.0)
    sled.move(1.0, 400.0, 4.0)
    sled.move(4.5, -37.0, 5.25, turn_until=5.375)
    (rep,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (rep.rom_mm, rep.lockout) == (437.0, "locked")


def test_from_the_bottom_an_end_hold_that_was_a_bounce_revises_the_rep_with_the_flag() -> None:
    """The segmenter found the hold a rep ended in to be a bounce (`hold_was_turn`): the rep
    is revised with its end at the bounce's arrival and the flag; the next rep's start-side
    pause counts from there."""
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 392.0, 2.5, turn_until=2.625)
    sled.move(2.625, 0.0, 4.0)
    (first,) = [e for e in sled.events if isinstance(e, Rep)]
    assert "bounce" not in first.flags
    sled.machine.now = 4.5
    sled.machine.hold_was_turn(4.0, -2.0, 4.0625, 4.1875)
    (revised,) = [e.rep for e in sled.events if isinstance(e, RepRevised)]
    assert (revised.t_end, revised.eccentric_s) == (4.0625, first.eccentric_s + 0.0625)
    assert "bounce" in revised.flags
    sled.move(4.1875, 392.0, 4.6875, turn_until=4.8125)
    sled.move(4.8125, 0.0, 6.0)
    second = [e for e in sled.events if isinstance(e, Rep)][-1]
    assert second.bottom_pause_s == 4.1875 - 4.0625


def test_from_the_bottom_a_bounce_where_the_end_did_not_move_is_still_a_revision() -> None:
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 392.0, 2.5, turn_until=2.625)
    sled.move(2.625, 0.0, 4.0)
    sled.machine.hold_was_turn(4.0, 0.0, 4.0 + 0.5 * REVISION_MIN_S, 4.125)
    (revised,) = [e.rep for e in sled.events if isinstance(e, RepRevised)]
    assert (revised.t_end, "bounce" in revised.flags) == (4.0, True)


def test_a_hold_that_was_a_bounce_of_no_rep_changes_nothing() -> None:
    # (no rep ended at that hold: the stop that arrived then was not the end of one)
    sled = Sled()
    sled.found(0.0)
    sled.move(2.0, 392.0, 2.5, turn_until=2.625)
    sled.move(2.625, 0.0, 4.0)
    before = list(sled.events)
    sled.machine.hold_was_turn(3.5, 0.0, 3.5625, 3.625)
    assert sled.events == before


def test_from_the_top_a_far_hold_that_was_a_bounce_is_the_reps_bottom_turn() -> None:
    """The far hold at the bottom was a bounce: the rep's bottom pause is the bounce's time
    in the band, and it is flagged."""
    sled = Sled(TOP)
    sled.found(0.0)
    sled.move(1.0, 400.0, 4.0)  # a 3 s lowering into a hold at the bottom
    sled.machine.hold_was_turn(4.0, 402.0, 4.0625, 4.1875)
    sled.move(4.1875, 0.0, 5.25)
    (got,) = [e for e in sled.events if isinstance(e, Rep)]
    assert (got.eccentric_s, got.bottom_pause_s) == (3.0625, 0.125)
    assert (got.rom_mm, "bounce" in got.flags) == (402.0, True)
