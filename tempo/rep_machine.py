"""The rep machine: movements and stops in, reps, sets and the live phase out (docs/engine.md,
"Reps", "Sets", "Live phase", "Sensor faults inside a rep").

It is the segmenter's listener (`tempo.segmenter.Listener`) and sees only what that
interface carries: `found`, `started`, `stopped` (a `Stop`), `hold_lasted`, and `rose` and
`fell` from the excursion watch it arms on the segmenter (`ExcursionWatch`). An excursion
of REP_FRACTION of the range of motion (plus REP_NOISE deviations) away from the start
side is a rep under way; coming back by as much, the next stop ends it, and the rep is
emitted then. A stop on the way back that is away from the start side is held as a
pending end until the next movement or `hold_lasted` tells a pause from the end.

The engine feeds it more: the time of the sample being fed (`now`, the
`t_confirmed` of a rep), the list its events go to (`events`), the sensor faults it
noted (a callable), so that a rep with a boundary near one carries `times_unknown`, and
the reading noise now (a callable), so that noise around a far hold is not taken for a
farther turn; three questions to the filter about the readings themselves (whether a
burst it took out lay at a turn, how far the readings kept went without it, whether the
readings reached a level at all), so that a rep that wrong readings made is dropped; and
it asks it to close a set (`close_set`, `rest_over`) or to drop a rep after a sensor fault
(`sensor_lost`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final, Protocol

from tempo.events import (
    BOUNCE,
    TIMES_UNKNOWN,
    Event,
    Phase,
    PhaseChanged,
    Rep,
    RepRevised,
    SetDone,
)
from tempo.scoring import BOUNCE_MAX_S, eccentric_score, lockout_verdict, rep_flags, set_summary
from tempo.segmenter import (
    BOUNDARY_FRACTION,
    FORCED,
    HOLD,
    START_ZONE_FRACTION,
    TURN,
    Movement,
    Stall,
    Stop,
    StopKind,
)
from tempo.settings import EngineSettings

REP_FRACTION: Final = 0.30  # smallest excursion (out and back) that is a rep
REP_NOISE: Final = 1.5  # ... plus this many noise deviations, so noise alone never completes one
# ... and a rep that came back this much of its way out ended where it stopped, even away
# from the start side (a calibration a little off, a rep started from higher up)
RETURN_FRACTION: Final = 0.85
FAULT_MARGIN_S: Final = 0.15  # a boundary this close to a sensor fault was not seen either
# A turn beyond a hold by no more than this many deviations of a reading is noise around
# the hold (glare): not a farther turn than a far hold, nor a lower start than the rest.
HOLD_NOISE: Final = 2.0
# A rep's end placed again (`arrival_placed`) by less than this (half a sample at 50 Hz) is
# not worth a second message (unless its lockout verdict changes with it).
REVISION_MIN_S: Final = 0.01

NO_STALL: Stall = (0.0, None)

_LOW = 0  # near the start side, no excursion yet
_OUT = 1  # an excursion of 30 % is under way
_BACK = 2  # it came back by 30 %: the next stop ends the rep

SensorFaults = Callable[[float], Sequence[tuple[float, float]]]
"""The sensor faults known at a time (intervals without news from the sensor), oldest first."""

ReadingNoise = Callable[[], float]
"""The deviation of a reading now, mm (the larger of the filter's two estimates)."""


class ReadingsReached(Protocol):
    """Whether every valid reading between two times, as a running median no burst moves,
    went out to a level and that many deviations of their own noise beyond
    (`RobustFilter.readings_reached`); None where they are not all kept."""

    def __call__(
        self, level: float, t_from: float, t_turn: float, t_to: float, *, deviations: float
    ) -> bool | None: ...


ReachWithoutBurst = Callable[[float, float, float], "float | None"]
"""How far out (mm) the readings kept from a rep's start to now went, where a burst the
gate took out late lay at its far turn (`RobustFilter.reach_without_burst`); else None."""

AtBurst = Callable[[float], bool]
"""Whether a burst the gate took out late lay at a turn at this time
(`RobustFilter.at_burst`)."""

ReadingsAbout = Callable[[float, float], "tuple[float, float, int] | None"]
"""The median, deviation and number of the valid readings between two times, bursts the
gate took out left out (`RobustFilter.readings_about`); None when too few."""


class ExcursionWatch(Protocol):
    """What the rep machine arms on the segmenter, so its per-sample test costs no call."""

    def watch_rise(self, ref: float, margin_mm: float, margin_noise: float) -> None: ...

    def watch_fall(
        self, high: float, floor: float, margin_mm: float, margin_noise: float
    ) -> None: ...

    def watch_arrival(self, t_arrive: float) -> None: ...


def _no_faults(now: float) -> Sequence[tuple[float, float]]:
    return ()


def _no_noise() -> float:
    return 0.0


def _no_burst(t_from: float, t_turn: float, t_to: float) -> float | None:
    return None


def _no_readings(
    level: float, t_from: float, t_turn: float, t_to: float, *, deviations: float
) -> bool | None:
    return None


def _never_at_burst(t_turn: float) -> bool:
    return False


def _no_readings_about(t_lo: float, t_hi: float) -> tuple[float, float, int] | None:
    return None


class RepMachine:
    """Movements and stops in, events out; it never sees a sample (its watch does)."""

    def __init__(
        self,
        settings: EngineSettings,
        watch: ExcursionWatch,
        sensor_faults: SensorFaults = _no_faults,
        reading_noise: ReadingNoise = _no_noise,
        reach_without_burst: ReachWithoutBurst = _no_burst,
        *,
        at_burst: AtBurst = _never_at_burst,
        readings_reached: ReadingsReached = _no_readings,
        readings_about: ReadingsAbout = _no_readings_about,
    ) -> None:
        self._s = settings
        rom = settings.rom_mm
        self._rom = rom
        if settings.start == "bottom":
            self._names: tuple[Phase, Phase, Phase, Phase] = (
                "concentric",
                "top_pause",
                "eccentric",
                "bottom_pause",
            )
        else:
            self._names = ("eccentric", "bottom_pause", "concentric", "top_pause")
        self._band = BOUNDARY_FRACTION * rom
        self._rep_mm = REP_FRACTION * rom
        self._watch = watch
        self._sensor_faults = sensor_faults
        self._reading_noise = reading_noise
        self._reach_without_burst = reach_without_burst
        self._at_burst = at_burst
        self._readings_reached = readings_reached
        self._readings_about = readings_about
        self.events: list[Event] = []
        """Where emitted events go; the engine hands it a fresh list for every sample."""
        self.now = 0.0
        """Time of the sample being fed: a rep's `t_confirmed`."""
        self.rest_from = math.inf
        """While a set is open and no rep is under way, the last rep's end; else infinity.
        (One number, so the engine's per-sample test of the rest is one subtraction.)"""
        self._state = _LOW
        self._base = 0.0  # the lowest stop since the last rep (hold level or turning point)
        # The last hold near the start side, as its arrival placed it, and the base before
        # it: a sled that settles after arriving leaves from elsewhere (`started`).
        self._hold_level: float | None = None
        self._base_before = math.inf
        self._high = 0.0  # the highest point of the excursion, once it is on its way back
        self._rep_t0 = 0.0
        self._rise_from = 0.0  # the base the rise that made it a rep was measured from
        self._rise_in_readings = False  # ... or the readings' rise in glare made it one
        self._rep_from = 0.0
        self._far: tuple[float, float, StopKind, float] | None = None  # level, t, kind, band
        self._last_far_level = 0.0  # of the rep just emitted, for its revision's ROM
        self._at_far = False  # the sled is at the far stop (no stop since it arrived there)
        self._far_left = 0.0  # when the sled last left a far hold
        self._out_peak = 0.0
        self._out_stall = NO_STALL
        self._back_t0 = 0.0
        self._pending_end: Stop | None = None  # a way back that stopped away from the start
        self._set_no = 0
        self._set_open = False
        self._set_reps: list[Rep] = []
        self._last_end = 0.0
        self._phase: Phase = "rest"
        self._phase_t = -math.inf

    @property
    def phase(self) -> Phase:
        """Current phase as last confirmed (for the live state topic)."""
        return self._phase

    @property
    def coming_back(self) -> bool:
        """A rep is on its way back and its end is not known yet (see `close_set`)."""
        return self._state == _BACK and self._pending_end is None

    # ------------------------------------------------------------------ from the segmenter

    def found(self, level: float) -> None:
        self._base = level
        self._hold_level = None
        if self._state == _LOW:
            self._arm_rise()

    def started(self, way: int, t_start: float, level: float) -> None:
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            if pending.way != way:  # the same way: a pause on the way back, not its end
                self._end_pending(pending)
        st = self._state
        arrived = self._hold_level
        self._hold_level = None
        if st == _LOW and way > 0 and arrived is not None and abs(level - arrived) > self._band:
            # The hold's level over all of it, not as it looked on arrival (a sled that
            # settled lower after a rep, a dip that was noise): the 30 % count from there.
            self._base = min(self._base_before, level)
            self._arm_rise()
        out_phase, _, back_phase, _ = self._names
        far = self._far
        if st == _OUT and self._at_far and far is not None and far[2] == HOLD:
            # The far hold's level over all of it, now the sled leaves it: on arrival it
            # was the mean of a few samples, which glare can put a tenth of the ROM off.
            self._far = (level, far[1], far[2], far[3])
            self._far_left = t_start
        self._at_far = False
        deadline = self.rest_from + self._s.rest_s  # (inf unless a set's rest is running)
        if st == _LOW and way > 0 and t_start >= deadline:
            # The rest was over before this movement began; the engine decides on it only
            # REST_GRACE_S later (a movement begun before then may still become a rep of
            # the set), and this one is seen first: the set ended at the deadline.
            self._finish_set(deadline, "rest")
        if st == _OUT:
            self._set_phase(out_phase if way > 0 else back_phase, t_start)
        elif st == _LOW and self._set_open and way > 0:
            self._set_phase(out_phase, t_start)

    def stopped(self, stop: Stop) -> None:
        st = self._state
        _, far_pause, _, start_pause = self._names
        kind, way, t_arrive, level, t_depart, peak, stall = stop
        if st == _OUT:
            if way > 0 and peak > self._out_peak:
                self._out_peak = peak
            far = self._far
            # (a turn at a burst the gate took out late is the burst's, not the sled's)
            if far is None or (
                level > far[0]
                and not self._noise_beyond(far, kind, level)
                and not (kind == TURN and self._at_burst(t_arrive))
            ):
                band = (t_depart - t_arrive) if t_depart is not None else 1e9
                self._far = (level, t_arrive, kind, band)
                self._far_left = t_arrive  # (until the sled leaves it, if a hold)
                self._out_stall = stall
                self._at_far = True
            elif far[1] != t_arrive:  # (the same hold again: its departure was noise)
                self._at_far = False
            self._set_phase(far_pause, t_arrive)
        elif st == _BACK:
            if kind == TURN and self._at_burst(t_arrive):
                # The way back turned at a burst the gate took out late, beyond where the
                # sled came back to: its level is the sled's own readings' since then (their
                # median, the burst's left out).
                about = self._readings_about(t_arrive, self.now)
                if about is not None and about[0] > level:
                    level = about[0]
                    stop = stop._replace(level=level)
            back = self._high - level
            if (
                kind == HOLD
                and level >= START_ZONE_FRACTION * self._rom
                and back < RETURN_FRACTION * (self._high - self._rep_from)
            ):
                # Stopped away from the start side: a pause on the way back (the rep goes
                # on the same way) or the end of the rep; STALL_MAX_S or the next
                # movement tells which.
                self._pending_end = stop
                return
            self._emit_rep(stop)
            self._set_phase(start_pause, t_arrive)
        else:
            self._base_before = self._base
            self._hold_level = level if kind == HOLD else None
            # A turn in the noise below where the sled rests is glare around it, and one
            # at a burst the gate took out late is the burst's: counted from, either let
            # a foot adjustment of 16-20 % reach 30 % (independent seeds 68643, 69304).
            if kind == HOLD or (
                self._base - level > HOLD_NOISE * self._reading_noise()
                and not self._at_burst(t_arrive)
            ):
                self._base = min(self._base, level)
            self._arm_rise()
            if self._set_open:
                self._set_phase(start_pause, t_arrive)

    def hold_lasted(self) -> None:
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            self._end_pending(pending)

    def arrival_placed(self, t_was: float, t_now: float, level: float) -> None:
        """A hold's arrival placed again on the readings of the hold (the live phase change
        already sent keeps its time): the far stop's, as the sled leaves it (a stop on the
        way back is decided as the sled leaves it, before this comes), or the end of the
        rep just emitted, which is revised."""
        far = self._far
        if self._state == _OUT and far is not None and far[1] == t_was:
            self._far = (far[0], t_now, far[2], far[3])
        elif (last := self._rep_ended_at(t_was)) is not None:
            self._revise_end(last, t_now, level)

    def hold_was_turn(self, t_was: float, level: float, t_arrive: float, t_depart: float) -> None:
        """A hold at the bottom was a bounce after all: from the top the far one, whose band
        decides the flag when the rep ends; from the bottom the end of the rep just
        emitted, which is revised with the flag (the buzzer stays silent: it was sent)."""
        far = self._far
        if self._state == _OUT and far is not None and far[1] == t_was and far[2] == HOLD:
            self._far = (level, t_arrive, TURN, t_depart - t_arrive)
            self._far_left = t_arrive
        elif (last := self._rep_ended_at(t_was)) is not None:
            self._revise_end(last, t_arrive, level, bounce=t_depart - t_arrive < BOUNCE_MAX_S)

    def _rep_ended_at(self, t_was: float) -> Rep | None:
        """The rep just emitted, if it ended at the stop the sled reached at `t_was` and may
        still be revised: the latest, its times known, the sled not yet 30 % out again."""
        if self._state != _LOW or not self._set_reps:
            return None
        last = self._set_reps[-1]
        return last if last.t_end == t_was and TIMES_UNKNOWN not in last.flags else None

    def rose(self, move: Movement, y: float) -> None:
        """30 % out: a rep is under way, from the start of the movement that got there."""
        self._state = _OUT
        self._rise_from = self._base
        self.rest_from = math.inf
        self._rep_t0 = move.t_start
        self._rep_from = move.level_from
        self._rise_in_readings = move.in_readings
        self._far = None
        self._at_far = False
        self._out_stall = NO_STALL
        self._out_peak = move.peak_speed
        if self._set_open and self._last_end > self._rep_t0:
            self._rep_t0 = self._last_end
        self._watch.watch_fall(y, self._rep_from, self._rep_mm, REP_NOISE)
        self._set_phase(self._names[0], self._rep_t0)

    def fell(self, move: Movement, high: float) -> None:
        """30 % back: the next stop ends the rep; its way back began with this movement."""
        self._state = _BACK
        self._back_t0 = move.t_start
        self._high = high

    # ------------------------------------------------------------------ from the engine

    def sensor_lost(self) -> None:
        """No reading for longer than a glitch: a rep in progress is dropped, not completed
        with made-up times (a pending end was seen, and stands)."""
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            self._end_pending(pending)
        if self._state != _LOW:
            self._far = None
            self._to_low()
            if self._set_open:
                self._set_phase(self._names[3], self.now)

    def close_set(self, t: float, reason: str, at_extreme: Stop | None, y: float | None) -> None:
        """Close the set now; a rep on its way back ends at the pending stop or, if it was
        still moving (`coming_back`), at `at_extreme`. `y` is where the sled is."""
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            self._end_pending(pending)
        elif self._state == _BACK and at_extreme is not None:
            self._emit_rep(at_extreme)
        self._far = None
        if y is not None:
            self._base = y
            self._hold_level = None
        self._to_low()
        if self._set_open:
            self._finish_set(t, reason)

    def rest_over(self, t: float, moving_since: float | None) -> None:
        """The sled rested rest_s after the last rep: the set is done, unless a movement
        that began during the rest (`moving_since`) may still become a rep."""
        deadline = self._last_end + self._s.rest_s
        if moving_since is not None and moving_since < deadline:
            return  # wait to see whether it is a rep
        self._finish_set(min(t, deadline), "rest")  # the rest phase began at its deadline

    # ------------------------------------------------------------------ reps

    def _to_low(self) -> None:
        self._state = _LOW
        self._arm_rise()
        self.rest_from = self._last_end if self._set_open else math.inf

    def _arm_rise(self) -> None:
        self._watch.watch_rise(self._base, self._rep_mm, REP_NOISE)

    def _noise_beyond(
        self, far: tuple[float, float, StopKind, float], kind: StopKind, level: float
    ) -> bool:
        """Whether a stop of `kind` at `level`, beyond the far stop so far, is only the
        noise around it.

        Glare that begins while the sled holds at the far side swings the smoothed track
        by tens of millimetres, and a swing outwards ends in a turn beyond the hold, which
        would become the rep's far point (a full rep read locked). A hold's level averages
        many readings; a turn in that noise is one extreme of them. So a turn beyond a far
        hold by no more than HOLD_NOISE deviations of a reading leaves the hold as the
        far point. A hold beyond it (the sled pressed on after a sticking point and held
        at lockout) is farther, however little.

        The running noise estimates lag glare that has just begun, so a turn past that
        margin is judged on the readings since the sled left the hold too: unless their
        median lies beyond the hold by HOLD_NOISE standard errors (their own deviation,
        `readings_about`, over the root of their number), the turn is their noise.
        Accuracy seed 1052980 (20 Hz): glare from the end of a 0.6 s hold at 0.94 of the
        ROM, a turn 35 mm beyond it with the estimate at 9 mm (a full rep read locked);
        the eleven readings since, a deviation of 15 mm, had their median 5 mm beyond.
        """
        if far[2] != HOLD or kind != TURN:
            return False
        if level - far[0] <= HOLD_NOISE * self._reading_noise():
            return True
        about = self._readings_about(self._far_left, self.now)
        if about is None:
            return False
        median, deviation, n = about
        return median - far[0] <= HOLD_NOISE * deviation / math.sqrt(n)

    def _end_pending(self, pending: Stop) -> None:
        """The stop away from the start side was the end of the rep after all."""
        self._emit_rep(pending)
        self._set_phase(self._names[3], pending.t_arrive)

    def _unseen(self, *times: float) -> bool:
        """Whether a sensor fault hid one of these boundaries.

        A boundary inside a fault, or found just after one ended, was not seen: where the
        sled stopped or turned during the fault is unknown. A fault in the middle of a
        movement that goes on the same way hides no boundary.
        """
        for a, b in self._sensor_faults(self.now):
            for t in times:
                if a - FAULT_MARGIN_S <= t <= b + FAULT_MARGIN_S:
                    return True
        return False

    def _readings_stayed_short(self, t0: float, t_far: float) -> bool:
        """Whether the sled's own readings never went a rep's excursion out, whatever the
        smoothed track did: their running median over more readings than any burst has
        (`readings_reached`) stayed short of REP_FRACTION of the ROM plus REP_NOISE
        deviations of those readings' own noise (glare comes and goes within a rep: judged
        on the noise as the rep ended, tuning seed 31131 lost a rep whose glare began on its
        way back, and on the noise as it rose, independent 73724 one whose glare ended
        before its far hold) from where the rise was measured (the base, not the start of
        the movement that crossed: a slow lowering taken for a chain of holds crosses from
        the last of them, independent 73651), with no sensor fault since the rep began
        that could have hidden the far turn.

        Independent seed 72409: in glare of 30 mm on a 212 mm ROM the gate's tracker took a
        speed from the noise, held the sled's readings as off it and let in a burst of two
        and a spike beyond: the smoothed track went 0.48 of the ROM out for a foot moved
        0.16, a rep too many. Accuracy seed 1043296: a spike swung the gate's tracker, two
        bursts of four and five came in, a rep of 0.36 made of them.
        """
        out = self._rise_from + self._rep_mm
        reached = self._readings_reached(out, t0, t_far, self.now, deviations=REP_NOISE)
        if reached is not False:
            return False
        return not any(b >= t0 - FAULT_MARGIN_S for _, b in self._sensor_faults(self.now))

    def _emit_rep(self, stop: Stop) -> None:
        """The rep whose way back ended in `stop`."""
        kind, _, t_end, end_level, t_depart, peak, back_stall = stop
        s = self._s
        rom = self._rom
        far = self._far
        if far is None:  # cannot happen: coming back needs a turn first
            far = (self._high, self._back_t0, FORCED, 1e9)
        far_level, t_far, far_kind, far_band = far
        t0 = self._rep_t0
        reach = self._reach_without_burst(t0, t_far, self.now)
        if reach is not None and reach - self._rep_from < self._rep_mm:
            # The turn that made it a rep was a burst the gate took out only after the
            # smoothed track had carried it here; without it the sled never went 30 %
            # out: no rep (independent seed 65327).
            self._back_at_start(end_level, kind)
            return
        if not self._rise_in_readings and self._readings_stayed_short(t0, t_far):
            # No rep, so the lowest stop since the last one is still the base the rise
            # was measured from, unless the sled stopped lower (independent seed 74100:
            # a burst in a slow lowering made the excursion and was dropped; counted from
            # the stop in mid-lowering, the rest of it, 0.65 of the ROM, was no rep).
            self._back_at_start(end_level, kind)
            self._base = self._base_before = min(self._base, self._rise_from)
            self._arm_rise()
            return
        t_back = max(self._back_t0, t_far)
        t_end = max(t_end, t_back)
        prev_pause = (t0 - self._last_end) if self._set_open and self._set_reps else 0.0
        if s.start == "bottom":
            t_top, t_ecc = t_far, t_back
            concentric_s = t_far - t0
            top_pause_s = t_back - t_far
            eccentric_s = t_end - t_back
            bottom_pause_s = prev_pause
            rom_mm = far_level - self._rep_from
            lock_fraction = far_level / rom
            peak_v = self._out_peak
            bounce = kind == TURN and t_depart is not None and t_depart - t_end < BOUNCE_MAX_S
        else:
            t_top, t_ecc = t_end, t0
            eccentric_s = t_far - t0
            bottom_pause_s = t_back - t_far
            concentric_s = t_end - t_back
            top_pause_s = prev_pause
            rom_mm = far_level - end_level
            lock_fraction = 1.0 - end_level / rom
            peak_v = peak
            bounce = far_kind == TURN and far_band < BOUNCE_MAX_S
        rom_fraction = rom_mm / rom
        lockout = lockout_verdict(s, lock_fraction, rom_fraction)
        times_unknown = self._unseen(t0, t_far, t_back, t_end)
        out_stall = self._out_stall
        stall_s, stall_y = out_stall if out_stall[0] >= back_stall[0] else back_stall
        stall_fraction = None
        if stall_y is not None:
            stall_fraction = stall_y / rom if s.start == "bottom" else 1.0 - stall_y / rom
        mean_v = self._mean_velocity(rom_mm, concentric_s)
        if not self._set_open:
            self._set_open = True
            self._set_no += 1
            self._set_reps = []
        rep = Rep(
            set=self._set_no,
            rep=len(self._set_reps) + 1,
            t_start=t0,
            t_top=t_top,
            t_ecc=t_ecc,
            t_end=t_end,
            concentric_s=concentric_s,
            top_pause_s=top_pause_s,
            eccentric_s=eccentric_s,
            bottom_pause_s=bottom_pause_s,
            rom_mm=rom_mm,
            rom_fraction=rom_fraction,
            lockout=lockout,
            eccentric_score=eccentric_score(eccentric_s, s.target_eccentric_s),
            mean_concentric_velocity_m_s=mean_v,
            peak_concentric_velocity_m_s=max(peak_v, 0.0) / 1000.0,
            flags=rep_flags(s, lockout, eccentric_s, bounce, times_unknown),
            t_confirmed=self.now,
            stall_s=stall_s,
            stall_fraction=stall_fraction,
        )
        self._set_reps.append(rep)
        self._last_far_level = far_level
        self._last_end = t_end
        self._back_at_start(end_level, kind)
        self.events.append(rep)
        if kind == HOLD:
            self._watch.watch_arrival(stop.t_arrive)  # for `arrival_placed`: a revision

    def _revise_end(self, rep: Rep, t_end: float, level: float, *, bounce: bool = False) -> None:
        """The rep just emitted, with its end at `t_end` (`arrival_placed`).

        A lowering (or, from the top, a push) that creeps onto the stops is confirmed
        while the sled still creeps, and its end placed where the creep was then; the
        whole hold places it again, a tenth of a second later at the 95th percentile
        (docs/engine.md, "A rep's end placed again"): its phase's duration and what follows
        from it. From the top the rep ends at lockout, and the hold's `level` over those
        readings also reads the lockout verdict and the ROM again (the still window's
        median put them a few per cent off in glare): a revision even if the end did not
        move, when the verdict changes. From the bottom a rep whose end was found to be a
        bounce (`hold_was_turn`) is revised with the flag, whether its end moved or not.
        """
        s = self._s
        moved = abs(t_end - rep.t_end) >= REVISION_MIN_S
        if s.start == "bottom":
            was_bounce = BOUNCE in rep.flags
            bounce = bounce or was_bounce
            if not moved and bounce == was_bounce:
                return
            t_end = max(t_end, rep.t_ecc) if moved else rep.t_end
            eccentric_s = t_end - rep.t_ecc
            revised = replace(
                rep,
                t_end=t_end,
                eccentric_s=eccentric_s,
                eccentric_score=eccentric_score(eccentric_s, s.target_eccentric_s),
                flags=rep_flags(s, rep.lockout, eccentric_s, bounce),
            )
        else:
            rom = self._rom
            rom_mm = self._last_far_level - level
            lockout = lockout_verdict(s, 1.0 - level / rom, rom_mm / rom)
            if moved:
                t_back = rep.t_top - rep.concentric_s  # the rep ends at the top
                t_end = max(t_end, t_back)
                concentric_s = t_end - t_back
            elif lockout != rep.lockout:
                t_end, concentric_s = rep.t_end, rep.concentric_s
            else:
                return
            revised = replace(
                rep,
                t_top=t_end,
                t_end=t_end,
                concentric_s=concentric_s,
                rom_mm=rom_mm,
                rom_fraction=rom_mm / rom,
                lockout=lockout,
                flags=rep_flags(s, lockout, rep.eccentric_s, BOUNCE in rep.flags),
                mean_concentric_velocity_m_s=self._mean_velocity(rom_mm, concentric_s),
            )
        self._set_reps[-1] = revised
        self._last_end = t_end
        self.rest_from = t_end
        self.events.append(RepRevised(rep=revised, t_revised=self.now))

    def _mean_velocity(self, rom_mm: float, concentric_s: float) -> float:
        """Mean concentric velocity, m/s, over the travel between the 2 % boundaries."""
        travel = rom_mm - 2.0 * self._band
        return travel / concentric_s / 1000.0 if concentric_s > 0.0 and travel > 0.0 else 0.0

    def _back_at_start(self, end_level: float, kind: StopKind) -> None:
        """An excursion is over, with or without a rep: the next one counts from where it
        stopped."""
        self._base = end_level
        self._base_before = math.inf
        self._hold_level = end_level if kind == HOLD else None
        self._far = None
        self._to_low()

    # ------------------------------------------------------------------ sets and phases

    def _finish_set(self, t: float, reason: str) -> None:
        reps = self._set_reps
        summary = set_summary(reps)
        self.events.append(
            SetDone(
                set=self._set_no,
                reps=len(reps),
                t_start=reps[0].t_start if reps else t,
                t_end=reps[-1].t_end if reps else t,
                reason=reason,  # type: ignore[arg-type]
                **summary,
            )
        )
        self._set_open = False
        self._set_reps = []
        self.rest_from = math.inf
        self._set_phase("rest", t)

    def _set_phase(self, phase: Phase, t: float) -> None:
        if phase == self._phase:
            return
        t = max(t, self._phase_t)
        self._phase = phase
        self._phase_t = t
        self.events.append(PhaseChanged(t_s=t, phase=phase))
