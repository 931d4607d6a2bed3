"""The segmenter: the smoothed track in, movements and stops out (docs/engine.md, "Movements
and stops", "Every tempo", "Phase boundary convention", "Turning points").

It works in the engine's one coordinate, the excursion `y` in millimetres away from the
start side, so `way` +1 is a movement away from the start side and -1 one back towards it.
Movements and stops are detected with thresholds well above the noise, then every boundary
is backdated to the 2 % convention by interpolation in the smoothed samples it keeps
(`tempo.track`); a crossing, a hold's arrival and a departure from it are placed again on
the raw readings around them (`tempo.boundaries`), turnarounds on the raw readings around
them (`tempo.turns`) or, hidden in a gap, where the lines before and after it meet
(`tempo.gaps`).

The interface to the next stage (the rep machine) is explicit and small:

* the segmenter calls its `Listener`: `found(level)` when the track (re)starts (first
  sample, after a sensor fault), `started(way, t, level)` when a movement leaves its stop
  (the 2 % time; `level` is where it left from), `stopped(stop)` when it ends (a `Stop`:
  a turnaround or a hold), and `hold_lasted()` once a hold has lasted STALL_MAX_S (no
  stall any more, wherever it is);
* the listener arms the excursion watch (`watch_rise`, `watch_fall`), a threshold it owns
  that the segmenter checks inline on every sample, so the rep machine's per-sample test
  costs no call; when the track passes it the segmenter calls `rose(move, y)` or
  `fell(move, high)` once, with the current `Movement`.

A hold shorter than MERGE_HOLD_S between two movements the same way (STALL_MAX_S away from
the start side) is no boundary: the movement goes on, keeping its start and peak speed
(its `Movement`), and the stall is the hold. A hold is reported when it is confirmed,
before anyone can know whether it will be merged: the listener learns that from the way
of the next `started` (or from `hold_lasted`), so the live phase is not held back.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Final, Literal, NamedTuple, Protocol

from tempo.boundaries import KNEE_HOLD_S, Boundaries
from tempo.filters import RobustFilter
from tempo.gaps import (
    GAP_TURN_S,
    first_after_gap,
    gap_at_turn,
    seen_after_gap,
    surely_reached_in_gap,
    turn_behind_hold,
    turn_in_gap,
)
from tempo.scoring import BOUNCE_MAX_S
from tempo.smoother import GAP_MEAN_S
from tempo.stall import longest_stall
from tempo.track import BUFFER, Track
from tempo.turns import fit_turn

BOUNDARY_FRACTION: Final = 0.02  # the phase boundary convention
MOVE_FRACTION: Final = 0.05  # leaving a stop by this much confirms a movement
# ... or by this many noise deviations, whichever is larger: over a 3 s hold the smoothed
# track of a still sled strays up to 1.6-1.8 deviations from its level 1 time in 100.
MOVE_NOISE: Final = 2.0
# Coming back from a moving extreme: noise on a slow move makes wiggles of the smoothed
# track well over 1.5 deviations, and a wiggle taken for a turn cuts a phase in two.
REVERSAL_NOISE: Final = 2.5
STILL_FRACTION: Final = 0.025  # the track stays within this band while still
# ... or within the range a still smoothed track spans in noise: the smoothed track has
# 0.47 of the raw deviation, and over a still window of 30-50 samples its range stays
# under 2.5-2.7 raw deviations 99 times in 100 (`noise_mm` is 0.98 of a deviation).
STILL_NOISE: Final = 3.0
TREND_FRACTION: Final = 0.01  # ... and drifts less than this across the still window
TREND_NOISE: Final = 0.8
# Clearly outside the 2 % band: two deviations of the smoothed track beyond it (the
# smoothed track has 0.47 of the raw deviation).
ARRIVAL_NOISE: Final = 1.0
# The still window: 0.15 s, growing with the noise (NOISE_REF_MM) up to the max; on the
# start side, out of glare, as long as it takes to tell the movement that came in from a
# stop instead (`_check_still`).
STILL_WINDOW_S: Final = 0.15
STILL_WINDOW_MAX_S: Final = 0.6
NOISE_REF_MM: Final = 4.0
# ... and with the slowness of the movement that came in: the window is long enough for
# that movement, kept up, to have moved SLOW_MOVE_TRENDS times the trend threshold, so a
# constant-speed lowering of any tempo is never taken for stillness (docs/engine.md). Four:
# the still test allows one trend, and at a noisy sensor the fitted shift of a window of a
# slow lowering still errs by a trend now and then; with three, one slow negative in five
# at 1.2 m was cut by a pseudo-stop.
SLOW_MOVE_TRENDS: Final = 4.0
# ... and, ending on the start side (where a pseudo-stop would end the rep early), long
# enough in noise for that movement's fitted shift across it to lie this many standard
# errors beyond the trend threshold (the shift of a line through N readings of deviation s
# errs by s * sqrt(12 / N)).
SLOW_MOVE_SHIFT_ERRORS: Final = 4.0
NEWTON_STEPS: Final = 6  # to the window's length within a millisecond
STILL_WINDOW_SLOW_MAX_S: Final = 2.0
SLOWEST_PHASE_SPEED_MM_S: Final = 13.0  # a 15 s negative over 200 mm
MERGE_HOLD_S: Final = 0.4  # a shorter hold between movements the same way is no real stop
# A rise the smoothed track clears by the margin on its own noise, but not on the raw
# readings' (glare raises theirs first), counts if the readings themselves went out so
# far: a median of 13 of them (`readings_reached`, which no burst moves) past the margin's
# distance by this many deviations of a reading, two standard errors of such a median
# (1.25 / sqrt(13) deviations each). Looked for in the readings of the last RISE_READINGS_S.
RISE_MEDIAN_NOISE: Final = 0.7
RISE_READINGS_S: Final = 1.0
# Away from the start side a stop of up to this long that goes on the same way afterwards
# (a sticking point, a pause halfway down) is part of its phase, not a boundary.
STALL_MAX_S: Final = 1.5
START_ZONE_FRACTION: Final = 0.15  # within this much of the ROM of the start side is "at the start"
# A hold beyond START_ZONE_FRACTION, or this far out from where its phase began, may be a
# sticking point, merged into the phase if the sled goes on the same way within
# STALL_MAX_S: sticking points begin at 15 % of the travel (docs/engine.md, "Every tempo"),
# and a full rep travels at least 80 % of the ROM (the default `partial_below`), so 12 % of
# the ROM. Nearer its start a hold of MERGE_HOLD_S or more is a rest before the phase (on
# a 45-degree press the lifter rests at the top with the knees unlocked, short of lockout).
STALL_FROM_FRACTION: Final = 0.15 * 0.80
STILL_MIN_SAMPLES: Final = 4
RELEVEL_WINDOW_S: Final = 0.5  # a small shift (under the movement threshold) that then stays
# still this long moves the hold level
HOLD_MEAN_MAX: Final = 100  # the hold level is a running mean over at most this many samples
STILL_GAP_S: Final = 0.4  # a hold is never confirmed across a gap this long
TURN_FIT_S: Final = 0.25  # raw readings this close to a turn's extreme are fitted (tempo.turns)
# ... and the fit is used only while the noise is under this many 2 % bands, and if its
# turn is not short of the smoothed one by more than this fraction of the ROM. Beyond it
# is no limit: smoothing only ever clips a turn, and a bounce at 30 Hz whose reading
# before the apex was missing came out clipped by 10.4 % of the ROM (accuracy seed
# 1002281: the fit, 1 mm from the truth, was refused and a full rep read partial).
TURN_FIT_NOISE: Final = 2.5
TURN_FIT_FRACTION: Final = 0.1
# The smoothed track flattens a bounce for a few samples, as if the sled were still; the
# newest readings then are already this far back from the extreme: no hold.
BOUNCE_BACK_BANDS: Final = 2.0
BOUNCE_BACK_NOISE: Final = 3.0
# A hold at the bottom the sled went back from sooner than this after reaching it may have
# been a bounce the still test took for one (`Segmenter._turn_in_hold`): the turn fit's
# whole window.
HOLD_TURN_MAX_S: Final = 2.0 * TURN_FIT_S
TRAIL_MAX: Final = 512  # the current movement's track, thinned to every other sample when full

StopKind = Literal["turn", "hold", "forced"]
TURN: StopKind = "turn"  # the sled turned around
HOLD: StopKind = "hold"  # the sled came to rest
FORCED: StopKind = "forced"  # the set or the stream ended: the movement's extreme stands in
Stall = tuple[float, float | None]  # seconds, position of its middle (tempo.stall)
# the movement that ended in the current hold: direction, arrival, start, from, peak, stall
HeldMove = tuple[int, float, float, float, float, Stall]

_HOLD = 0
_MOVING = 1


class Stop(NamedTuple):
    """The end of a movement, backdated to the 2 % convention."""

    kind: StopKind
    way: int  # of the movement that ended: +1 away from the start side, -1 back
    t_arrive: float  # when the sled came within 2 % of the ROM of `level`
    level: float  # where it stopped or turned (a hold's level, a turning point)
    t_depart: float | None  # a turn's other side: when the sled left that band again
    peak_speed: float  # of the movement that ended, mm/s (largest slope over 3 samples)
    stall: Stall  # its longest sticking point (tempo.stall)


class Movement(NamedTuple):
    """The movement under way (merged across short stops the same way)."""

    t_start: float  # when it left its stop or turn by 2 % of the ROM
    level_from: float  # that stop's level or turning point
    peak_speed: float  # so far, mm/s
    # the rise the rep machine watches for was seen in the readings' medians, in glare
    # (`Segmenter._risen`): the check of the readings' reach it makes of other reps when
    # they end (`RepMachine._readings_stayed_short`), already made
    in_readings: bool = False


class Listener(Protocol):
    """The next stage: what the segmenter tells it, at boundaries only (never per sample)."""

    def found(self, level: float) -> None:
        """The track (re)starts at `level`: the first sample, or after a sensor fault."""

    def started(self, way: int, t_start: float, level: float) -> None:
        """A movement `way` left its stop or turn at `t_start`, from `level` (a hold's
        level as it is when the sled leaves it, which may differ from its arrival's)."""

    def stopped(self, stop: Stop) -> None:
        """The movement under way ended."""

    def hold_lasted(self) -> None:
        """The hold of the last `stopped` has lasted STALL_MAX_S: a stop, not a stall."""

    def arrival_placed(self, t_was: float, t_now: float, level: float) -> None:
        """The sled left the hold that `stopped` said it reached at `t_was`; with the whole
        hold seen, that arrival is placed at `t_now`, and the hold's level read on the same
        readings is `level` (`stopped` had only the still window's)."""

    def hold_was_turn(self, t_was: float, level: float, t_arrive: float, t_depart: float) -> None:
        """The hold that `stopped` said the sled reached at `t_was` was a turn at `level`:
        within 2 % of it from `t_arrive` to `t_depart` (the raw readings around it fit a
        rounded V, seen outside the band either side)."""

    def rose(self, move: Movement, y: float) -> None:
        """The track, moving away, passed the rise watch; it is at `y` now."""

    def fell(self, move: Movement, high: float) -> None:
        """The track, moving back, passed the fall watch below `high`."""


class _Nobody:
    """The listener of a segmenter nobody listens to yet."""

    def found(self, level: float) -> None:
        pass

    def started(self, way: int, t_start: float, level: float) -> None:
        pass

    def stopped(self, stop: Stop) -> None:
        pass

    def hold_lasted(self) -> None:
        pass

    def arrival_placed(self, t_was: float, t_now: float, level: float) -> None:
        pass

    def hold_was_turn(self, t_was: float, level: float, t_arrive: float, t_depart: float) -> None:
        pass

    def rose(self, move: Movement, y: float) -> None:
        pass

    def fell(self, move: Movement, high: float) -> None:
        pass


class Segmenter:
    """Cuts the smoothed track into movements and stops; pure and deterministic."""

    def __init__(self, rom_mm: float, readings: RobustFilter, *, lockout_out: bool = True) -> None:
        """`readings` is the filter in front: its noise estimates and accepted readings;
        `lockout_out`: the far turns are at lockout (a rep that starts at the bottom)."""
        self.listener: Listener = _Nobody()
        self._rom = rom_mm
        self._lockout_out = lockout_out
        self._filter = readings
        self._smooth = readings.smoother
        self._band = BOUNDARY_FRACTION * rom_mm
        self._move_base = MOVE_FRACTION * rom_mm
        self._still_base = STILL_FRACTION * rom_mm
        self._home_mm = START_ZONE_FRACTION * rom_mm  # how far out the start side reaches
        self._trend_base = TREND_FRACTION * rom_mm
        self._level_tol = 0.25 * self._band
        self._track = Track(readings.smoother.accepted)
        self._bt = self._track.t  # the ring of smoothed samples (tempo.track)
        self._by = self._track.y
        self._place = Boundaries(self._track, rom_mm, self._band, self._home_mm)
        self.y: float | None = None
        """The newest smoothed sample; None before any."""
        self._restart = False
        self._owed = False  # the samples being taken are owed at a gap (step_owed)
        self._mode = _HOLD
        self._dir = 0
        self._level = 0.0
        self._hold_n = 1
        self._ext = 0.0
        self._n_ext = 0
        self._mv_t0 = 0.0
        self._mv_from = 0.0
        self._peak_v = 0.0
        # a departure from a hold whose time is placed again once the movement has gone far
        # enough to fit its line: (hold level, way, when it left the hold by 2 %, when the
        # hold side may begin at the earliest, and surely does, and when the sled reached
        # a hold it went back from soon: a turn, perhaps)
        self._start_fit: tuple[float, int, float, float, float, float | None] | None = None
        self._held_move: HeldMove | None = None
        self._hold_since: float | None = None  # arrival of the current hold, until it lasted
        # when the sled came to rest in the last hold (the end of its arrival's knee, else
        # its arrival), and when that hold was confirmed: a departure's knee is fitted to
        # the hold from the first, or if that fails from the second (`_settle_start`)
        self._at_rest_since = 0.0
        self._confirmed_at = 0.0
        # the current hold's arrival, to be placed again on the readings of the hold as the
        # sled leaves it (`_place_arrival_again`), or on the start side when this much of it
        # is seen (`_place_again_at`): (as placed, as first estimated, way, when the move
        # into it began, how much of the hold its knee takes)
        self._arrival_to_place: tuple[float, float, int, float, float] | None = None
        self._place_again_at = math.inf
        self._arrival_watched = math.nan  # the start-side arrival a listener waits for
        # the movement under way went on from that arrival's hold after a brief stall, or
        # on towards the stops: the hold it ends in is where the sled came to rest
        self._goes_on_watched = False
        # the current movement's track since it began (for its stall)
        self._trail_t: list[float] = []
        self._trail_y: list[float] = []
        self._trail_noise = 0.0  # the noise estimate when the trail began
        # the excursion watch: 0 off, +1 a rise above _watch_ref, -1 a fall from it (the
        # highest point since armed); its margin is _watch_mm + _watch_noise × noise (on
        # the way out, of the larger of the two noise estimates: glare that begins at rest)
        self._watch = 0
        self._watch_ref = 0.0
        self._watch_floor = 0.0
        self._watch_mm = 0.0
        self._watch_noise = 0.0
        self._risen_in_readings = False  # the last rise `_risen` saw was the readings' (glare)

    # ------------------------------------------------------------------ for the listener

    def watch_rise(self, ref: float, margin_mm: float, margin_noise: float) -> None:
        """Call `rose` once the track, moving away, is the margin above `ref`."""
        self._watch = 1
        self._watch_ref = ref
        self._watch_mm = margin_mm
        self._watch_noise = margin_noise

    def watch_fall(self, high: float, floor: float, margin_mm: float, margin_noise: float) -> None:
        """Call `fell` once the track, moving back, is the margin below its highest point
        since now (`high` so far). A turn hidden in a gap counts as a point of the track,
        and one on the way back is placed no lower than `floor` (where the excursion began:
        the lines into and out of a gap overshoot when the sled paused there)."""
        self._watch = -1
        self._watch_ref = high
        self._watch_floor = floor
        self._watch_mm = margin_mm
        self._watch_noise = margin_noise

    def watch_arrival(self, t_arrive: float) -> None:
        """Place the arrival of the start-side hold that `stopped` said the sled reached at
        `t_arrive` again once the hold is seen (`arrival_placed`): a rep ended there. Other
        start-side holds (a rest, a foot moved) are not placed again: nobody waits for them."""
        self._arrival_watched = t_arrive

    @property
    def n(self) -> int:
        """Smoothed samples taken so far."""
        return self._track.n

    @property
    def moving_since(self) -> float | None:
        """Start of the movement under way; None while the sled holds still."""
        return self._mv_t0 if self._mode == _MOVING else None

    def stop_at_extreme(self) -> Stop | None:
        """The movement under way taken as ended at its extreme (the set or the stream
        ended before it stopped); None while the sled holds still."""
        if self._mode != _MOVING:
            return None
        self._settle_start()
        d = self._dir
        ext = self._ext
        n = self.n
        stop = max(n - BUFFER + 1, 0)
        target = ext - d * self._band
        margin = ARRIVAL_NOISE * self._smooth.noise_mm
        k_ext = min(self._n_ext, n - 1)
        t_arrive = self._track.entry(k_ext, stop, target, d, margin=margin, t_from=self._mv_t0)
        stall = self._stall_until(t_arrive)
        return Stop(FORCED, d, t_arrive, ext, None, self._peak_v, stall)

    def restart(self) -> None:
        """After a sensor fault: whatever the sled did is unknown; start afresh from where
        the next sample finds it. The watch stays as the listener left it."""
        self._trail_t = []
        self._trail_y = []
        self._trail_noise = self._smooth.noise_mm
        self._mode = _HOLD
        self._dir = 0
        self._hold_n = 1
        self._held_move = None
        self._start_fit = None
        self._hold_since = None
        self._arrival_to_place = None
        self._place_again_at = math.inf
        self._goes_on_watched = False
        self._peak_v = 0.0
        self._restart = True

    # ------------------------------------------------------------------ per sample

    def step_owed(self, samples: list[tuple[float, float]]) -> None:
        """The smoothed samples the filter owes once no reading has been accepted for a
        while (read errors, out-of-range codes, a gap, a stuck sensor).

        They are medians of ever fewer of the last readings, which lag the newest one: the
        track looks flat at the end of a move and the still test took the blackout for a
        stop. A hold is confirmed on them only when the newest reading is within the band
        of the hold's level (a sled that stopped before the blackout); else the readings
        after it confirm the hold, backdated as ever.
        """
        self._owed = True
        try:
            for t, y in samples:
                self.step(t, y)
        finally:
            self._owed = False

    def step(self, t: float, y: float) -> None:
        """One smoothed sample (the hot path: boundaries call the listener, nothing else)."""
        bt, by = self._bt, self._by
        track = self._track
        n = track.n
        i = n % BUFFER
        bt[i] = t
        by[i] = y
        track.n = n + 1
        self.y = y
        trail_t = self._trail_t
        trail_t.append(t)
        self._trail_y.append(y)
        if len(trail_t) > TRAIL_MAX:
            del trail_t[::2]
            del self._trail_y[::2]
        if n == 0 or self._restart:
            self._restart = False
            self._level = y
            self.listener.found(y)
            return
        since = self._hold_since
        if since is not None and t - since >= STALL_MAX_S:
            self._hold_since = None
            self.listener.hold_lasted()
        if t >= self._place_again_at:
            self._place_again_at = math.inf
            if self._mode == _HOLD and self._level < self._home_mm:
                self._place_arrival_again(t, self._level)
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
                a = gap_at_turn(self._track, n, self._n_ext)
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
        watch = self._watch
        if watch > 0:
            if self._mode == _MOVING and self._dir > 0 and self._risen(y, noise):
                self._watch = 0
                self._settle_start()
                self._rose(y)
            elif self._mode == _HOLD:
                if y - self._level >= MOVE_NOISE * noise and self._risen(y, noise):
                    self._risen_in_hold(y)  # off its level by more than noise
                elif (
                    self._hold_since is None
                    and self._level - self._watch_ref >= self._watch_mm  # (no call per sample)
                    and self._risen(self._level, noise)
                ):
                    # A hold that lasted STALL_MAX_S is a stop, no stall, and its level (a
                    # mean of the samples on it: no noise around it makes that) followed
                    # the sled past the margin
                    self._risen_in_hold(self._level)
        elif watch < 0:
            if y > self._watch_ref:
                self._watch_ref = y
            elif (
                self._watch_ref - y >= self._watch_mm + self._watch_noise * noise
                and self._mode == _MOVING
                and self._dir < 0
            ):
                self._watch = 0
                self._settle_start()
                self.listener.fell(
                    Movement(self._mv_t0, self._mv_from, self._peak_v), self._watch_ref
                )

    def _rose(self, y: float) -> None:
        """Tell the listener the movement under way rose past the watch's margin, at `y`,
        and whether the readings' medians said so (`_risen`)."""
        self.listener.rose(
            Movement(self._mv_t0, self._mv_from, self._peak_v, self._risen_in_readings), y
        )

    def _risen_in_hold(self, y: float) -> None:
        """The sled, held after a move away from the start side just short of a rep, crept
        on past the watch's margin, by less than a new movement: the move that ended in
        the hold is a rep's way out, and the hold its far stop.

        Independent model seed 65198: a slow partial lowering, taken for a hold at 28 % of
        the ROM while it still crept, went on to 34 % within the hold and back: the rep was
        lost. The track must also be off the hold's level by more than the noise a still
        track strays (MOVE_NOISE): noise around a hold right at the margin is no rep (seed
        31111: a foot adjustment held there would have begun a rep 4.5 s early). Or, once
        the hold has lasted STALL_MAX_S, its level itself is past the margin: seed 73985, a
        hold confirmed in glare short of the margin glare set, whose level followed the
        sled on past it as the glare ended, the track never off the level by twice the
        noise. (Any sooner, a slow lowering in glare taken for a hold just after a turn
        that noise made was a rep too many as the glare's noise estimate fell: 74257.)
        """
        held = self._held_move
        if held is None or held[0] <= 0:
            return
        d, t_arrive, t_start, level_from, peak, stall = held
        self._watch = 0
        self.listener.rose(Movement(t_start, level_from, peak, self._risen_in_readings), y)
        self.listener.stopped(Stop(HOLD, d, t_arrive, self._level, None, peak, stall))

    # ------------------------------------------------------------------ holds

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
            slow_window = SLOW_MOVE_TRENDS * trend / speed
            if slow_window > window:
                if by[n % BUFFER] < self._home_mm:
                    # ending on the start side: long enough to see it in the noise, too
                    slow_window = max(slow_window, self._noisy_window(n, t, noise, trend, speed))
                window = min(slow_window, STILL_WINDOW_SLOW_MAX_S)
                slow = True
            elif by[n % BUFFER] < self._home_mm and not self._in_glare():
                # Ending on the start side, where the rep goes out once the hold is
                # confirmed: as long as the line through it needs to tell the movement that
                # came in, kept up, from a stop (SLOW_MOVE_SHIFT_ERRORS standard errors of
                # its shift), rather than in proportion to the noise. Not in glare, where the
                # hold's level (the lockout verdict of a rep from the top) is read from the
                # readings of the longer window. A rep from the bottom ends where a hold is
                # told from a bounce, which takes BOUNCE_MAX_S; a rep from the top ends at the
                # top, where no bounce is flagged, and the still test's own four samples are
                # the least it takes.
                told = self._noisy_window(n, t, noise, 0.0, speed)
                shortest = BOUNCE_MAX_S if self._lockout_out else 0.0
                window = min(max(told, shortest), STILL_WINDOW_MAX_S)
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
        if slow and self._track.fitted_shift(k + 1, n) > trend:
            return  # in noise, the ends of a slow move can look alike: all of it does not
        accepted = self._smooth.accepted
        if len(accepted) >= 3:
            a, b, c = accepted[-1][1], accepted[-2][1], accepted[-3][1]
            newest = max(min(a, b), min(max(a, b), c))  # median of the newest three
            back = self._dir * (self._ext - newest)
            noisiest = self._filter.reading_noise_mm
            if back > max(BOUNCE_BACK_BANDS * self._band, BOUNCE_BACK_NOISE * noisiest):
                return  # the readings are on their way back already: a bounce, not a hold
            if back > self._band and self._flattened_bounce(t, stop):
                return  # a touch-and-go the smoothing flattened
        # Still: the movement ended where the sled now rests.
        d = self._dir
        level = last
        if (
            accepted
            and (self._owed or accepted[-1][0] - t > GAP_MEAN_S)
            and d * (accepted[-1][1] - level) > self._band
        ):
            # The newest reading went on past samples the smoother owed (see step_owed),
            # or flushed when a reading came after a gap: medians of ever fewer readings
            # before it, which lag the way the sled was going.
            return
        self._mode = _HOLD
        self._level = level
        self._hold_n = 3
        held = self._held_move
        if held is not None and d * (level - self._mv_from) < self._band:
            # The sled is still where it stopped before: the departure was noise. That
            # stop goes on (its arrival and the movement that ended in it).
            h_dir, h_arrive, _, _, h_peak, h_stall = held
            self._start_fit = None
            self._hold_since = h_arrive
            self.listener.stopped(Stop(HOLD, h_dir, h_arrive, level, None, h_peak, h_stall))
            return
        self._settle_start()
        target = level - d * self._band
        # The arrival is the first entry into the band after the track was last clearly
        # outside it: noise on the still track dips out of the band and back in.
        t_arrive = self._track.entry(
            n, stop, target, d, margin=ARRIVAL_NOISE * noise, t_from=self._mv_t0
        )
        t_arrive = self._place.refined(t_arrive, target, d, self._smooth.noise_mm)
        t_near = t_arrive
        placed = self._place.arrival(n, t_near, level, d, noise, t_from=self._mv_t0)
        self._at_rest_since = t_arrive
        self._confirmed_at = t
        if placed is not None:
            t_arrive, self._at_rest_since, _ = placed
        self._arrival_to_place = None
        # (a watched arrival whose hold the sled went on from, `held` until this one, is
        # placed here, on the move into that hold and on from it)
        t_move = held[2] if self._goes_on_watched and held is not None else self._mv_t0
        # the hold side of its knee: at least as long as the move side
        hold_s = max(
            KNEE_HOLD_S,
            self._place.move_side_s(n, t_near, level, d, noise=noise, t_from=t_move),
        )
        if level >= self._home_mm or t - t_near < hold_s:
            # Placed again as the sled leaves the hold: away from the start side always
            # (the rep goes out only back on the start side, so nobody waits for it, and a
            # slow move into the hold is confirmed while it still creeps); on the start
            # side if less than `hold_s` of the hold was seen, once it has been (or the
            # sled leaves sooner), and only for the end of a rep (`watch_arrival`).
            t_was = self._arrival_watched if self._goes_on_watched else t_arrive
            self._arrival_to_place = (t_was, t_near, d, t_move, hold_s)
            if level < self._home_mm:
                self._place_again_at = t_near + hold_s
        peak = self._peak_v
        stall = self._stall_until(t_arrive)
        self._held_move = (d, t_arrive, self._mv_t0, self._mv_from, peak, stall)
        self._hold_since = t_arrive
        # The hold is reported at the median of the raw readings of the still window (the
        # newest three smoothed samples average only about seven readings, which glare put
        # a tenth of the ROM off); the segmenter's own level stays the smoothed one.
        seen = [x_r for _, x_r in self._track.accepted_after(bt[(k + 1) % BUFFER])]
        reported = level
        if len(seen) >= STILL_MIN_SAMPLES:
            seen.sort()
            m = len(seen)
            reported = 0.5 * (seen[(m - 1) // 2] + seen[m // 2])
        self.listener.stopped(Stop(HOLD, d, t_arrive, reported, None, peak, stall))

    def _noisy_window(self, n: int, t: float, noise: float, trend: float, speed: float) -> float:
        """The still window over which a movement at `speed` shifts the least-squares line
        of its readings SLOW_MOVE_SHIFT_ERRORS standard errors beyond `trend`.

        Over a window w at r readings per second that shift errs by
        noise * sqrt(12 / (r w)), so w solves speed w = trend + z noise sqrt(12 / (r w)):
        with x = sqrt(w), speed x^3 - trend x - c = 0, convex for x > 0, whose one positive
        root Newton's method reaches from above without overshooting.
        """
        if n < 8:
            return 0.0
        dt = t - self._bt[(n - 8) % BUFFER]
        if dt <= 0.0:
            return 0.0
        c = SLOW_MOVE_SHIFT_ERRORS * noise * math.sqrt(12.0 * dt / 8.0)
        x = math.sqrt(STILL_WINDOW_SLOW_MAX_S)
        if speed * x * x * x - trend * x - c <= 0.0:
            return STILL_WINDOW_SLOW_MAX_S  # it takes longer than the longest window
        for _ in range(NEWTON_STEPS):
            x -= (speed * x * x * x - trend * x - c) / (3.0 * speed * x * x - trend)
        return x * x

    def _flattened_bounce(self, t: float, stop: int) -> bool:
        """Whether the turn the still test would take for a hold is a bounce the smoothing
        flattened (`t`: the newest smoothed sample; the newest readings are already back
        from the extreme by more than the band).

        The smoothed track came in at speed (a band away from its extreme BOUNCE_MAX_S
        before it), and the raw readings since fit a rounded V that spends less than
        BOUNCE_MAX_S in the band, while the fit's window is still filling. Noise on a rest
        can make a V of two low readings; on a rest the track was not moving just before.
        """
        n_ext = self._n_ext
        if n_ext < stop:
            return False
        bt, by = self._bt, self._by
        t_ext = bt[n_ext % BUFFER]
        if t - t_ext > TURN_FIT_S:
            return False
        k = n_ext
        while k > stop and bt[k % BUFFER] > t_ext - BOUNCE_MAX_S:
            k -= 1
        d = self._dir
        if d * (self._ext - by[k % BUFFER]) <= self._band:
            return False
        fitted = self._fitted_turn(d, t_ext, self._ext, growing=True)
        return fitted is not None and fitted[2] - fitted[1] < BOUNCE_MAX_S

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
        if self._track.fitted_shift(k + 1, n) > trend:
            return
        self._level = mean
        self._hold_n = count

    # ------------------------------------------------------------------ turns

    def _reversal(self, n: int, t: float, y: float) -> None:
        bt, by = self._bt, self._by
        d = self._dir
        ext = self._ext
        stop = max(n - BUFFER + 1, 0)
        self._settle_start()
        # Arrival: the entry into the band before the turning point (see _entry).
        target_in = ext - d * self._band
        margin = ARRIVAL_NOISE * self._smooth.noise_mm
        k_ext = max(self._n_ext, stop)
        t_arrive = self._track.entry(k_ext, stop, target_in, d, margin=margin, t_from=self._mv_t0)
        # Departure: the last exit from the band on the way back.
        target_out = ext - d * self._band
        k = n
        while k > stop and d * (by[k % BUFFER] - target_out) < 0.0:
            k -= 1
        t_depart = self._track.crossing(k, target_out)
        t_ext = bt[self._n_ext % BUFFER] if self._n_ext >= stop else t_arrive
        t_arrive = min(t_arrive, t_ext)
        t_depart = max(t_depart, t_ext)
        fitted = self._fitted_turn(d, t_ext, ext)
        rest_from: float | None = None
        if fitted is not None:
            ext, t_arrive, t_depart = fitted
        else:
            t_arrive, rest_from = self._paused_arrival(k, t_arrive, ext, d)
        hidden = turn_in_gap(
            self._track,
            n,
            stop,
            d=d,
            k_ext=self._n_ext,
            ext=self._ext,
            band=self._band,
            raw_way_out=not self._in_glare(),
            slowing=self._into_lockout(d),
            noise=self._filter.reading_noise_mm,
        )
        if hidden is None and fitted is None:
            ext = first_after_gap(self._track, self._n_ext, d, ext, stop)
        if hidden is not None:
            ext, t_arrive, t_depart = hidden
            ext = first_after_gap(self._track, self._n_ext, d, ext, stop)
            # The hidden turn is a point of the track the watch never saw.
            watch = self._watch
            if watch < 0 and d > 0 and ext > self._watch_ref:
                self._watch_ref = ext  # the far turn happened unseen
            elif watch < 0 and d < 0:
                # The way back ended unseen (a stuck sensor or a gap over the turn).
                ext = max(ext, self._watch_floor)
                if (
                    self._watch_ref - ext
                    >= self._watch_mm + self._watch_noise * self._smooth.noise_mm
                ):
                    self._watch = 0
                    self.listener.fell(
                        Movement(self._mv_t0, self._mv_from, self._peak_v), self._watch_ref
                    )
        if hidden is not None and self._watch > 0 and d > 0 and not self._in_glare():
            # A far turn hidden in a gap: counted where the sled surely went, and no
            # shallower than that (but at lockout, where a sled slows into its stop and the
            # lines, which keep their speed, overshoot: there the cubic's level stays).
            sure = surely_reached_in_gap(
                self._track, n, d=d, k_ext=self._n_ext, noise=self._filter.reading_noise_mm
            )
            if sure is not None:
                if self._risen(sure, self._smooth.noise_mm):
                    self._watch = 0
                    self._rose(sure)
                if sure > ext and not self._lockout_out:  # (a far turn at the bottom)
                    ext = sure
        if self._watch > 0 and d > 0 and fitted is None and not self._in_glare():
            # A top hidden by a gap: the readings right after it may show a rise the
            # smoothed track (which starts again after the gap) never reached.
            seen = seen_after_gap(
                self._track,
                self._n_ext,
                d,
                self._ext,
                stop=stop,
                noise=self._filter.reading_noise_mm,
            )
            if self._risen(seen, self._smooth.noise_mm):
                self._watch = 0
                self._rose(seen)
        peak = self._peak_v
        stall = self._stall_until(t_arrive)
        self._restart_trail(t_depart)
        self._dir = -d
        self._ext = y
        self._n_ext = n
        self._peak_v = 0.0
        self._mv_t0 = t_depart
        self._mv_from = ext
        if hidden is None and rest_from is not None:
            # A turn that paused: its departure too is placed on a knee through the pause
            # and the way out, once the way out has gone far enough (_settle_start).
            self._start_fit = (ext, -d, t_depart, rest_from, rest_from, None)
        listener = self.listener
        listener.stopped(Stop(TURN, d, t_arrive, ext, t_depart, peak, stall))
        listener.started(-d, t_depart, ext)

    def _paused_arrival(
        self, k_out: int, t_arrive: float, ext: float, d: int
    ) -> tuple[float, float | None]:
        """The arrival of a turn that paused, placed on a knee through the move and the
        pause (smoothed samples up to `k_out`, the last in the band before the way back),
        and when the sled came to rest in the pause (None where no knee fits).

        After a slow move the still test needs a window as long as two seconds, and a
        shorter pause (a breath at the bottom after a slow negative) ends in a turn, not a
        hold; the entry into the band before a flat, noisy extreme is wherever noise put
        the track last outside it.
        """
        noise = self._smooth.noise_mm
        placed = self._place.arrival(
            k_out, t_arrive, ext, d, noise, t_from=self._mv_t0, settled=True
        )
        return (t_arrive, None) if placed is None else (placed[0], placed[1])

    def _fitted_turn(
        self, d: int, t_ext: float, ext: float, growing: bool = False, covered: bool = False
    ) -> tuple[float, float, float] | None:
        """The turn placed on the raw readings around it (tempo.turns), if that fits.

        At a reversal the smoothed track saw the turn, and one hidden in a gap of
        GAP_TURN_S is the gap logic's (`turn_in_gap`, which overrides this): the fit takes
        the readings there are, a gap beside them or not (it wants the sled seen outside
        the band either side). Accuracy seed 900391: readings missing for 0.15 s up to
        0.05 s before a bounce's apex, the fit refused, the flag lost. While the readings
        after the turn still arrive (`growing`), they must reach half the window before
        it; where the turn itself is in question (`covered`: a hold that may have been
        one), half the window either side, with no gap of GAP_TURN_S among them.
        """
        ts, ys = self._track.readings_between(t_ext - TURN_FIT_S, t_ext + TURN_FIT_S)
        if not ts:
            return None
        way_in_seen = ts[0] <= t_ext - 0.5 * TURN_FIT_S
        if covered:
            if (
                not way_in_seen
                or ts[-1] < t_ext + 0.5 * TURN_FIT_S
                or any(b - a >= GAP_TURN_S for a, b in pairwise(ts))
            ):
                return None
        elif growing and not way_in_seen:
            return None
        got = fit_turn(ts, ys, d, self._band)
        if got is None:
            return None
        level, t_turn, t_arrive, t_depart = got
        if self._in_glare():
            return None
        if d * (ext - level) > TURN_FIT_FRACTION * self._rom or abs(t_turn - t_ext) > TURN_FIT_S:
            return None
        return level, t_arrive, t_depart

    def _risen(self, y: float, noise: float) -> bool:
        """Whether level `y` is past the rise watch's margin, on the smoothed track's
        `noise` and on the raw readings' (the smoother follows glare only over a second or
        so: its swings around a resting sled must not make a rep; the way back keeps it).

        Past it on the smoothed track's noise only (glare), the readings decide: their
        medians went past the margin's distance by RISE_MEDIAN_NOISE deviations, from the
        higher of the base and where they rested before the movement (a turn in glare
        below the rest is no lower start for them). Independent seed 75163: a partial rep
        38 % out in glare of 15-30 mm, short of 30 % plus 1.5 deviations, was lost.
        `_risen_in_readings` says which of the two it was."""
        past = y - self._watch_ref - self._watch_mm
        self._risen_in_readings = False
        if past < self._watch_noise * noise:
            return False
        if past >= self._watch_noise * self._filter.reading_noise_mm:
            return True
        ref = self._watch_ref
        rest = self._filter.median_before(self._mv_t0)
        if rest is not None and rest > ref:
            ref = rest
        t = self._bt[(self._track.n - 1) % BUFFER]
        reached = self._filter.readings_reached(
            ref + self._watch_mm,
            t - RISE_READINGS_S,
            t,
            t,
            deviations=RISE_MEDIAN_NOISE,
        )
        self._risen_in_readings = reached is True
        return self._risen_in_readings

    def _into_lockout(self, way: int) -> bool:
        """Whether a movement the `way` way ends at lockout (where a sled slows into its
        stop) rather than at the bottom (where it may bounce)."""
        return (way > 0) == self._lockout_out

    def _in_glare(self) -> bool:
        """Whether the raw readings are so noisy that they say less than the smoothed
        track (then turns are not placed on them)."""
        return self._filter.reading_noise_mm > TURN_FIT_NOISE * self._band

    # ------------------------------------------------------------------ departures

    def _departure(self, n: int, t: float, y: float) -> None:
        by = self._by
        level = self._level
        d = 1 if y > level else -1
        target = level + d * self._band
        stop = max(n - BUFFER + 1, 0)
        k = n
        while k > stop and d * (by[k % BUFFER] - target) > 0.0:
            k -= 1
        t_depart = self._track.crossing(k, target)
        t_depart = self._place.refined(t_depart, target, d, self._smooth.noise_mm)
        held = self._held_move
        turned_unseen = False
        if held is not None and held[0] == -d and not self._in_glare():
            # The sled went on into a gap (a stuck sensor) and turned there: the hold was
            # its last readings before the gap, and the first after it show it beyond.
            hidden = turn_behind_hold(
                self._track,
                n,
                stop,
                d=-d,
                level=level,
                band=self._band,
                noise=self._filter.reading_noise_mm,
                slowing=self._into_lockout(-d),
                arrived=held[1],
            )
            if hidden is not None:
                level, t_depart = hidden
                turned_unseen = True
        self._mode = _MOVING
        self._dir = d
        self._ext = y
        self._n_ext = n
        self._peak_v = 0.0
        self._mv_t0 = t_depart
        self._mv_from = level
        self._hold_since = None
        # (a phase begins on the start side at the nearest: a burst beyond it is no start)
        away = level >= self._home_mm or (
            held is not None
            and d > 0
            and level - max(held[3], 0.0) >= STALL_FROM_FRACTION * self._rom
        )
        merge_s = STALL_MAX_S if away else MERGE_HOLD_S
        if held is not None and held[0] == d and held[1] > held[2]:
            # A sled that never stopped spends 2 bands / its speed within a band either
            # side of a level: that much of a "hold" after a slow move is the move going on
            # (never past STALL_MAX_S, when `hold_lasted` has told the listener it stopped).
            speed = abs(level - held[3]) / (held[1] - held[2])
            if speed > 0.0:
                merge_s = min(merge_s + 2.0 * self._band / speed, STALL_MAX_S)
        if held is not None and held[0] == d and t_depart - held[1] < merge_s:
            # A brief stall (or noise that looked still): the earlier movement goes on.
            self._mv_t0 = held[2]
            self._start_fit = None
            self._mv_from = held[3]
            self._peak_v = held[4]
            self._arrival_to_place = None  # no stop after all
            self._place_again_at = math.inf
            self._goes_on_watched = held[1] == self._arrival_watched
        else:
            # A sled that lowers on from a rep's end at the bottom had not reached the
            # stops: a smooth 12 s negative creeps its last 5 % over two seconds, and a
            # hold confirmed as it crept a second before it came to rest is no stall the
            # movement goes on from (it lasted too long). The hold it comes to rest in
            # places the rep's end. (Not a push into lockout, which does not creep so:
            # there it was noise at a hold in glare, and rep ends came out late.)
            self._goes_on_watched = (
                self._lockout_out
                and held is not None
                and held[0] == d
                and held[1] == self._arrival_watched
                and level < self._home_mm
            )
            self._restart_trail(t_depart)
            # placed again on a knee once the movement has gone far enough (_settle_start)
            rest_from = sure_from = -math.inf
            turn_from = None
            if held is not None:
                # not the readings of the way in: from where it came to rest
                rest_from, sure_from = self._at_rest_since, self._confirmed_at
                if (
                    held[0] == -d
                    and not self._into_lockout(held[0])
                    and t_depart - held[1] < HOLD_TURN_MAX_S
                ):
                    turn_from = held[1]
            # (a turn in a gap has no hold to fit a knee through: its times are unknown)
            self._start_fit = (
                None if turned_unseen else (level, d, t_depart, rest_from, sure_from, turn_from)
            )
        self.listener.started(d, t_depart, level)

    def _restart_trail(self, t_from: float) -> None:
        """The track of a new movement begins at its start (from the ring buffer)."""
        self._trail_t, self._trail_y = self._track.since(t_from)
        self._trail_noise = self._smooth.noise_mm

    def _stall_until(self, t_arrive: float) -> Stall:
        """The longest stall of the movement that just ended (tempo.stall). Noise grows
        with distance, so it is taken at the end of the travel where it is larger."""
        noise = max(self._trail_noise, self._smooth.noise_mm)
        return longest_stall(self._trail_t, self._trail_y, self._mv_t0, t_arrive, noise)

    def _settle_start(self) -> None:
        """The departure of the movement under way placed on a `Knee`, once the movement
        has gone far enough to fit its line (it is handed on, or it ended)."""
        fit = self._start_fit
        if fit is None:
            return
        self._start_fit = None
        level, d, t_depart, rest_from, sure_from, turn_from = fit
        if turn_from is not None and self._turn_in_hold(turn_from, t_depart, level, -d):
            return
        n = self._track.n - 1
        # the hold side at least as long as the move side
        hold_from = t_depart - max(KNEE_HOLD_S, self._bt[n % BUFFER] - t_depart)
        t_hold = max(hold_from, rest_from)
        t_sure = max(hold_from, sure_from)
        noise = self._smooth.noise_mm
        placed = self._place.departure(n, level, d, t_hold=t_hold, t_start=self._mv_t0, noise=noise)
        if placed is None and t_sure > t_hold:
            # The tail of the ramp into a hold whose arrival no knee placed lay on its side
            # (a few millimetres that a knee in little noise does not fit): from where the
            # hold was confirmed, where the sled was still.
            placed = self._place.departure(
                n, level, d, t_hold=t_sure, t_start=self._mv_t0, noise=noise
            )
        if placed is None:
            # No knee says where the ramp out began: the hold it left is still placed
            # again, up to where the track left its band (the first 2 % of a ramp out
            # moves its level by a fraction of a millimetre).
            self._place_arrival_again(t_depart, level)
            return
        t_start, t_left = placed
        if t_start is not None:
            self._mv_t0 = t_start
        self._place_arrival_again(t_left, level)

    def _turn_in_hold(self, t_arrive: float, t_depart: float, level: float, d: int) -> bool:
        """Whether the hold at the bottom the sled reached (the `d` way) at `t_arrive` and
        went back from at `t_depart` was a bounce: the raw readings around it, now that the
        way back has gone far enough, fit a rounded V seen outside the band either side
        that spends less than BOUNCE_MAX_S in it. The listener is told, and the movement
        under way starts where the V left the band.

        The still test confirms a hold on the smoothed track, which flattens a bounce for
        a few samples, and a burst or a gap at the apex flattens it for longer: a bounce
        read as a bottom pause of 0.15-0.3 s (accuracy seeds 900059, 900389). A V through
        a real pause of 0.2-0.5 s places its ends worse than the hold's knees do (kinds
        seed 70062: a pause at lockout 22 ms off came out 129 ms short), so holds at the
        top, and any the V says lasted BOUNCE_MAX_S or more, keep their knees.
        """
        fitted = self._fitted_turn(d, 0.5 * (t_arrive + t_depart), level, covered=True)
        if fitted is None or fitted[2] - fitted[1] >= BOUNCE_MAX_S:
            return False
        turn, t_in, t_out = fitted
        self._arrival_to_place = None
        self._place_again_at = math.inf
        self._mv_t0 = t_out
        self._mv_from = turn
        self.listener.hold_was_turn(t_arrive, turn, t_in, t_out)
        return True

    def _place_arrival_again(self, t_left: float, level: float) -> None:
        """The arrival of the hold at `level` the sled left at `t_left` (where its ramp out
        began), placed on the raw readings of the move into it and of up to KNEE_HOLD_S
        of the hold: its level is then the whole hold's, not where the sled still crept
        when the hold was confirmed."""
        placed = self._arrival_to_place
        if placed is None:
            return
        self._arrival_to_place = None
        self._place_again_at = math.inf
        t_was, t_near, d, t_move, hold_s = placed
        if level < self._home_mm and t_was != self._arrival_watched:
            return
        n = self._track.n - 1
        again = self._place.arrival_again(
            n,
            level,
            d,
            t_near=t_near,
            t_left=t_left,
            t_move=t_move,
            noise=self._smooth.noise_mm,
            hold_s=hold_s,
        )
        if again is not None and again[0] != t_was:
            self.listener.arrival_placed(t_was, again[0], again[1])
