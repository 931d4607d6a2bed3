"""The streaming tempo engine: distances in, phases, reps and sets out (docs/engine.md).

Everything happens in one coordinate, the excursion `p` in millimetres away from the start
side (0 at the start side, the calibrated range of motion at the far side), so the mounting
direction and the start side never appear in the logic below.

Two levels work on the smoothed track from `tempo.filters`:

* a segmenter (`tempo.segmenter`) cuts it into movements and stops (a turnaround, or a
  hold where the sled is still), detecting each with thresholds well above the noise and
  then backdating the boundaries to the 2 % convention by interpolation in a short ring
  buffer;
* a rep machine reads those movements: an excursion of at least 30 % of the range of
  motion away from the start side and back is a rep, emitted as soon as the stop that ends
  its last phase is confirmed.

Memory is bounded: a ring buffer of recent smoothed samples and the current set's reps.
"""

from __future__ import annotations

from tempo.events import Event, Phase, PhaseChanged, Rep, SetDone
from tempo.filters import RobustFilter
from tempo.scoring import BOUNCE_MAX_S, eccentric_score, lockout_verdict, rep_flags, set_summary
from tempo.segmenter import (
    BOUNDARY_FRACTION,
    FORCED,
    HOLD,
    START_ZONE_FRACTION,
    TURN,
    Movement,
    Segmenter,
    Stall,
    Stop,
    StopKind,
)
from tempo.settings import EngineSettings

# Readings outside [MIN_VALID_MM, OUT_OF_RANGE_MM) are missing samples, not distances:
# the VL53L0X reports 8190/8191 (and other codes) when it sees nothing, and collapses to a
# few millimetres when the signal fails.
MIN_VALID_MM = 20
OUT_OF_RANGE_MM = 8000

REP_FRACTION = 0.30  # smallest excursion (out and back) that is a rep
REP_NOISE = 1.5  # ... plus this many noise deviations, so noise alone never completes one
# ... and a rep that came back this much of its way out ended where it stopped, even away
# from the start side (a calibration a little off, a rep started from higher up)
RETURN_FRACTION = 0.85
FAULT_GAP_S = 2.0  # no valid reading this long is a fault: a rep in progress is dropped
# No news this long (no valid reading, or the same reading over and over from a sensor that
# is noisy when still: frozen) is a sensor fault: a rep it touches has unknown phase times.
FAULT_MIN_S = 0.5
FAULTS_KEPT = 8  # recent fault intervals remembered (bounded memory)
FAULT_MARGIN_S = 0.15  # a boundary this close to a fault was not seen either

NO_STALL: Stall = (0.0, None)

_LOW = 0  # rep machine: near the start side, no excursion yet
_OUT = 1  # an excursion of 30 % is under way
_BACK = 2  # it came back by 30 %: the next stop ends the rep


