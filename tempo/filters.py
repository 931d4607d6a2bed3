"""The outlier gate in front of the smoother (docs/engine.md, "Filtering", stages 1-2).

Short runs of identical readings from a sensor known to be noisy are a stuck sensor, and
so are runs longer than a quieter sensor gives on a still sled: the repeats count as
missing. A gate holds back readings that are physically impossible given
the recent track (spikes, bursts of wrong readings); its allowance grows a little with the
time since the last reading. Held readings that persist and agree with each other are
taken back in, in order, so a violent turnaround, a gap or the jump after a stuck sensor
costs a few samples of delay but no information. What passes goes to `tempo.smoother`
(a median of five and a mean of three, three samples late; the engine backdates every
boundary, so the delay only affects when events are emitted, not the times they carry).
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left, insort
from collections import deque
from itertools import chain, pairwise
from typing import Final

from tempo.crossings import line_fit
from tempo.gaps import GAP_TURN_S
from tempo.smoother import GAP_MEAN_S, NOISE_INITIAL_MM, NOISE_SEEN, Smoother

# Rejected readings that persist this many samples and agree with each other are the truth
# after all (a violent turnaround, the sled elsewhere after a gap): they are taken back in.
REACQUIRE_N: Final = 7
# They agree when they lie on a line within a third of the gate, or within 3 deviations of
# the noise. A reading the gate would accept meanwhile is held with them when it lies that
# close to the way the last two were going: the readings of a way the track lost (after a
# stuck sensor or a gap, or a drop too fast for the gate at 20 Hz) must not be thrown away
# because the next one happens to fall inside the gate. A burst of wrong readings beside
# the track is beyond the gate, so the sled's next reading is not on its way.
LINE_GATE: Final = 0.35
LINE_NOISE: Final = 3.0
# ... provided the sled could have got there: no faster than this since the track's last
# news (a run of identical readings is no news: the sensor may have been stuck) ...
MAX_SPEED_MM_S: Final = 3000.0  # a dropped sled reaches 2.5 m/s; this leaves a margin
# Held readings on a line steeper than this are not taken back as that line: in glare a
# few noisy readings and a burst can line up that steeply. A faster move is taken back
# once the readings after it agree (the stop it ran into), with the way there.
LINE_SPEED_MAX_MM_S: Final = 1500.0
# ... and no harder than this from the speed it had (a sled dropped or kicked: about 3 g,
# far more than gravity gives on an inclined sled), so a burst of seven wrong readings
# right after the last good one is no jump the sled could have made.
MAX_ACCEL_MM_S2: Final = 30_000.0
# ... or, failing that, once they have persisted this long.
HELD_MAX_S: Final = 1.2
# ... or once this many readings in a row were held back, not all alike: longer than any
# burst of wrong readings, so it is the track that lost the sled (a fast start in glare).
HELD_TRUST_N: Final = 20
# The way held readings were going is read from this many of the newest.
HELD_WAY_N: Final = 4
# The longest burst of wrong readings a sensor gives (the gate drops bursts up to this long).
BURST_MAX_N: Final = 6
EXTRAPOLATE_MAX_S: Final = 0.2  # the track's velocity is not trusted further ahead than this
HELD_KEEP: Final = 64  # held readings kept at most (bounded memory)
DISOWNED_KEPT: Final = 8  # recent bursts taken out, remembered (bounded memory)
# Every valid reading (held back or not, stuck repeats aside) kept for `readings_reached`:
# 10 s at 50 Hz, longer than any rep that noise and a burst could make ...
READINGS_KEPT: Final = 512
READINGS_ABOUT_N: Final = 5  # readings at least for `readings_about` (three second differences)
# ... whose running median over this many readings no burst moves.
BURST_MEDIAN_N: Final = 2 * BURST_MAX_N + 1
# A smoothed sample holds readings up to three either side (a median of five, a mean of
# three): 0.15 s at 20 Hz. A turn this close to a burst's readings may be the burst's.
SMOOTHED_REACH_S: Final = 0.15
# Gate: base allowance plus what a hard-pushed sled (acceleration) can add during a gap.
GATE_ACCEL_MM_S2: Final = 3000.0
GATE_NOISE: Final = 2.5
TRACK_ALPHA: Final = 0.6
TRACK_BETA: Final = 0.25
# A noisy sensor does not repeat itself: beyond this many identical readings in a row, while
# the noise on a still sled is at least STUCK_NOISE_MM, the sensor is stuck and they are
# missing (the noise estimate while moving also holds the sled's acceleration);
# a run longer than STUCK_MAX_S is a quiet sensor on a still sled after all and counts.
STUCK_REPEATS: Final = 3
STUCK_NOISE_MM: Final = 1.5
STUCK_MAX_S: Final = 1.0
# A quieter sensor repeats itself on a still sled, but not for long: a run of repeats that
# a still sensor with its noise gives less than once in this many readings is stuck too
# (accuracy seed 900042: a still noise of 1.2 mm known from the bottom, stuck for 1.0 s as
# the sled left the top; its repeats were taken for the sled at rest, and the lowering's
# start placed 0.68 s late).
STUCK_CHANCE: Final = 1e-4
STILL_SPEED_MM_S: Final = 50.0
# A sled at rest: its last five readings span less than this many deviations of the gate's
# noise (99 times in 100 for a still sled: 4.6), and by the next reading it can be no
# further from the track than that much noise (one reading in 7,000 strays so far) plus
# what MAX_ACCEL_MM_S2 moves it from rest. At 50 Hz with 2 mm of noise that is 16 mm, where
# the base allowance is 40 mm or more; at the gate's 2.5 deviations instead, the noise of a
# far sensor itself was trimmed and a long hold there showed false movements.
REST_NOISE: Final = 5.0
GAP_GROWTH_MAX_S: Final = 0.12  # the gate stops growing after this long without readings
# The noise is the median size of the last NOISE_WINDOW second differences of every valid
# reading (accepted or held back), scaled to one standard deviation of Gaussian noise: a
# spike or a burst of wrong readings only makes a few large differences, at its edges, so
# it cannot inflate the estimate (and open the gate for itself), while seconds of glare
# raise it within a few samples, whether the gate lets those readings in or not.
NOISE_WINDOW: Final = 25
NOISE_SCALE: Final = 1.2
# Until the window is full (the first half second or so of a stream) a burst is not a few
# of its differences but up to half of them, and the median is one of its edges: the
# estimate is then read from the lowest quarter of the sizes, which stays right with three
# in four of them wrong. For Gaussian noise the median size is this many times the lower
# quartile (0.674 / 0.319 deviations), so both read the same deviation.
MEDIAN_PER_LOWER_QUARTILE: Final = 2.12


def _reach_mm(speed_mm_s: float, dt_s: float) -> float:
    """How far a sled going `speed_mm_s` can be after `dt_s`: at most 3 m/s, and no more than
    its speed and 3 g of acceleration take it."""
    return min(MAX_SPEED_MM_S * dt_s, speed_mm_s * dt_s + 0.5 * MAX_ACCEL_MM_S2 * dt_s * dt_s)


def _way_onto_line(
    ts: list[float],
    xs: list[float],
    x_lines: list[float],
    on: list[bool],
    tol: float,
    *,
    track: tuple[float, float, float],
) -> list[int]:
    """The indices of the held readings the sled could have followed onto the line they
    end on, from the track (`track`: time, position, speed).

    `x_lines` is the line at each reading's time and `on` tells the readings within `tol`
    of it. The way is the longest chain in which each reading is within reach of the one
    before, lies on the line or between the one before and the line (or within `tol` of
    the one before, on its side of the line: a sled dwelling at a turn that a gap hid, in
    noise), and stays on the line once there. A burst of wrong readings that lines up
    during a fast move is left out and the sled's own readings are kept. Empty when no
    reading on the line is within reach of the track.
    """
    t0, x0, v0 = track
    n = len(ts)
    length = [0] * n  # of the longest chain ending at each reading (0: none reaches it)
    before = [-1] * n
    for j in range(n):
        a, b, x_line = ts[j], xs[j], x_lines[j]
        dt = a - t0
        reach = _reach_mm(abs(v0), dt)
        if abs(b - x0) <= reach + tol and (on[j] or (b - x0) * (x_line - b) > 0.0):
            length[j] = 1
        for i in range(j):
            if length[i] == 0 or length[i] < length[j]:
                continue
            if on[i]:
                ok = on[j]  # along the line, which is a speed the sled can go
            else:
                step = b - xs[i]
                ok = abs(step) <= MAX_SPEED_MM_S * (a - ts[i]) + tol and (
                    on[j]
                    or step * (x_line - b) > 0.0
                    or (-tol <= step <= tol and (x_line - b) * (x_line - xs[i]) > 0.0)
                )
            if ok:
                length[j] = length[i] + 1
                before[j] = i
    ends = [j for j in range(n) if on[j] and length[j]]
    if not ends:
        return []
    path = [ends[-1]]
    while before[path[-1]] >= 0:
        path.append(before[path[-1]])
    return path[::-1]


def _noise_of(ts: list[float], xs: list[float], i: int, w: int) -> float:
    """The deviation of the readings `i` to `i + w` (consecutive, either order): the median
    size of their second differences, scaled as the gate's estimate is (motion at a steady
    speed cancels in them, so a sled moving through a turn is not taken for noise)."""
    sizes = []
    for k in range(i + 1, i + w - 1):
        t0, t1, t2 = ts[k - 1], ts[k], ts[k + 1]
        span = t2 - t0
        if span != 0.0:
            r = xs[k] - (xs[k - 1] + (xs[k + 1] - xs[k - 1]) * (t1 - t0) / span)
            sizes.append(r if r >= 0.0 else -r)
    if not sizes:
        return 0.0
    sizes.sort()
    return NOISE_SCALE * sizes[len(sizes) // 2]


def _unlikely_repeats(noise_mm: float) -> int:
    """How many repeats of one reading a still sensor with `noise_mm` of noise (whole
    millimetres) gives less than once in 1 / STUCK_CHANCE readings: each repeat hits the
    first reading's millimetre, no likelier than the commonest millimetre, 1 / (noise
    sqrt(2 pi)) (a sensor quieter than that repeats itself at will: never)."""
    p = 1.0 / (noise_mm * math.sqrt(2.0 * math.pi)) if noise_mm > 0.0 else 1.0
    if p >= 1.0:
        return sys.maxsize
    return max(STUCK_REPEATS, math.ceil(math.log(STUCK_CHANCE) / math.log(p)))


class RobustFilter:
    """Turns raw readings into a smoothed, late, but backdatable position track."""

    __slots__ = (
        "_before_jumps",
        "_beyond_mm",
        "_gate_base_mm",
        "_gate_noise_mm",
        "_held_t",
        "_held_x",
        "_last_raw",
        "_prev_t",
        "_r2",
        "_r2_i",
        "_r2_sorted",
        "_raw_n",
        "_raw_t0",
        "_raw_t1",
        "_raw_x0",
        "_raw_x1",
        "_readings",
        "_repeats",
        "_rest_jump",
        "_run_n",
        "_run_noise",
        "_run_t",
        "_same_t",
        "_stuck_n",
        "_trk_news_t",
        "_trk_t",
        "_trk_v",
        "_trk_x",
        "_unswung",
        "disowned",
        "smoother",
    )

    def __init__(self, gate_base_mm: float, beyond_mm: float = -math.inf) -> None:
        """`beyond_mm`: readings below this are held back like outliers (the start side's
        limit, in the caller's coordinate; none by default)."""
        self._gate_base_mm = gate_base_mm
        self._beyond_mm = beyond_mm
        self.smoother = Smoother()
        """The stage after the gate; its noise estimates are the engine's."""
        self._held_t: list[float] = []  # rejected readings waiting for a verdict
        self._held_x: list[float] = []
        self._gate_noise_mm = NOISE_INITIAL_MM
        # the last two valid readings (stuck repeats excluded), older first; how many so far
        self._raw_n = 0
        self._raw_t0 = self._raw_t1 = self._raw_x0 = self._raw_x1 = 0.0
        self._r2: list[float] = []  # sizes of the last NOISE_WINDOW second differences
        self._r2_i = 0
        self._r2_sorted: list[float] = []  # the same, kept sorted (for the median)
        self._run_n = 0  # accepted readings identical to the one before, in a row
        self._run_t = 0.0  # time the current run of identical readings began
        self._last_raw = -1.0
        self._repeats = 0
        self._same_t = 0.0  # time the current run of identical raw readings began
        # the still noise when it began (its repeats talk the estimate down), and how many
        # repeats of it are a stuck sensor (worked out once it has STUCK_REPEATS; until then
        # the last run's count, never below STUCK_REPEATS, says not yet)
        self._run_noise = NOISE_INITIAL_MM
        self._stuck_n = STUCK_REPEATS
        self._prev_t = 0.0  # time of the previous valid reading, accepted or held
        self._trk_t: float | None = None  # alpha-beta tracker of accepted readings (gate only)
        self._trk_x = 0.0
        self._trk_v = 0.0
        # When the raw readings last said something new, as of the last accepted one: a
        # stuck sensor's repeat accepted after STUCK_MAX_S is no news of the sled.
        self._trk_news_t = 0.0
        # The track (time, position, speed, news time) before each recent accepted reading
        # that landed far off it, and that reading's time: any may have been a burst's first.
        self._before_jumps: list[tuple[float, float, float, float, float]] = []
        # The track (time, position, speed) as it was before the last accepted reading,
        # when that reading landed far off it: the next reading says which of the two
        # the sled is on (`push`).
        self._unswung: tuple[float, float, float] | None = None
        # A reading far off a sled at rest, accepted: when it was, the level the sled
        # rested at, and how many readings have been accepted since it, itself included
        # (`_burst_beside_rest_over`).
        self._rest_jump: tuple[float, float, int] | None = None
        self._readings: deque[tuple[float, float]] = deque(maxlen=READINGS_KEPT)
        self.disowned: list[tuple[float, float]] = []
        """Recent spans (from, to) of accepted readings the gate later found were a burst
        and took out; smoothed outputs made from them before that stand (the engine
        checks a rep's far turn against them)."""

    @property
    def noise_mm(self) -> float:
        """The smoother's running estimate of the reading noise (one deviation)."""
        return self.smoother.noise_mm

    @property
    def backlog(self) -> list[tuple[float, float]]:
        """Extra outputs (a flush at a gap, readings taken back in); the caller drains it."""
        return self.smoother.backlog

    @property
    def repeats_are_stuck(self) -> bool:
        """Whether identical readings in a row mean a stuck sensor (it is noisy when still)."""
        return self.smoother.still_noise_mm >= STUCK_NOISE_MM

    @property
    def stuck(self) -> bool:
        """Whether the sensor is stuck now: the newest readings repeat one value, more than
        a noisy sensor ever does, or longer than a quiet one does (`push` drops such
        repeats as missing for STUCK_MAX_S)."""
        return self._repeats >= self._stuck_n

    @property
    def stuck_since(self) -> float:
        """When the run of repeats began: its first reading was the sensor's last news."""
        return self._same_t

    @property
    def gate_noise_mm(self) -> float:
        """Robust noise of every valid reading (gated or not), as the gate uses it."""
        return self._gate_noise_mm

    @property
    def reading_noise_mm(self) -> float:
        """The deviation of a reading now: the larger of the two estimates (the gate's
        sees glare begin sooner, the smoother's follows the accepted readings)."""
        return max(self.smoother.noise_mm, self._gate_noise_mm)

    def push(self, t_s: float, x_mm: float) -> tuple[float, float] | None:
        """Feed one valid reading; returns a smoothed (t_s, position) when one is ready."""
        smoother = self.smoother
        if x_mm == self._last_raw:
            repeats = self._repeats + 1
            self._repeats = repeats
            if repeats == STUCK_REPEATS:
                self._stuck_n = (
                    STUCK_REPEATS if self.repeats_are_stuck else _unlikely_repeats(self._run_noise)
                )
            if repeats >= self._stuck_n and t_s - self._same_t < STUCK_MAX_S:
                held = self._held_x
                if not (held and held[-1] == x_mm):
                    # (a quiet sensor's repeats, found stuck only now, were taken as news:
                    # the sled may have moved since the run began)
                    self._trk_news_t = min(self._trk_news_t, self._same_t)
                    return None
                if self._stuck_n == STUCK_REPEATS:  # a noisy sensor's run
                    # Stuck on a reading the gate holds back: the sensor is answering, so
                    # this is no time without readings to widen the gate by (a wrong
                    # value stuck for 0.2 s must not open the way for a burst next to it).
                    self._prev_t = t_s
                    return None
                # (a quiet sensor's, found stuck later, stay held with it: a held value
                # is no hold of the sled's, and what the gate does with it stands)
        else:
            self._last_raw = x_mm
            self._repeats = 0
            self._same_t = t_s
            # (unknown until the estimate has seen enough of a still sled: then never stuck)
            self._run_noise = smoother.still_noise_mm if smoother.still_seen >= NOISE_SEEN else 0.0
        self._readings.append((t_s, x_mm))
        # The gate's noise (inline: this runs for every reading).
        n = self._raw_n
        x1 = self._raw_x1
        if not n or x_mm != x1:  # a repeat says nothing new (a stuck sensor would talk the
            t1 = self._raw_t1  # estimate down)
            if n >= 2:
                t0 = self._raw_t0
                x0 = self._raw_x0
                span = t_s - t0
                if span > 0.0 and t_s - t1 <= GAP_MEAN_S:
                    # linear motion cancels in the second difference
                    r = x1 - (x0 + (x_mm - x0) * (t1 - t0) / span)
                    if r < 0.0:
                        r = -r
                    r2 = self._r2
                    ranked = self._r2_sorted
                    if len(r2) == NOISE_WINDOW:
                        i = self._r2_i
                        del ranked[bisect_left(ranked, r2[i])]
                        r2[i] = r
                        self._r2_i = i + 1 if i + 1 < NOISE_WINDOW else 0
                        insort(ranked, r)
                        self._gate_noise_mm = NOISE_SCALE * ranked[NOISE_WINDOW // 2]
                    else:
                        r2.append(r)
                        insort(ranked, r)
                        if len(ranked) >= 5:
                            self._gate_noise_mm = (
                                NOISE_SCALE * MEDIAN_PER_LOWER_QUARTILE * ranked[len(ranked) // 4]
                            )
            else:
                self._raw_n = n + 1
            self._raw_t0 = t1
            self._raw_x0 = x1
            self._raw_t1 = t_s
            self._raw_x1 = x_mm
        trk_t = self._trk_t
        gap = t_s - self._prev_t
        self._prev_t = t_s
        if trk_t is None:
            self._trk_t = self._trk_news_t = t_s
            self._trk_x = x_mm
            return smoother.accept(t_s, x_mm, True)
        # After a gap the sled may be anywhere, but the first readings after it may also be
        # nonsense: a far reading is held like any other until a few agree with each other.
        if gap > GAP_GROWTH_MAX_S:  # noqa: PLR1730 (per reading: no call)
            gap = GAP_GROWTH_MAX_S
        dt = t_s - trk_t
        if dt > EXTRAPOLATE_MAX_S:  # noqa: PLR1730 (per reading: no call)
            dt = EXTRAPOLATE_MAX_S
        trk_v = self._trk_v
        pred = self._trk_x + trk_v * dt
        r = x_mm - pred
        # The allowance grows with the time without any reading (not with time spent
        # holding readings back, or a persistent wrong value would end up accepted), and
        # only a little: larger jumps must be confirmed by readings that agree.
        gate_base = self._gate_base_mm
        noise = self._gate_noise_mm
        gate_n = GATE_NOISE * noise
        gate = gate_n if gate_n > gate_base else gate_base
        grown = 0.5 * GATE_ACCEL_MM_S2 * gap * gap
        gate += grown
        unswung = self._unswung
        if unswung is not None:
            # The last reading landed far off the track and swung it: a spike swings the
            # tracker's speed by hundreds of mm/s (accuracy seed 3002907, 50 Hz: a spike
            # at the gate's edge in a slow lowering turned -165 mm/s into -700, the
            # sled's next readings were held as off the swung track and a burst came
            # in). Of the track with it and the track without it, the one the next
            # reading lies nearer goes on, if it lies within the gate of that one (a
            # reading off both says nothing).
            self._unswung = None
            u_t, u_x, u_v = unswung
            u_dt = t_s - u_t
            if u_dt > EXTRAPOLATE_MAX_S:  # noqa: PLR1730 (per reading: no call)
                u_dt = EXTRAPOLATE_MAX_S
            u_pred = u_x + u_v * u_dt
            u_r = x_mm - u_pred
            if -gate <= u_r <= gate and abs(u_r) < abs(r):
                self._trk_t = trk_t = u_t
                self._trk_x = u_x
                self._trk_v = trk_v = u_v
                dt, pred, r = u_dt, u_pred, u_r
        if r > gate or r < -gate or x_mm < self._beyond_mm:
            self._hold(t_s, x_mm, gate)
            return None
        rest = REST_NOISE * noise + 0.5 * MAX_ACCEL_MM_S2 * dt * dt + grown
        # Further than a sled at rest can go by now: held if it was at rest (the last five
        # readings within the noise), so the first of a burst beside a still sled stays out
        # however far inside the base allowance it lands (the rest follow it).
        if (r > rest or r < -rest) and self._at_rest():
            self._hold(t_s, x_mm, rest)
            return None
        if self._held_t:
            if self._continues_held(t_s, x_mm, gate, r) or self._nearer_held_than_stale(
                t_s, x_mm, trk_t, r
            ):
                self._hold(t_s, x_mm, gate)
                return None
            self._held_t.clear()
            self._held_x.clear()
        last = smoother.window_x
        if last and x_mm == last[-1]:
            self._run_n += 1
        else:
            self._run_n = 0
            self._run_t = t_s
        far = r > LINE_GATE * gate or r < -LINE_GATE * gate
        if (
            self._rest_jump is not None or (far and self._rest_jump_ok(r, gate))
        ) and self._burst_beside_rest_over(t_s, x_mm):
            trk_v = 0.0  # the burst is out: the sled is at rest where it was
            pred = self._trk_x
            r = x_mm - pred
            far = r > LINE_GATE * gate or r < -LINE_GATE * gate
        if far:
            # Far off the track: perhaps a burst's first reading (`_burst_before`). The
            # track before each such reading is kept while a burst begun there may last:
            # the next ones land off the track it swung too, and a noisy reading of the
            # sled just before a burst can land off it as well (independent seed 32143:
            # taken for the burst's start, it lay on the sled's line, and the burst
            # stayed in).
            jumps = self._before_jumps
            acc = smoother.accepted
            if len(acc) >= BURST_MAX_N:
                oldest = acc[-BURST_MAX_N][0]
                while jumps and jumps[0][4] < oldest:
                    del jumps[0]
            jumps.append((trk_t, self._trk_x, trk_v, self._trk_news_t, t_s))
            self._unswung = (trk_t, self._trk_x, trk_v)
        # t_s unless this reading repeats the one before on a sensor whose repeats are stuck
        # (a quiet sensor repeats itself on a still sled: that is news of the sled)
        self._trk_news_t = self._same_t if smoother.still_noise_mm >= STUCK_NOISE_MM else t_s
        if dt > 0.0:
            # When the noise sets the gate (glare) the tracker trusts each reading less,
            # as a Kalman filter would: a noisy reading (or the first of a burst) must
            # not swing its velocity and open the gate for the next wrong one.
            k = gate_base / gate_n if gate_n > gate_base else 1.0
            self._trk_x = pred + TRACK_ALPHA * k * r
            trk_v += TRACK_BETA * k * k * r / dt
            self._trk_v = trk_v
            self._trk_t = t_s
        return smoother.accept(t_s, x_mm, -STILL_SPEED_MM_S < trk_v < STILL_SPEED_MM_S)

    def _continues_held(self, t_s: float, x_mm: float, gate: float, off_track: float) -> bool:
        """Whether a reading the gate would accept goes on the way the readings it holds
        were going (within the tolerance of taking readings back in): then it is one of
        them, and waits with them to be taken back in, or not.

        The way is the line through the last two held readings. Unless the reading lags a
        moving track (`off_track`, from its prediction, against its speed: a stop the
        track overshot) or glare sets the tolerance, the level the held readings agree on
        and the line through the last HELD_WAY_N of them are ways too: to lie there the
        sled would have had to speed up, and a burst keeps its offset. Two readings of a
        burst 36 ms apart give a slope wrong by 300 mm/s in 5 mm of noise; its third
        slipped into the gate a moving track had opened (independent seed 57026, a rep).
        Beside a sled at rest one held reading is a level: the first of a burst lands just
        beyond the gate, the second just inside (57605, a rep); a moving sled's next
        reading may land near one held reading on its way (a fast start at 20 Hz,
        accuracy seed 1001213)."""
        ht, hx = self._held_t, self._held_x
        n = len(ht)
        tol = self._line_tolerance(gate)
        if n >= 2 and ht[-1] > ht[-2]:
            speed = (hx[-1] - hx[-2]) / (ht[-1] - ht[-2])
            if abs(x_mm - (hx[-1] + speed * (t_s - ht[-1]))) <= tol:
                return True
        if n > BURST_MAX_N and self._one_of_a_lost_run(x_mm):
            return True
        lags = off_track * self._trk_v < -STILL_SPEED_MM_S * tol
        if lags or not n or tol > LINE_GATE * gate:
            return False
        if n == 1:
            return self._at_rest() and abs(x_mm - hx[-1]) <= tol
        recent = hx[-HELD_WAY_N:]
        agree = max(recent) - min(recent) <= 2.0 * tol  # on a level
        if agree and abs(x_mm - sum(recent) / len(recent)) <= tol:
            return True
        if n > 2:
            times = ht[-HELD_WAY_N:]
            mt, mx, slope = line_fit(times, recent)
            on_line = all(
                abs(b - (mx + slope * (a - mt))) <= tol for a, b in zip(times, recent, strict=True)
            )
            return on_line and abs(x_mm - (mx + slope * (t_s - mt))) <= tol
        return False

    def _nearer_held_than_stale(self, t_s: float, x_mm: float, trk_t: float, off: float) -> bool:
        """Whether a reading the gate would accept lies nearer the way the held readings
        go (the line through the newest HELD_WAY_N of them; one is a level) than the
        track's prediction (`off` from it), the track having gone stale before the first
        of them (no reading accepted for longer than its speed is trusted ahead): then it
        is one of them.

        After a stuck sensor or a gap the held readings are the freshest news of the sled;
        a stale track's gate is wide and a reading of the sled's own way may land in it
        (accuracy seed 1051507, 30 Hz: the sensor stuck 0.8 s over the end of a lowering,
        then six readings of the bottom turn and the way up held, the seventh inside the
        gate of where the track was before the sensor stuck: the six were thrown away and
        the next rep started 0.14 s late and 40 mm high, a full rep read partial). A
        burst's first reading after a stale track lands nearer the track than the sled's
        held readings, and is judged as before (1043682: a burst 130 mm off a sled at rest).
        """
        ht, hx = self._held_t, self._held_x
        if ht[0] - trk_t <= EXTRAPOLATE_MAX_S:
            return False
        if len(ht) == 1:
            way = hx[0]
        else:
            mt, mx, slope = line_fit(ht[-HELD_WAY_N:], hx[-HELD_WAY_N:])
            way = mx + slope * (t_s - mt)
        return abs(x_mm - way) < abs(off)

    def _one_of_a_lost_run(self, x_mm: float) -> bool:
        """Whether the held readings (more than any burst has) are the sled the track lost
        and `x_mm`, near the track, may be one of theirs in noise: they all lie on one side
        of the track, and it lies within LINE_NOISE deviations of the gate's noise of the
        median of the newest HELD_WAY_N of them.

        Independent seed 65822: in glare a partial rep's way up was held, readings of it
        that happened to land near the stale track threw 16 of them away, twice, and the
        rep was lost. Wrong readings scatter either side of a sled the track still has
        (66328: a burst and wild readings, eight held, then the sled's own), and a spike
        near a track that began on a spike is no reading of the sled's held run (its
        readings agree within their noise).
        """
        hx = self._held_x
        x_trk = self._trk_x
        if not (all(x > x_trk for x in hx) or all(x < x_trk for x in hx)):
            return False
        recent = sorted(hx[-HELD_WAY_N:])
        return abs(x_mm - recent[len(recent) // 2]) <= LINE_NOISE * self._gate_noise_mm

    def _rest_jump_ok(self, r: float, gate: float) -> bool:
        """Whether an accepted reading `r` off the track begins a possible burst beside a
        sled at rest: beyond the spread of a still sled's readings, the sled at rest, and
        no glare (where far readings are the sled's own scatter)."""
        spread = REST_NOISE * self._gate_noise_mm
        return (
            (r > spread or r < -spread)
            and -STILL_SPEED_MM_S < self._trk_v < STILL_SPEED_MM_S
            and self._line_tolerance(gate) <= LINE_GATE * gate
            and self._at_rest()
        )

    def _burst_beside_rest_over(self, t_s: float, x_mm: float) -> bool:
        """Follow the accepted readings after a jump off a sled at rest: True when this one
        is the sled back where it rested, after two to BURST_MAX_N readings all off that
        level; they were a burst, and are taken out (the track is put back at the rest).

        The gate accepts a burst's first reading when it lands within the allowance of a
        sled at rest (its noise plus what 3 g moves it in one interval), and the track
        follows the rest of the burst; but a sled cannot jump out, stop dead, and come
        back in one interval to the level it left (independent seed 66391: a burst of six
        42 mm beside a still sled on a 165 mm ROM, read as a partial rep of 42 %). One
        reading off is a spike, which the smoother's median takes out itself.
        """
        rj = self._rest_jump
        if rj is None:  # the first reading off the sled at rest
            self._rest_jump = (t_s, self._trk_x, 1)
            return False
        t_jump, x_rest, n_in = rj
        spread = REST_NOISE * self._gate_noise_mm
        if not -spread <= x_mm - x_rest <= spread:
            self._rest_jump = (t_jump, x_rest, n_in + 1) if n_in < BURST_MAX_N else None
            return False
        self._rest_jump = None
        burst = [x for t, x in self.smoother.accepted if t >= t_jump]
        if (
            n_in < 2
            or len(burst) != n_in  # readings lost or taken back meanwhile
            or any(-spread <= x - x_rest <= spread for x in burst)  # the sled's own move
        ):
            return False
        self._disown(t_jump, t_s)
        self._before_jumps.clear()
        self._unswung = None
        self._trk_x = x_rest
        self._trk_v = 0.0
        return True

    def _disown(self, t_from: float, t_to: float) -> None:
        """Take the accepted readings from `t_from` on out as a burst, and remember the
        span (up to `t_to`, the reading that showed it) for the rep machine."""
        self.smoother.forget_since(t_from)
        disowned = self.disowned
        disowned.append((t_from, t_to))
        if len(disowned) > DISOWNED_KEPT:
            del disowned[0]

    def _burst_before(
        self, line: tuple[float, float, float], t_on: float, *, gate: float, tol: float
    ) -> tuple[float, float, float, float] | None:
        """The track as it was before a burst the gate let in, if the held readings' line
        (`line`: a time, the position then and the speed; on from the first held reading,
        at `t_on`) goes on from it: the track's news time, position and speed then, and
        the burst's first reading's time.

        The first reading of a burst beside a moving sled can land just inside the gate and
        swing the track's speed, so the rest of the burst is accepted and the sled's own
        readings are held as an impossible jump (independent seed 58121: three readings
        50 mm off a lowering sled, then the sled's readings held for half a second, a
        spike let in, a rep split in two). The newest accepted readings were a burst when
        there are no more of them than a burst has, none lies on the line, and the line
        starts between where the track before them would be by then at its speed and where
        it was (within half the gate), with no gap on the way and no glare. Each recent
        reading that landed far off the track is tried as the burst's first, the newest
        first (the shortest burst).
        """
        if tol > LINE_GATE * gate:  # not in glare
            return None
        for before in reversed(self._before_jumps):  # the shortest burst first
            found = self._burst_from(before, line, t_on, gate=gate, tol=tol)
            if found is not None:
                return found
        return None

    def _burst_from(
        self,
        before: tuple[float, float, float, float, float],
        line: tuple[float, float, float],
        t_on: float,
        *,
        gate: float,
        tol: float,
    ) -> tuple[float, float, float, float] | None:
        """`_burst_before` for a burst begun at one reading that landed far off the track
        (`before`: the track then, and that reading's time)."""
        mt, mx, slope = line
        t_trk, x_trk, v_trk, news_t, t_burst = before
        burst = [(a, b) for a, b in self.smoother.accepted if a >= t_burst]
        if not burst or len(burst) > BURST_MAX_N:
            return None
        times = [t_trk] + [a for a, _ in burst] + [t_on]
        if any(b - a > GAP_GROWTH_MAX_S for a, b in pairwise(times)):
            return None  # a gap: the sled may have gone anywhere meanwhile
        if any(abs(b - (mx + slope * (a - mt))) <= tol for a, b in burst):
            return None
        # The sled may have kept the track's speed or stopped meanwhile (a hold reached; a
        # speed read off a few noisy readings): the line starts within that span.
        x_line = mx + slope * (t_on - mt)
        x_kept = x_trk + v_trk * (t_on - t_trk)
        drift = min(abs(x_line - x_kept), abs(x_line - x_trk))
        if min(x_trk, x_kept) < x_line < max(x_trk, x_kept):
            drift = 0.0
        if drift > 0.5 * (gate + tol):
            return None
        return news_t, x_trk, v_trk, t_burst

    def _at_rest(self) -> bool:
        """Whether the sled was at rest: its last five accepted readings span less than
        REST_NOISE deviations of the gate's noise."""
        wx = self.smoother.window_x
        return len(wx) == 5 and max(wx) - min(wx) <= REST_NOISE * self._gate_noise_mm

    def _line_tolerance(self, gate: float) -> float:
        """How far from a line held readings may lie and still be on it."""
        return max(LINE_GATE * gate, LINE_NOISE * self.smoother.noise_mm)

    def _hold(self, t_s: float, x_mm: float, gate: float) -> None:
        ht, hx = self._held_t, self._held_x
        ht.append(t_s)
        hx.append(x_mm)
        n = len(ht)
        if n > HELD_KEEP or (n > 1 and t_s - ht[-2] > GAP_MEAN_S):
            # Too many, or a gap: what came before says nothing about where the sled is now.
            del ht[:-1]
            del hx[:-1]
            n = 1
        if n < REACQUIRE_N:
            return
        stuck = self.repeats_are_stuck or (self.stuck and t_s - self.stuck_since < STUCK_MAX_S)
        if stuck and 1 + sum(a != b for a, b in pairwise(hx)) < REACQUIRE_N:
            # A noisy sensor's repeats are no news: held readings persist only as readings
            # that say something new (accuracy seed 1042902, 20 Hz: a burst of five 150 mm
            # off a sled at rest and two repeats of its last value, the sensor stuck on it,
            # came in as a level after seven: a rep in the rest). Nor are a quiet sensor's
            # once they are more than it gives on a still sled (`push`; independent seed
            # 77472, 50 Hz, 1.2 mm of noise: a burst 240 mm beside a sled at rest and the
            # sensor stuck on its last value for 0.9 s, a gap of 0.27 s inside; the seven
            # repeats after the gap came in as a level, a rep in the rest).
            return
        # Persistent: if the latest held readings lie on a line (one outlier forgiven),
        # the sled really is there.
        wt = ht[-REACQUIRE_N:]
        wx = hx[-REACQUIRE_N:]
        tol = self._line_tolerance(gate)
        # A long run of held readings is trusted only if they vary: a stuck sensor
        # repeating one wrong value is no news, even where a few others follow it (a quiet
        # sensor repeats itself, but no one value makes half of twenty readings).
        trusted = (
            n >= HELD_TRUST_N and len(set(wx)) > 2 and 2 * max(hx.count(v) for v in set(hx)) <= n
        )
        # More readings than any burst lie on a line within the sensor's own noise, which
        # in glare the accepted readings (the smoother's estimate) have not shown yet; the
        # tolerance for which of them are on it stays the same.
        line_tol = max(tol, LINE_NOISE * self._gate_noise_mm) if trusted else tol
        mt, mx, slope = line_fit(wt, wx)
        res = [abs(b - (mx + slope * (a - mt))) for a, b in zip(wt, wx, strict=True)]
        # The outlier forgiven must not bend the line: fit again without it, and use
        # that line when the others lie on it.
        worst = res.index(max(res))
        del wt[worst]
        del wx[worst]
        line = line_fit(wt, wx)
        if all(
            abs(b - (line[1] + line[2] * (a - line[0]))) <= line_tol
            for a, b in zip(wt, wx, strict=True)
        ):
            mt, mx, slope = line
        elif sorted(res)[-2] > line_tol:
            return
        if abs(hx[-1] - (mx + slope * (ht[-1] - mt))) > gate:
            # The outlier forgiven is the newest reading, beyond the gate from the line:
            # the line ended there (six wrong readings after a stuck sensor, then the
            # sled's own), so wait.
            return
        if abs(slope) > LINE_SPEED_MAX_MM_S:
            return
        # A run of identical readings is no news where repeats are a stuck sensor; a quiet
        # sensor repeats itself on a still sled, and those readings are the sled's.
        stuck_run = self._run_n >= 2 and self.repeats_are_stuck
        news_t = self._run_t if stuck_run else self._trk_t or ht[0]
        if self._trk_t is not None and self._trk_news_t < news_t:
            news_t = self._trk_news_t  # the sled may have moved since the sensor stuck
        # The line begins at the first held reading on it: before that the sled may have
        # been on its way there (a fast drop into a short stop, sampled at 20 Hz). The
        # line's claim is checked from there, or from the first held reading when the ones
        # before the line do not lead to it: a burst that lined up begins with a jump.
        x_lines = [mx + slope * (a - mt) for a in ht]
        on = [abs(b - x) <= tol for b, x in zip(hx, x_lines, strict=True)]
        i_on = 0
        i_lead = 0  # the first held reading on the line, when those before it are off it
        x_from = self._trk_x
        for i, (b, x_line) in enumerate(zip(hx, x_lines, strict=True)):
            if on[i]:
                i_on = i_lead = i
                break
            if (b - x_from) * (x_line - b) <= 0.0:
                # Not on the way from the track to the line: no ramp. A line with more
                # readings than a burst has is the sled's wherever it was before them, and
                # is checked from its first reading (kinds seed 126432, 20 Hz: a burst of
                # five below a sled rising fast, then the sled's readings to the top and
                # the top itself, checked from the burst's first reading 0.3 s before, held
                # until the sled came back down: the rep was lost). A repeat is no news
                # (a wrong value stuck on a quiet sensor is no line of the sled's).
                news = sum(1 for j in range(n) if on[j] and (j == 0 or hx[j] != hx[j - 1]))
                i_lead = on.index(True)
                if news > BURST_MAX_N:
                    i_on = i_lead
                break
            x_from = b
        t_on = ht[i_on]
        x_on = x_lines[i_on]
        jump = abs(x_on - self._trk_x)
        reach_s = t_on - news_t
        reach = _reach_mm(abs(self._trk_v), reach_s)
        allowed = 0.5 * (gate + tol) + reach
        lost_s = t_s - (self._trk_t or t_s)
        trk_t = self._trk_t
        if (
            i_lead
            and sum(on) <= BURST_MAX_N
            and not trusted
            and not (
                i_on == 0
                and trk_t is not None
                and self._line_from_track((mt, mx, slope), trk_t, gate, tol, ht[0])
            )
        ):
            # A line no longer than a burst, after held readings off it that are to be the
            # way there: the last of them must lead onto it within one reading interval at
            # the speed the way had, or it may be the sled's own before a burst (kinds seed
            # 125001: a dead stop at 20 Hz, the track overshooting it held the sled's next
            # reading, then a burst of six 160 mm up was taken back with it as the way
            # there: a rep). One more reading on the line says it is the sled. So must
            # the sled's own readings held before a line checked from the first held
            # reading (independent seed 66033: a spike, then five readings of a still
            # sled, then a burst of six 150 mm away, its line within reach of the track
            # over the gap before the spike).
            t_p, x_p = ht[i_lead - 1], hx[i_lead - 1]
            if i_lead > 1:
                t_pp, x_pp = ht[i_lead - 2], hx[i_lead - 2]
            else:
                t_pp = self._trk_t if self._trk_t is not None else t_p
                x_pp = self._trk_x
            span = t_p - t_pp  # over which the way's speed is known
            v_p = (x_p - x_pp) / span if span > 0.0 else 0.0
            t_lead, x_lead = ht[i_lead], x_lines[i_lead]
            step_s = t_lead - t_p
            step = _reach_mm(abs(v_p), step_s)
            # Nor can it have come onto the line's speed from its own in one interval at
            # more than 3 g (its own known to within two tolerances over its interval):
            # kinds seeds 125478 and 126906, 20 Hz, a spike 2.6-2.8 m/s from the sled
            # looked like the way down to a burst of six, and the burst like a dead stop.
            dv = abs(slope - v_p)
            dv_max = MAX_ACCEL_MM_S2 * step_s + 2.0 * tol / span if span > 0.0 else math.inf
            if abs(x_lead - x_p) > 0.5 * (gate + tol) + step or dv > dv_max:
                return
        x_track, v_track = self._trk_x, self._trk_v
        # (the sled's readings held right after the burst: the first of them on the line)
        before = self._burst_before((mt, mx, slope), t_on, gate=gate, tol=tol) if on[0] else None
        if before is not None:
            # The newest accepted readings were a burst: the track as it was goes on.
            news_t, x_track, v_track, t_burst = before
            self._disown(t_burst, t_on)
        elif jump > allowed and not trusted and ht[-1] - ht[0] < HELD_MAX_S and lost_s < HELD_MAX_S:
            return
        self._before_jumps.clear()
        self._unswung = None
        self._trk_t = self._trk_news_t = wt[-1]
        self._trk_x = mx + slope * (wt[-1] - mt)
        self._trk_v = slope
        # The readings of the way the sled could have taken onto the line go back in, in
        # order; the others were nonsense.
        path = _way_onto_line(ht, hx, x_lines, on, tol, track=(news_t, x_track, v_track))
        if not path:  # no way from the track: the readings on the line alone
            path = [i for i in range(n) if on[i]]
        pts = [(ht[i], hx[i]) for i in path]
        ht.clear()
        hx.clear()
        # Every output goes to the backlog in order: a reading taken back after a gap
        # flushes the windows into it, and those outputs are later than the one before
        # (kinds seed 114672: returned last, an earlier output reached the segmenter
        # after three later ones, a turn at the bottom of a dead stop, a bounce).
        smoother = self.smoother
        accept = smoother.accept
        backlog = smoother.backlog
        still = -STILL_SPEED_MM_S < slope < STILL_SPEED_MM_S
        for pt, px in pts:
            got = accept(pt, px, still)
            if got is not None:
                backlog.append(got)

    def _line_from_track(
        self, line: tuple[float, float, float], trk_t: float, gate: float, tol: float, t_held: float
    ) -> bool:
        """Whether the held readings' line goes on from the track itself: traced back to
        the track's last reading, with no gap before the first held one, it lies within
        half the gate and its tolerance of where the track was. Then the sled went that
        way from there, and held readings off the line before its first are not the sled's
        own (kinds seed 141615, 20 Hz: a burst of two beyond the far hold as the sled left
        it, then six of the sled's readings on its way up at 0.66 m/s; checked as if the
        burst were the way onto the line, they were held, and the rep was lost)."""
        mt, mx, slope = line
        return t_held - trk_t <= GAP_MEAN_S and abs(
            mx + slope * (trk_t - mt) - self._trk_x
        ) <= 0.5 * (gate + tol)

    def at_burst(self, t_turn: float) -> bool:
        """Whether a burst the gate took out after it reached the smoothed track lay at a
        turn at `t_turn`: the turn may be the burst's, no place the sled was."""
        return any(a - SMOOTHED_REACH_S <= t_turn <= b + SMOOTHED_REACH_S for a, b in self.disowned)

    def reach_without_burst(self, t_from: float, t_turn: float, t_to: float) -> float | None:
        """How far out (the largest median of five) the readings kept between `t_from` and
        `t_to` went, if a burst taken out after it reached the smoothed track lay at the
        turn at `t_turn`; None if none did, or the readings kept no longer reach back to
        `t_from` (then nothing is known against the turn)."""
        if not self.at_burst(t_turn):
            return None
        acc = self.smoother.accepted
        if not acc or acc[0][0] > t_from:
            return None
        xs = [x for t, x in acc if t_from <= t <= t_to]
        if len(xs) < 5:
            return None
        return max(sorted(xs[i : i + 5])[2] for i in range(len(xs) - 4))

    def median_before(self, t_s: float) -> float | None:
        """The median of the last BURST_MEDIAN_N valid readings up to `t_s` (no burst
        moves it), or None when fewer are kept."""
        xs: list[float] = []
        for t, x in reversed(self._readings):
            if t <= t_s:
                xs.append(x)
                if len(xs) == BURST_MEDIAN_N:
                    return sorted(xs)[BURST_MEDIAN_N // 2]
        return None

    def readings_about(self, t_lo: float, t_hi: float) -> tuple[float, float, int] | None:
        """The median, deviation (`_noise_of`) and number of the valid readings from `t_lo`
        to `t_hi`, gated or not but for bursts the gate took out (`disowned`); None when
        fewer than READINGS_ABOUT_N. The deviation is the noise where they are, which the
        running estimates follow only some readings after glare begins."""
        ts: list[float] = []
        xs: list[float] = []
        bursts = [(a, b) for a, b in self.disowned if b > t_lo and a <= t_hi]
        for t, x in reversed(self._readings):
            if t < t_lo:
                break
            if t <= t_hi and not any(a <= t < b for a, b in bursts):
                ts.append(t)
                xs.append(x)
        n = len(ts)
        if n < READINGS_ABOUT_N:
            return None
        ts.reverse()
        xs.reverse()
        return sorted(xs)[n // 2], _noise_of(ts, xs, 0, n), n

    def readings_reached(
        self, level: float, t_from: float, t_turn: float, t_to: float, *, deviations: float
    ) -> bool | None:
        """Whether the sled's readings between `t_from` and `t_to` went out to `level` and
        `deviations` of their noise beyond, whatever the gate made of them: the median of
        2 BURST_MAX_N + 1 consecutive valid readings did, which no burst of wrong readings
        moves (a burst is no place the sled was), less that many deviations of the noise
        of those same readings (`_noise_of`: the noise where they are, not where the rep
        began or ends, since glare comes and goes). None when the readings kept no longer
        reach back to `t_from`, are fewer than that, or leave a gap of GAP_TURN_S, where a
        turn may have been that no reading saw.

        The windows around `t_turn` (the far turn) are tried first: a rep's readings are
        out there, so this costs one pass over the rep's readings, not a median per one."""
        kept = self._readings
        if not kept or kept[0][0] > t_from:
            return None
        ts: list[float] = []
        xs: list[float] = []
        t_after = math.inf
        for t, x in reversed(kept):
            if t_after - t >= GAP_TURN_S and t_after <= t_to:
                return None
            if t < t_from:
                break
            if t <= t_to:
                ts.append(t)
                xs.append(x)
            t_after = t
        n = len(xs)
        w = BURST_MEDIAN_N
        if n < w:
            return None
        near = min(range(n), key=lambda i: abs(ts[i] - t_turn))
        first = range(max(0, near - w + 1), min(near, n - w) + 1)
        rest = (i for i in range(n - w + 1) if i not in first)  # each window once
        for i in chain(first, rest):
            median = sorted(xs[i : i + w])[w // 2]
            if median >= level and median - deviations * _noise_of(ts, xs, i, w) >= level:
                return True
        return False

    def idle(self, t_s: float) -> list[tuple[float, float]]:
        """The outputs owed once no reading has been accepted for GAP_MEAN_S by `t_s`.

        The next accepted reading would flush them anyway (a gap: the windows restart);
        flushing them as soon as the gap is known gives the same outputs, only sooner, so
        a stop just before a gap (or a stuck sensor) is not confirmed only after it.
        Readings held back by the gate may still be taken back in: then nothing yet.
        """
        if self._held_t:
            return []
        return self.smoother.owed(t_s)

    def flush(self) -> list[tuple[float, float]]:
        """The outputs still owed for the newest readings (end of stream, or before a gap).

        They come from shrinking windows, so they are noisier than the rest, but a stop
        right at the end of a trace or before a gap is not lost.
        """
        return self.smoother.flush()
