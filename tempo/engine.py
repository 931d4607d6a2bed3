"""The streaming tempo engine: distances in, phases, reps and sets out (docs/engine.md).

Everything happens in one coordinate, the excursion `p` in millimetres away from the start
side (0 at the start side, the calibrated range of motion at the far side), so the mounting
direction and the start side never appear in the logic below.

Two levels work on the smoothed track from `tempo.filters`:

* a segmenter cuts it into movements and stops (a turnaround, or a hold where the sled is
  still), detecting each with thresholds well above the noise and then backdating the
  boundaries to the 2 % convention by interpolation in a short ring buffer;
* a rep machine reads those movements: an excursion of at least 30 % of the range of
  motion away from the start side and back is a rep, emitted as soon as the stop that ends
  its last phase is confirmed.

Memory is bounded: a ring buffer of recent smoothed samples and the current set's reps.
"""

from __future__ import annotations

from tempo.crossings import parabola_crossing
from tempo.events import Event, Phase, PhaseChanged, Rep, SetDone
from tempo.filters import RobustFilter
from tempo.scoring import BOUNCE_MAX_S, eccentric_score, lockout_verdict, rep_flags, set_summary
from tempo.settings import EngineSettings
from tempo.stall import longest_stall
from tempo.turns import fit_turn

# Readings outside [MIN_VALID_MM, OUT_OF_RANGE_MM) are missing samples, not distances:
# the VL53L0X reports 8190/8191 (and other codes) when it sees nothing, and collapses to a
# few millimetres when the signal fails.
MIN_VALID_MM = 20
OUT_OF_RANGE_MM = 8000

BOUNDARY_FRACTION = 0.02  # the phase boundary convention
REP_FRACTION = 0.30  # smallest excursion (out and back) that is a rep
REP_NOISE = 1.5  # ... plus this many noise deviations, so noise alone never completes one
MOVE_FRACTION = 0.05  # leaving a stop by this much confirms a movement
# ... or by this many noise deviations, whichever is larger: over a 3 s hold the smoothed
# track of a still sled strays up to 1.6-1.8 deviations from its level 1 time in 100.
MOVE_NOISE = 2.0
# Coming back from a moving extreme: noise on a slow move makes wiggles of the smoothed
# track well over 1.5 deviations, and a wiggle taken for a turn cuts a phase in two.
REVERSAL_NOISE = 2.5
STILL_FRACTION = 0.025  # the track stays within this band while still
# ... or within the range a still smoothed track spans in noise: the smoothed track has
# 0.47 of the raw deviation, and over a still window of 30-50 samples its range stays
# under 2.5-2.7 raw deviations 99 times in 100 (`noise_mm` is 0.98 of a deviation).
STILL_NOISE = 3.0
TREND_FRACTION = 0.01  # ... and drifts less than this across the still window
TREND_NOISE = 0.8
# Clearly outside the 2 % band: two deviations of the smoothed track beyond it (the
# smoothed track has 0.47 of the raw deviation).
ARRIVAL_NOISE = 1.0
STILL_WINDOW_S = 0.15  # the window grows with the noise (NOISE_REF_MM) up to the max
STILL_WINDOW_MAX_S = 0.6
NOISE_REF_MM = 4.0
# ... and with the slowness of the movement that came in: the window is long enough for
# that movement, kept up, to have moved SLOW_MOVE_TRENDS times the trend threshold, so a
# constant-speed lowering of any tempo is never taken for stillness (docs/engine.md). Four:
# the still test allows one trend, and at a noisy sensor the fitted shift of a window of a
# slow lowering still errs by a trend now and then; with three, one slow negative in five
# at 1.2 m was cut by a pseudo-stop.
SLOW_MOVE_TRENDS = 4.0
STILL_WINDOW_SLOW_MAX_S = 2.0
SLOWEST_PHASE_SPEED_MM_S = 13.0  # a 15 s negative over 200 mm
MERGE_HOLD_S = 0.4  # a shorter hold between movements the same way is no real stop
# Away from the start side a stop of up to this long that goes on the same way afterwards
# (a sticking point, a pause halfway down) is part of its phase, not a boundary.
STALL_MAX_S = 1.5
START_ZONE_FRACTION = 0.15  # within this much of the ROM of the start side is "at the start"
# ... and a rep that came back this much of its way out ended where it stopped, even away
# from the start side (a calibration a little off, a rep started from higher up)
RETURN_FRACTION = 0.85
STILL_MIN_SAMPLES = 4
RELEVEL_WINDOW_S = 0.5  # a small shift (under the movement threshold) that then stays
# still this long moves the hold level
HOLD_MEAN_MAX = 100  # the hold level is a running mean over at most this many samples
FAULT_GAP_S = 2.0  # no valid reading this long is a fault: a rep in progress is dropped
# No news this long (no valid reading, or the same reading over and over from a sensor that
# is noisy when still: frozen) is a sensor fault: a rep it touches has unknown phase times.
FAULT_MIN_S = 0.5
FAULTS_KEPT = 8  # recent fault intervals remembered (bounded memory)
FAULT_MARGIN_S = 0.15  # a boundary this close to a fault was not seen either
GAP_TURN_S = 0.2  # a turnaround next to a gap this long is looked for inside the gap
GAP_SLOPE_BACK = (2, 4, 6)  # samples back for the slope into such a gap
GAP_SLOPE_MAX_S = 0.4
GAP_FLAT_N = 4  # ... or within this many samples after the extreme
STILL_GAP_S = 0.4  # a hold is never confirmed across a gap this long
BUFFER = 256  # smoothed samples kept for backdating (5 s at 50 Hz)
# A 2 % crossing is placed again on this many raw readings either side of it (tempo.crossings):
# 0.1 s at 50 Hz, 0.25 s at 20 Hz, so ten readings average the noise at every rate.
CROSSING_READINGS = 5
# ... spanning at most this (a short gap among them is fine; over longer spans the sled's
# acceleration changes too much for one parabola)
CROSSING_MAX_SPAN_S = 1.0
TURN_FIT_S = 0.25  # raw readings this close to a turn's extreme are fitted (tempo.turns)
# ... and the fit is used only while the noise is under this many 2 % bands, and if its
# turn lies within this fraction of the ROM of the smoothed one
TURN_FIT_NOISE = 2.5
TURN_FIT_FRACTION = 0.1
# The smoothed track flattens a bounce for a few samples, as if the sled were still; the
# newest readings then are already this far back from the extreme: no hold.
BOUNCE_BACK_BANDS = 2.0
BOUNCE_BACK_NOISE = 3.0
TRAIL_MAX = 512  # the current movement's track, thinned to every other sample when full