class TempoEngine:
    """Pure and deterministic: the same samples in give the same events out."""

    def __init__(self, settings: EngineSettings) -> None:
        self._s = settings
        rom = settings.rom_mm
        self._rom = rom
        if settings.start == "bottom":
            self._start_mm = settings.bottom_mm
            self._sign = float(settings.direction)
            self._names: tuple[Phase, Phase, Phase, Phase] = (
                "concentric",
                "top_pause",
                "eccentric",
                "bottom_pause",
            )
        else:
            self._start_mm = settings.lockout_mm
            self._sign = float(-settings.direction)
            self._names = ("eccentric", "bottom_pause", "concentric", "top_pause")
        self._band = BOUNDARY_FRACTION * rom
        self._rep_mm = REP_FRACTION * rom
        self._filter = RobustFilter(gate_base_mm=max(40.0, 0.12 * rom))
        self._smooth = self._filter.smoother
        self._seg = Segmenter(rom, self._filter)
        self._seg.listener = self
        self._step = self._seg.step
        self._last_valid_t = 0.0
        self._news_t = 0.0  # last reading that said something new
        self._last_reading: int | None = None
        self._faults: list[tuple[float, float]] = []
        # a rep whose way back stopped away from the start side
        self._pending_end: Stop | None = None
        self._out_stall = NO_STALL
        # rep machine
        self._state = _LOW
        self._base = 0.0
        self._high = 0.0
        self._rep_t0 = 0.0
        self._rep_from = 0.0
        self._far: tuple[float, float, StopKind, float] | None = None  # level, t_arrive, kind, band
        self._out_peak = 0.0
        self._back_t0 = 0.0
        # sets
        self._set_no = 0
        self._set_open = False
        self._set_reps: list[Rep] = []
        self._last_end = 0.0
        # live phase
        self._phase: Phase = "rest"
        self._phase_t = float("-inf")
        self._out: list[Event] = []
        self._t = 0.0

    # ------------------------------------------------------------------ public API

    @property
    def phase(self) -> Phase:
        """Current phase as last confirmed (for the live state topic)."""
        return self._phase

    @property
    def position_fraction(self) -> float | None:
        """Filtered position, 0 at bottom_mm and 1 at lockout_mm; None before any."""
        y = self._seg.y
        if y is None:
            return None
        f = y / self._rom
        return f if self._s.start == "bottom" else 1.0 - f

    def feed(self, t_s: float, distance_mm: int | None) -> list[Event]:
        """One sample; missing readings (None, near-zero, out-of-range codes) are skipped."""
        out: list[Event] = []
        self._out = out
        self._t = t_s
        if distance_mm is not None and MIN_VALID_MM <= distance_mm < OUT_OF_RANGE_MM:
            if t_s - self._last_valid_t > FAULT_GAP_S and self._seg.n:
                self._after_fault_gap()
            self._last_valid_t = t_s
            f = self._filter
            if distance_mm != self._last_reading or not f.repeats_are_stuck:
                if t_s - self._news_t >= FAULT_MIN_S and self._seg.n:
                    faults = self._faults
                    faults.append((self._news_t, t_s))
                    if len(faults) > FAULTS_KEPT:
                        del faults[0]
                self._news_t = t_s
                self._last_reading = distance_mm
            got = f.push(t_s, self._sign * (distance_mm - self._start_mm))
            backlog = self._smooth.backlog
            if backlog:
                for t_b, y_b in backlog:
                    self._step(t_b, y_b)
                backlog.clear()
            if got is not None:
                self._step(got[0], got[1])
        if t_s >= self._smooth.idle_after and self._seg.n:
            # No reading accepted for a while (a gap, a stuck sensor): what the filter
            # still owes is known now, not only when the next reading arrives.
            for t_b, y_b in self._filter.idle(t_s):
                self._step(t_b, y_b)
        if self._set_open and self._state == _LOW and t_s - self._last_end >= self._s.rest_s:
            self._maybe_rest_end(t_s)
        return out

    def end_set(self, t_s: float) -> list[Event]:
        """Close the set now (the user said so); a rep on its way back is finished first."""
        out: list[Event] = []
        self._out = out
        self._t = t_s
        self._close_set(t_s, "ended")
        return out

    def finish(self) -> list[Event]:
        """End of stream: finish a rep on its way back and close the open set."""
        out: list[Event] = []
        self._out = out
        for t_b, y_b in self._filter.flush():
            self._step(t_b, y_b)
        self._close_set(self._t, "end_of_stream")
        return out

    def _after_fault_gap(self) -> None:
        """No reading for longer than a glitch: whatever the sled did then is unknown.

        A rep in progress is dropped rather than completed with made-up times, and the
        segmenter starts afresh from where the sled is found.
        """
        for t_b, y_b in self._filter.flush():
            self._step(t_b, y_b)
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            self._end_pending(pending)
        self._seg.restart()
        if self._state != _LOW:
            self._state = _LOW
            self._far = None
            self._arm_rise()
            if self._set_open:
                self._set_phase(self._names[3], self._t)

    def _fault_near(self, *times: float) -> bool:
        """Whether a sensor fault (FAULT_MIN_S without news) hid one of these boundaries.

        A boundary inside a fault, or found just after one ended, was not seen: where the
        sled stopped or turned during the fault is unknown. A fault in the middle of a
        movement that goes on the same way hides no boundary.
        """
        faults = list(self._faults)
        if self._t - self._news_t >= FAULT_MIN_S:
            faults.append((self._news_t, self._t))  # one going on now
        for a, b in faults:
            for t in times:
                if a - FAULT_MARGIN_S <= t <= b + FAULT_MARGIN_S:
                    return True
        return False

    # ------------------------------------------------------------------ rep machine

    def _arm_rise(self) -> None:
        self._seg.watch_rise(self._base, self._rep_mm, REP_NOISE)

    def found(self, level: float) -> None:
        self._base = level
        if self._state == _LOW:
            self._arm_rise()

    def started(self, way: int, t_start: float) -> None:
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            if pending.way != way:
                self._end_pending(pending)
        self._on_start(way, t_start)

    def hold_lasted(self) -> None:
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            self._end_pending(pending)

    def stopped(self, stop: Stop) -> None:
        self._on_stop(stop)

    def rose(self, move: Movement, y: float) -> None:
        self._begin_rep(move, y)

    def fell(self, move: Movement, high: float) -> None:
        self._state = _BACK
        self._back_t0 = move.t_start
        self._high = high

    # ------------------------------------------------------------------ rep machine

    def _on_start(self, d: int, t: float) -> None:
        st = self._state
        out_phase, _, back_phase, _ = self._names
        if st == _OUT:
            self._set_phase(out_phase if d > 0 else back_phase, t)
        elif st == _LOW and self._set_open and d > 0:
            self._set_phase(out_phase, t)

    def _on_stop(self, stop: Stop) -> None:
        """The movement in direction `stop.way` ended at `stop.level`."""
        st = self._state
        _, far_pause, _, start_pause = self._names
        kind, d, t_arrive, level, t_depart, peak, stall = stop
        if st == _OUT:
            if d > 0 and peak > self._out_peak:
                self._out_peak = peak
            far = self._far
            if far is None or level > far[0]:
                band = (t_depart - t_arrive) if t_depart is not None else 1e9
                self._far = (level, t_arrive, kind, band)
                self._out_stall = stall
            self._set_phase(far_pause, t_arrive)
        elif st == _BACK:
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
            self._base = min(self._base, level)
            self._arm_rise()
            if self._set_open:
                self._set_phase(start_pause, t_arrive)

    def _end_pending(self, pending: Stop) -> None:
        """The stop away from the start side was the end of the rep after all."""
        self._emit_rep(pending)
        self._set_phase(self._names[3], pending.t_arrive)

    def _begin_rep(self, move: Movement, y: float) -> None:
        self._state = _OUT
        self._rep_t0 = move.t_start
        self._rep_from = move.level_from
        self._high = y
        self._far = None
        self._out_stall = NO_STALL
        self._out_peak = move.peak_speed
        if self._set_open and self._last_end > self._rep_t0:
            self._rep_t0 = self._last_end
        self._seg.watch_fall(y, self._rep_from, self._rep_mm, REP_NOISE)
        self._set_phase(self._names[0], self._rep_t0)

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
        times_unknown = self._fault_near(t0, t_far, t_back, t_end)
        out_stall = self._out_stall
        stall_s, stall_y = out_stall if out_stall[0] >= back_stall[0] else back_stall
        stall_fraction = None
        if stall_y is not None:
            stall_fraction = stall_y / rom if s.start == "bottom" else 1.0 - stall_y / rom
        travel = rom_mm - 2.0 * self._band
        mean_v = travel / concentric_s / 1000.0 if concentric_s > 0.0 and travel > 0.0 else 0.0
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
            t_confirmed=self._t,
            stall_s=stall_s,
            stall_fraction=stall_fraction,
        )
        self._set_reps.append(rep)
        self._last_end = t_end
        self._state = _LOW
        self._base = end_level
        self._arm_rise()
        self._far = None
        self._out.append(rep)

    # ------------------------------------------------------------------ sets and phases

    def _maybe_rest_end(self, t: float) -> None:
        deadline = self._last_end + self._s.rest_s
        moving_since = self._seg.moving_since
        if moving_since is not None and moving_since < deadline:
            return  # a movement that began during the rest: wait to see whether it is a rep
        self._finish_set(t, "rest")

    def _close_set(self, t: float, reason: str) -> None:
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            self._end_pending(pending)
        elif self._state == _BACK:
            # Finish the rep where the sled got to: its last extreme is the stop.
            stop = self._seg.stop_at_extreme()
            if stop is not None:
                self._emit_rep(stop)
        self._state = _LOW
        self._far = None
        y = self._seg.y
        if y is not None:
            self._base = y
        self._arm_rise()
        if self._set_open:
            self._finish_set(t, reason)

    def _finish_set(self, t: float, reason: str) -> None:
        reps = self._set_reps
        summary = set_summary(reps)
        self._out.append(
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
        self._set_phase("rest", t)

    def _set_phase(self, phase: Phase, t: float) -> None:
        if phase == self._phase:
            return
        t = max(t, self._phase_t)
        self._phase = phase
        self._phase_t = t
        self._out.append(PhaseChanged(t_s=t, phase=phase))