Stall = tuple[float, float | None]  # seconds, position of its middle (tempo.stall)
PendingEnd = tuple[float, float, float, Stall]  # t_arrive, level, peak speed, stall
# the movement that ended in the current hold: direction, arrival, start, from, peak, stall
HeldMove = tuple[int, float, float, float, float, Stall]
NO_STALL: Stall = (0.0, None)

_HOLD = 0
_MOVING = 1
_LOW = 0  # rep machine: near the start side, no excursion yet
_OUT = 1  # an excursion of 30 % is under way
_BACK = 2  # it came back by 30 %: the next stop ends the rep

_TURN = "turn"
_HOLDING = "hold"
_FORCED = "forced"


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
        self._move_base = MOVE_FRACTION * rom
        self._still_base = STILL_FRACTION * rom
        self._trend_base = TREND_FRACTION * rom
        self._level_tol = 0.25 * self._band
        self._filter = RobustFilter(gate_base_mm=max(40.0, 0.12 * rom))
        self._smooth = self._filter.smoother
        self._bt = [0.0] * BUFFER
        self._by = [0.0] * BUFFER
        self._n = 0
        self._y: float | None = None
        self._last_valid_t = 0.0
        self._news_t = 0.0  # last reading that said something new
        self._last_reading: int | None = None
        self._faults: list[tuple[float, float]] = []
        self._restart = False
        # segmenter
        self._mode = _HOLD
        self._dir = 0
        self._level = 0.0
        self._hold_n = 1
        self._ext = 0.0
        self._n_ext = 0
        self._mv_t0 = 0.0
        self._mv_from = 0.0
        self._peak_v = 0.0
        self._held_move: HeldMove | None = None
        # a rep whose way back stopped away from the start side: (t_arrive, level, peak)
        self._pending_end: PendingEnd | None = None
        # the current movement's track since it began (for its stall), and the out phase's
        self._trail_t: list[float] = []
        self._trail_y: list[float] = []
        self._out_stall = NO_STALL
        # rep machine
        self._state = _LOW
        self._base = 0.0
        self._high = 0.0
        self._rep_t0 = 0.0
        self._rep_from = 0.0
        self._far: tuple[float, float, str, float] | None = None  # level, t_arrive, kind, band
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
        y = self._y
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
            if t_s - self._last_valid_t > FAULT_GAP_S and self._n:
                self._after_fault_gap()
            self._last_valid_t = t_s
            f = self._filter
            if distance_mm != self._last_reading or not f.repeats_are_stuck:
                if t_s - self._news_t >= FAULT_MIN_S and self._n:
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
        if self._n and t_s >= self._smooth.idle_after:
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

    # ------------------------------------------------------------------ segmenter

    def _step(self, t: float, y: float) -> None:
        bt, by = self._bt, self._by
        n = self._n
        i = n % BUFFER
        bt[i] = t
        by[i] = y
        self._n = n + 1
        self._y = y
        trail_t = self._trail_t
        trail_t.append(t)
        self._trail_y.append(y)
        if len(trail_t) > TRAIL_MAX:
            del trail_t[::2]
            del self._trail_y[::2]
        if n == 0 or self._restart:
            self._restart = False
            self._level = y
            self._base = y
            return
        pending = self._pending_end
        if pending is not None and t - pending[0] >= STALL_MAX_S:
            self._pending_end = None
            self._end_pending(pending)
        noise = self._smooth.noise_mm
        move = self._move_base
        if MOVE_NOISE * noise > move:  # noqa: PLR1730 (per reading: no call)
            move = MOVE_NOISE * noise
        if self._mode == _MOVING:
            d = self._dir
            if n >= 3:
                j = (n - 3) % BUFFER
                dt = t - bt[j]
                if dt > 0.0:
                    v = d * (y - by[j]) / dt
                    if v > self._peak_v:  # noqa: PLR1730 (per reading: no call)
                        self._peak_v = v
            if d * (y - self._ext) > 0.0:
                self._ext = y
                self._n_ext = n
            elif d * (self._ext - y) >= move and d * (self._ext - y) >= REVERSAL_NOISE * noise:
                a = self._gap_at_turn(n)
                if a is None or n >= a + 3:
                    self._reversal(n, t, y)
                # else: a turn in a gap needs three samples after it to be placed
            else:
                trend = self._trend_base
                if TREND_NOISE * noise > trend:  # noqa: PLR1730 (per reading: no call)
                    trend = TREND_NOISE * noise
                if n >= 3 and -trend <= y - by[(n - 3) % BUFFER] <= trend:
                    self._check_still(n, t, noise, trend)
        else:
            off = y - self._level
            if off >= move or -off >= move:
                self._departure(n, t, y)
            elif off * off <= self._level_tol * self._level_tol or off * off <= noise * noise:
                # Follow slow drift with a running mean of the samples that sit right on
                # the level, so a slowly starting movement does not drag it along.
                if self._hold_n < HOLD_MEAN_MAX:
                    self._hold_n += 1
                self._level += off / self._hold_n
            else:
                self._maybe_relevel(n, t, noise)
        st = self._state
        if st == _LOW:
            # The base is the lowest stop (hold level or turning point), not the lowest
            # noisy sample; the margin keeps noise from making up the missing millimetres.
            if (
                y - self._base >= self._rep_mm + REP_NOISE * noise
                and self._mode == _MOVING
                and self._dir > 0
            ):
                self._begin_rep()
        elif st == _OUT:
            if y > self._high:
                self._high = y
            elif (
                self._high - y >= self._rep_mm + REP_NOISE * noise
                and self._mode == _MOVING
                and self._dir < 0
            ):
                self._state = _BACK
                self._back_t0 = self._mv_t0

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
        self._trail_t = []
        self._trail_y = []
        self._mode = _HOLD
        self._dir = 0
        self._hold_n = 1
        self._held_move = None
        self._peak_v = 0.0
        self._restart = True
        if self._state != _LOW:
            self._state = _LOW
            self._far = None
            if self._set_open:
                self._set_phase(self._names[3], self._t)

    def _check_still(self, n: int, t: float, noise: float, trend: float) -> None:
        bt, by = self._bt, self._by
        band = self._still_base
        band = max(band, STILL_NOISE * noise)
        lo = hi = by[n % BUFFER]
        k = n - 1
        count = 1
        window = min(max(STILL_WINDOW_S * noise / NOISE_REF_MM, STILL_WINDOW_S), STILL_WINDOW_MAX_S)
        travel = self._dir * (self._ext - self._mv_from)
        slow = False
        if t > self._mv_t0 and travel > 0.0:
            speed = max(travel / (t - self._mv_t0), SLOWEST_PHASE_SPEED_MM_S)
            slow_window = min(SLOW_MOVE_TRENDS * trend / speed, STILL_WINDOW_SLOW_MAX_S)
            if slow_window > window:
                window = slow_window
                slow = True
        t_from = t - window
        stop = max(n - BUFFER + 1, 0)
        while k >= stop:
            j = k % BUFFER
            if bt[j] < t_from and count >= STILL_MIN_SAMPLES:
                break
            if bt[(k + 1) % BUFFER] - bt[j] > STILL_GAP_S:
                return  # a gap inside the window: the sled was not seen to be still
            v = by[j]
            if v < lo:
                lo = v
            elif v > hi:
                hi = v
            if hi - lo > band:
                return
            count += 1
            k -= 1
        if count < STILL_MIN_SAMPLES:
            return
        first = (by[(k + 1) % BUFFER] + by[(k + 2) % BUFFER] + by[(k + 3) % BUFFER]) / 3.0
        last = (by[n % BUFFER] + by[(n - 1) % BUFFER] + by[(n - 2) % BUFFER]) / 3.0
        if abs(last - first) > trend:
            return
        if slow and self._fitted_shift(k + 1, n) > trend:
            return  # in noise, the ends of a slow move can look alike: all of it does not
        accepted = self._smooth.accepted
        if len(accepted) >= 3:
            a, b, c = accepted[-1][1], accepted[-2][1], accepted[-3][1]
            newest = max(min(a, b), min(max(a, b), c))  # median of the newest three
            back = self._dir * (self._ext - newest)
            noisiest = max(noise, self._filter.gate_noise_mm)
            if back > max(BOUNCE_BACK_BANDS * self._band, BOUNCE_BACK_NOISE * noisiest):
                return  # the readings are on their way back already: a bounce, not a hold
        # Still: the movement ended where the sled now rests.
        d = self._dir
        level = last
        self._mode = _HOLD
        self._level = level
        self._hold_n = 3
        held = self._held_move
        if held is not None and d * (level - self._mv_from) < self._band:
            # The sled is still where it stopped before: the departure was noise. That
            # stop goes on (its arrival and the movement that ended in it).
            h_dir, h_arrive, _, _, h_peak, h_stall = held
            self._on_stop(
                _HOLDING, h_dir, h_arrive, level, t_depart=None, peak=h_peak, stall=h_stall
            )
            return
        target = level - d * self._band
        # The arrival is the first entry into the band after the track was last clearly
        # outside it: noise on the still track dips out of the band and back in.
        t_arrive = self._entry(n, stop, target, d, margin=ARRIVAL_NOISE * noise, t_from=self._mv_t0)
        t_arrive = self._refined(t_arrive, target, d)
        peak = self._peak_v
        stall = self._stall_until(t_arrive)
        self._held_move = (d, t_arrive, self._mv_t0, self._mv_from, peak, stall)
        self._on_stop(_HOLDING, d, t_arrive, level, t_depart=None, peak=peak, stall=stall)

    def _fitted_shift(self, k0: int, k1: int) -> float:
        """How far the least-squares line through smoothed samples k0..k1 moves across them."""
        bt, by = self._bt, self._by
        t0 = bt[k0 % BUFFER]
        st = sy = stt = sty = 0.0
        for k in range(k0, k1 + 1):
            j = k % BUFFER
            u = bt[j] - t0
            v = by[j]
            st += u
            sy += v
            stt += u * u
            sty += u * v
        m = k1 - k0 + 1
        den = m * stt - st * st
        if den <= 0.0:
            return 0.0
        slope = (m * sty - st * sy) / den
        return abs(slope) * (bt[k1 % BUFFER] - t0)

    def _maybe_relevel(self, n: int, t: float, noise: float) -> None:
        """The sled moved a little and stopped again: that is the new hold level."""
        bt, by = self._bt, self._by
        band = max(self._still_base, STILL_NOISE * noise)
        trend = max(self._trend_base, TREND_NOISE * noise)
        # Long enough that the slowest phase would have moved well past the trend: the
        # level follows drift, never a slow lowering.
        window = max(RELEVEL_WINDOW_S, SLOW_MOVE_TRENDS * trend / SLOWEST_PHASE_SPEED_MM_S)
        t_from = t - min(window, STILL_WINDOW_SLOW_MAX_S)
        stop = max(n - BUFFER + 1, 0)
        lo = hi = total = by[n % BUFFER]
        k = n - 1
        while k >= stop:
            j = k % BUFFER
            if bt[j] < t_from:
                break
            v = by[j]
            if v < lo:
                lo = v
                if hi - lo > band:
                    return
            elif v > hi:
                hi = v
                if hi - lo > band:
                    return
            total += v
            k -= 1
        count = n - k
        if count < 2 * STILL_MIN_SAMPLES or k < stop:
            return
        first = (by[(k + 1) % BUFFER] + by[(k + 2) % BUFFER] + by[(k + 3) % BUFFER]) / 3.0
        last = (by[n % BUFFER] + by[(n - 1) % BUFFER] + by[(n - 2) % BUFFER]) / 3.0
        mean = total / count
        if abs(last - first) > trend or abs(by[n % BUFFER] - mean) > max(self._level_tol, noise):
            return  # still moving, if slowly: not a new level (yet)
        if self._fitted_shift(k + 1, n) > trend:
            return
        self._level = mean
        self._hold_n = count

    def _reversal(self, n: int, t: float, y: float) -> None:
        bt, by = self._bt, self._by
        d = self._dir
        ext = self._ext
        stop = max(n - BUFFER + 1, 0)
        # Arrival: the last entry into the band before the turning point.
        target_in = ext - d * self._band
        margin = ARRIVAL_NOISE * self._smooth.noise_mm
        k_ext = max(self._n_ext, stop)
        t_arrive = self._entry(k_ext, stop, target_in, d, margin=margin, t_from=self._mv_t0)
        # Departure: the last exit from the band on the way back.
        target_out = ext - d * self._band
        k = n
        while k > stop and d * (by[k % BUFFER] - target_out) < 0.0:
            k -= 1
        t_depart = self._crossing(k, target_out)
        t_ext = bt[self._n_ext % BUFFER] if self._n_ext >= stop else t_arrive
        t_arrive = min(t_arrive, t_ext)
        t_depart = max(t_depart, t_ext)
        fitted = self._fitted_turn(d, t_ext, ext)
        if fitted is not None:
            ext, t_arrive, t_depart = fitted
        hidden = self._turn_in_gap(n, stop)
        if hidden is not None:
            ext, t_arrive, t_depart = hidden
            if self._state == _OUT and d > 0 and ext > self._high:
                # the far turn happened unseen: the way back is measured from it
                self._high = ext
            elif self._state == _OUT and d < 0:
                # The way back ended unseen (a stuck sensor or a gap over the start-side
                # turn): the rep is complete if the hidden turn is 30 % back. The lines
                # overshoot when the sled paused there, so it turned no further than it
                # started.
                ext = max(ext, self._rep_from)
                if self._high - ext >= self._rep_mm + REP_NOISE * self._smooth.noise_mm:
                    self._state = _BACK
                    self._back_t0 = self._mv_t0
        peak = self._peak_v
        stall = self._stall_until(t_arrive)
        self._restart_trail(t_depart)
        self._dir = -d
        self._ext = y
        self._n_ext = n
        self._peak_v = 0.0
        self._mv_t0 = t_depart
        self._mv_from = ext
        self._on_stop(_TURN, d, t_arrive, ext, t_depart=t_depart, peak=peak, stall=stall)
        self._on_start(-d, t_depart)

    def _fitted_turn(self, d: int, t_ext: float, ext: float) -> tuple[float, float, float] | None:
        """The turn placed on the raw readings around it (tempo.turns), if that fits."""
        ts: list[float] = []
        ys: list[float] = []
        for t_r, x_r in self._smooth.accepted:
            if t_ext - TURN_FIT_S <= t_r <= t_ext + TURN_FIT_S:
                ts.append(t_r)
                ys.append(x_r)
        if ts and (ts[0] > t_ext - 0.5 * TURN_FIT_S or ts[-1] < t_ext + 0.5 * TURN_FIT_S):
            return None  # a gap beside the turn: the gap logic places it
        got = fit_turn(ts, ys, d, self._band)
        if got is None:
            return None
        level, t_turn, t_arrive, t_depart = got
        f = self._filter
        if max(f.noise_mm, f.gate_noise_mm) > TURN_FIT_NOISE * self._band:
            return None  # glare: the readings say less than the smoothed track
        if abs(level - ext) > TURN_FIT_FRACTION * self._rom or abs(t_turn - t_ext) > TURN_FIT_S:
            return None
        return level, t_arrive, t_depart

    def _turn_in_gap(self, n: int, stop: int) -> tuple[float, float, float] | None:
        """A turnaround hidden in a gap: where the lines before and after it meet.

        Without this a bounce during a gap of half a second would look like a turn
        well short of the bottom, and the next rep would seem too small to count.
        """
        bt, by = self._bt, self._by
        d = self._dir
        a = self._gap_at_turn(n)
        if a is None or a + 2 > n:
            return None
        t1, y1 = bt[a % BUFFER], by[a % BUFFER]
        t2, y2 = bt[(a + 1) % BUFFER], by[(a + 1) % BUFFER]
        b = min(a + 3, n)
        t3, y3 = bt[b % BUFFER], by[b % BUFFER]
        if t3 <= t2:
            return None
        v1 = 0.0
        # The slope into the gap; a sensor that stuck before going silent flattens the
        # last samples, so look a little further back and take the steepest.
        for back in GAP_SLOPE_BACK:
            if a - back < stop:
                break
            t0, y0 = bt[(a - back) % BUFFER], by[(a - back) % BUFFER]
            if t1 <= t0 or t1 - t0 > GAP_SLOPE_MAX_S:
                break
            v = (y1 - y0) / (t1 - t0)
            if d * v > 2.0 * d * v1:
                v1 = v
        v2 = (y3 - y2) / (t3 - t2)
        if d * v1 <= 0.0 or d * v2 >= 0.0:
            return None
        t_turn = (y2 - y1 + v1 * t1 - v2 * t2) / (v1 - v2)
        t_turn = min(max(t_turn, t1), t2)
        ext = y1 + v1 * (t_turn - t1)
        if d * (ext - self._ext) <= 0.0:
            return None
        edge = ext - d * self._band
        t_arrive = min(max(t1 + (edge - y1) / v1, t1), t_turn)
        t_depart = max(min(t2 + (edge - y2) / v2, t2), t_turn)
        return ext, t_arrive, t_depart

    def _gap_at_turn(self, n: int) -> int | None:
        """The last sample before a gap of GAP_TURN_S next to the extreme, if any."""
        bt = self._bt
        k = self._n_ext
        if k - 2 < max(n - BUFFER + 1, 0) or k >= n:
            return None
        for j in range(k, min(k + GAP_FLAT_N, n)):
            # the gap follows the extreme (or a few samples stuck at it)
            if bt[(j + 1) % BUFFER] - bt[j % BUFFER] > GAP_TURN_S:
                return j
        if bt[k % BUFFER] - bt[(k - 1) % BUFFER] > GAP_TURN_S and k - 3 >= max(n - BUFFER + 1, 0):
            return k - 1  # the extreme is the first sample after the gap
        return None

    def _departure(self, n: int, t: float, y: float) -> None:
        by = self._by
        level = self._level
        d = 1 if y > level else -1
        target = level + d * self._band
        stop = max(n - BUFFER + 1, 0)
        k = n
        while k > stop and d * (by[k % BUFFER] - target) > 0.0:
            k -= 1
        t_depart = self._crossing(k, target)
        t_depart = self._refined(t_depart, target, d)
        self._mode = _MOVING
        self._dir = d
        self._ext = y
        self._n_ext = n
        self._peak_v = 0.0
        self._mv_t0 = t_depart
        self._mv_from = level
        held = self._held_move
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            if held is None or held[0] != d:
                self._end_pending(pending)
        away = level >= START_ZONE_FRACTION * self._rom
        merge_s = STALL_MAX_S if away else MERGE_HOLD_S
        if held is not None and held[0] == d and t_depart - held[1] < merge_s:
            # A brief stall (or noise that looked still): the earlier movement goes on.
            self._mv_t0 = held[2]
            self._mv_from = held[3]
            self._peak_v = held[4]
        else:
            self._restart_trail(t_depart)
        self._on_start(d, t_depart)

    def _restart_trail(self, t_from: float) -> None:
        """The track of a new movement begins at its start (from the ring buffer)."""
        bt, by = self._bt, self._by
        n = self._n
        k = n - 1
        stop = max(n - BUFFER, 0)
        while k > stop and bt[(k - 1) % BUFFER] >= t_from:
            k -= 1
        self._trail_t = [bt[j % BUFFER] for j in range(k, n)]
        self._trail_y = [by[j % BUFFER] for j in range(k, n)]

    def _stall_until(self, t_arrive: float) -> tuple[float, float | None]:
        """The longest stall of the movement that just ended (tempo.stall)."""
        return longest_stall(self._trail_t, self._trail_y, self._mv_t0, t_arrive)

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

    def _entry(
        self, k_end: int, stop: int, target: float, d: int, *, margin: float, t_from: float
    ) -> float:
        """When the track moving in direction `d` last came into the band ending at `target`.

        The first crossing after the track was last clearly (`margin`) outside: noise on a
        track that is already in the band dips out of it and back in. Never before the
        movement began at `t_from`.
        """
        bt, by = self._bt, self._by
        clear = target - d * margin
        k = k_end
        while k > stop and d * (by[k % BUFFER] - clear) >= 0.0 and bt[k % BUFFER] > t_from:
            k -= 1
        while k < k_end - 1 and d * (by[(k + 1) % BUFFER] - target) < 0.0:
            k += 1
        t = self._crossing(k, target)
        return t if t > t_from else t_from

    def _refined(self, t_near: float, target: float, d: int) -> float:
        """The crossing of `target` near `t_near` placed on the raw readings around it."""
        acc = self._smooth.accepted
        m = len(acc)
        i = m
        while i > 0 and acc[i - 1][0] >= t_near:
            i -= 1
        if i < CROSSING_READINGS or i + CROSSING_READINGS > m:
            return t_near  # not enough readings kept on one side
        ts = [acc[j][0] for j in range(i - CROSSING_READINGS, i + CROSSING_READINGS)]
        ys = [acc[j][1] for j in range(i - CROSSING_READINGS, i + CROSSING_READINGS)]
        if ts[-1] - ts[0] > CROSSING_MAX_SPAN_S:
            return t_near
        got = parabola_crossing(ts, ys, t_near, target, d, noise_mm=self._smooth.noise_mm)
        if got is None or abs(got - t_near) > 0.5 * (ts[-1] - ts[0]):
            return t_near  # the parabola says something else than the smoothed track
        return got

    def _crossing(self, k: int, target: float) -> float:
        """Time between smoothed samples k and k+1 where the track passes `target`."""
        bt, by = self._bt, self._by
        if k + 1 >= self._n:
            return bt[k % BUFFER]
        t0, y0 = bt[k % BUFFER], by[k % BUFFER]
        t1, y1 = bt[(k + 1) % BUFFER], by[(k + 1) % BUFFER]
        if y1 == y0:
            return t1
        a = (target - y0) / (y1 - y0)
        if a < 0.0:
            a = 0.0
        elif a > 1.0:
            a = 1.0
        return t0 + a * (t1 - t0)

    # ------------------------------------------------------------------ rep machine

    def _on_start(self, d: int, t: float) -> None:
        st = self._state
        out_phase, _, back_phase, _ = self._names
        if st == _OUT:
            self._set_phase(out_phase if d > 0 else back_phase, t)
        elif st == _LOW and self._set_open and d > 0:
            self._set_phase(out_phase, t)

    def _on_stop(
        self,
        kind: str,
        d: int,
        t_arrive: float,
        level: float,
        *,
        t_depart: float | None,
        peak: float,
        stall: tuple[float, float | None],
    ) -> None:
        """The movement in direction `d` ended at `level`, reached at `t_arrive`."""
        st = self._state
        _, far_pause, _, start_pause = self._names
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
                kind == _HOLDING
                and level >= START_ZONE_FRACTION * self._rom
                and back < RETURN_FRACTION * (self._high - self._rep_from)
            ):
                # Stopped away from the start side: a pause on the way back (the rep goes
                # on the same way) or the end of the rep; STALL_MAX_S or the next
                # movement tells which.
                self._pending_end = (t_arrive, level, peak, stall)
                return
            self._emit_rep(kind, t_arrive, level, t_depart, peak, back_stall=stall)
            self._set_phase(start_pause, t_arrive)
        else:
            self._base = min(self._base, level)
            if self._set_open:
                self._set_phase(start_pause, t_arrive)

    def _end_pending(self, pending: PendingEnd) -> None:
        """The stop away from the start side was the end of the rep after all."""
        t_arrive, level, peak, stall = pending
        self._emit_rep(_HOLDING, t_arrive, level, None, peak, back_stall=stall)
        self._set_phase(self._names[3], t_arrive)

    def _begin_rep(self) -> None:
        self._state = _OUT
        self._rep_t0 = self._mv_t0
        self._rep_from = self._mv_from
        self._high = self._y if self._y is not None else 0.0
        self._far = None
        self._out_stall = NO_STALL
        self._out_peak = self._peak_v
        if self._set_open and self._last_end > self._rep_t0:
            self._rep_t0 = self._last_end
        self._set_phase(self._names[0], self._rep_t0)

    def _emit_rep(
        self,
        kind: str,
        t_end: float,
        end_level: float,
        t_depart: float | None,
        peak: float,
        *,
        back_stall: tuple[float, float | None],
    ) -> None:
        s = self._s
        rom = self._rom
        far = self._far
        if far is None:  # cannot happen: coming back needs a turn first
            far = (self._high, self._back_t0, _FORCED, 1e9)
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
            bounce = kind == _TURN and t_depart is not None and t_depart - t_end < BOUNCE_MAX_S
        else:
            t_top, t_ecc = t_end, t0
            eccentric_s = t_far - t0
            bottom_pause_s = t_back - t_far
            concentric_s = t_end - t_back
            top_pause_s = prev_pause
            rom_mm = far_level - end_level
            lock_fraction = 1.0 - end_level / rom
            peak_v = peak
            bounce = far_kind == _TURN and far_band < BOUNCE_MAX_S
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
        self._far = None
        self._out.append(rep)

    # ------------------------------------------------------------------ sets and phases

    def _maybe_rest_end(self, t: float) -> None:
        deadline = self._last_end + self._s.rest_s
        if self._mode == _MOVING and self._mv_t0 < deadline:
            return  # a movement that began during the rest: wait to see whether it is a rep
        self._finish_set(t, "rest")

    def _close_set(self, t: float, reason: str) -> None:
        pending = self._pending_end
        if pending is not None:
            self._pending_end = None
            self._end_pending(pending)
        elif self._state == _BACK and self._mode == _MOVING:
            # Finish the rep where the sled got to: its last extreme is the stop.
            d = self._dir
            ext = self._ext
            n = self._n
            stop = max(n - BUFFER + 1, 0)
            target = ext - d * self._band
            k = min(self._n_ext, n - 1)
            while k > stop and d * (self._by[k % BUFFER] - target) >= 0.0:
                k -= 1
            t_arrive = self._crossing(k, target)
            stall = self._stall_until(t_arrive)
            self._emit_rep(_FORCED, t_arrive, ext, None, self._peak_v, back_stall=stall)
        self._state = _LOW
        self._far = None
        if self._y is not None:
            self._base = self._y
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
