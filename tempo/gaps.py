"""Turnarounds hidden in a gap (docs/engine.md, "Movements and stops").

A bounce during half a second without readings would look like a turn well short of the
bottom, and the next rep too small to count: a turn next to a gap of GAP_TURN_S and more is
looked for inside the gap, where the lines before and after it meet; at lockout, where a
sled slows to a stop rather than bounce, on the cubic through the gap's ends instead
(`slowing_turn`). And when a turn's extreme is the first smoothed sample after a gap, the
smoother started again there and its first outputs already average readings on the way
back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import dropwhile
from typing import Final, NamedTuple

from tempo.crossings import line_fit
from tempo.track import BUFFER, Track

GAP_TURN_S: Final = 0.2  # a turnaround next to a gap this long is looked for inside the gap
GAP_SLOPE_BACK: Final = (2, 4, 6)  # samples back for the slope into such a gap
GAP_SLOPE_MAX_S: Final = 0.4
GAP_FLAT_N: Final = 4  # ... or within this many samples after the extreme
# The way out of such a gap is the line through the raw readings of its first this long
# (three at least): the smoother starts again after a gap and its first outputs lag the
# way, or miss it.
GAP_WAY_OUT_S: Final = 0.15
# ... and the way into a bounce the line through the raw readings of the last GAP_WAY_OUT_S
# before it (before the first repeat, where a stuck sensor's repeats end the readings, and
# the way out then begins after the repeats of that value), if they lie within this many
# deviations of the readings' noise of it.
WAY_IN_NOISE: Final = 3.0
# A sled whose readings into a gap at lockout move the way out by no more than this many
# standard errors of their line's slope had stopped: it slowed into lockout and held, and
# the cubic leaving at the smoothed track's lagging speed would turn beyond the hold.
STOPPED_ERRORS: Final = 2.0


def before_repeats(xs: Sequence[float], end: int) -> int:
    """`end` (an index past the readings of a way into a gap) moved back over a stuck
    sensor's repeats: the way ends at the first of them, where the sensor stuck."""
    while end >= 2 and xs[end - 1] == xs[end - 2]:
        end -= 1
    return end


def gap_at_turn(track: Track, n: int, k_ext: int) -> int | None:
    """The last smoothed sample before a gap of GAP_TURN_S next to the extreme (sample
    `k_ext`; `n` the newest), if any."""
    bt = track.t
    k = k_ext
    if k - 2 < max(n - BUFFER + 1, 0) or k >= n:
        return None
    for j in range(k, min(k + GAP_FLAT_N, n)):
        # the gap follows the extreme (or a few samples stuck at it)
        if bt[(j + 1) % BUFFER] - bt[j % BUFFER] > GAP_TURN_S:
            return j
    if bt[k % BUFFER] - bt[(k - 1) % BUFFER] > GAP_TURN_S and k - 3 >= max(n - BUFFER + 1, 0):
        return k - 1  # the extreme is the first sample after the gap
    return None


class _Line(NamedTuple):
    """A way into or out of a gap: a point of it and its speed."""

    t: float
    y: float
    v: float  # mm/s


def turn_in_gap(
    track: Track,
    n: int,
    stop: int,
    *,
    d: int,
    k_ext: int,
    ext: float,
    band: float,
    raw_way_out: bool,
    slowing: bool = False,
    noise: float = 0.0,
    moving_in: float | None = None,
) -> tuple[float, float, float] | None:
    """A turnaround the `d` way hidden in a gap: (level, arrival, departure) where the lines
    before and after it meet, if it is beyond the smoothed extreme `ext`.

    The turn is placed no further than the start side's stops (level 0). `raw_way_out`:
    the way out is the line through the raw readings after the gap (in glare the smoothed
    samples say more), and so is the way in unless `slowing`: the turn is at lockout,
    where a sled slows to a stop and does not bounce: it is placed on the cubic through
    the gap's ends (`slowing_turn`) where that turns short of the lines, from the smoothed
    way in (a line through the last readings is faster than a sled slowing into its stop
    was at the gap) at the slower of its speed and the readings'; and nowhere when the
    readings say the sled had stopped before the gap (their line's slope within
    STOPPED_ERRORS standard errors of none). `noise`: the raw readings' (mm; 0 when
    unknown, and the smoothed way in). `moving_in` (the gap ends a hold that arrived
    then): no turn unless the raw way in, its readings from then on if that is longer,
    shows the sled moving the `d` way by more than that: the sled went on into the gap
    only if all of the hold's readings say so, not its noise at the edge.
    """
    bt, by = track.t, track.y
    a = gap_at_turn(track, n, k_ext)
    if a is None or a + 2 > n:
        return None
    t1, y1 = bt[a % BUFFER], by[a % BUFFER]
    t2, y2 = bt[(a + 1) % BUFFER], by[(a + 1) % BUFFER]
    b = min(a + 3, n)
    t3, y3 = bt[b % BUFFER], by[b % BUFFER]
    if t3 <= t2:
        return None
    way_in = _Line(t1, y1, _slope_into_gap(track, a, stop, d))
    way_out = _Line(t2, y2, (y3 - y2) / (t3 - t2))
    stuck_at: float | None = None  # the value a sensor stuck on at the gap's edge
    if moving_in is not None and not (raw_way_out and noise > 0.0):
        return None  # (no raw way in to show it)
    if raw_way_out and noise > 0.0:
        # The way into a bounce likewise: the smoother's last samples before a gap lag the
        # readings (its windows close on them, and slow), and the turn's depth with them.
        # Into lockout, only the speed: a sled that slowed or stopped before the gap goes
        # into it no faster than its readings say.
        since = math.inf if moving_in is None else moving_in
        ts, xs, t_edge, stuck_at = _way_in_readings(track, t1, since)
        raw_in = _raw_way_in(
            ts,
            xs,
            t_edge,
            way_in,
            d=d,
            noise=noise,
            slowing=slowing,
            ends_hold=moving_in is not None,
        )
        if raw_in is None:
            return None
        way_in = raw_in
    if raw_way_out:
        raw_out = _raw_way_out(track, t1, stuck_at)
        if raw_out is not None:
            way_out = raw_out
    if d * way_in.v <= 0.0 or d * way_out.v >= 0.0:
        return None
    t_turn, level = _where_lines_meet(way_in, way_out)
    if slowing:
        smooth = _slowing_turn_short(_Line(t1, y1, way_in.v), way_out, level, d=d, band=band)
        if smooth is not None:
            return smooth if d * (smooth[0] - ext) > 0.0 else None
    return _turn_within_stops(way_in, way_out, t_turn, level, d=d, ext=ext, band=band)


def _slope_into_gap(track: Track, a: int, stop: int, d: int) -> float:
    """The smoothed track's slope into the gap after sample `a` (0.0 unless one goes the `d`
    way): a sensor that stuck before going silent flattens the last samples, so look a
    little further back and take the steepest."""
    bt, by = track.t, track.y
    t1, y1 = bt[a % BUFFER], by[a % BUFFER]
    v1 = 0.0
    for back in GAP_SLOPE_BACK:
        if a - back < stop:
            break
        t0, y0 = bt[(a - back) % BUFFER], by[(a - back) % BUFFER]
        if t1 <= t0 or t1 - t0 > GAP_SLOPE_MAX_S:
            break
        v = (y1 - y0) / (t1 - t0)
        if d * v > 2.0 * d * v1:
            v1 = v
    return v1


def _way_in_readings(
    track: Track, t1: float, since: float
) -> tuple[list[float], list[float], float, float | None]:
    """The raw readings of the way into a gap after `t1`, those of its last GAP_WAY_OUT_S
    or from `since` if that is longer: their times and values, the last one's time (`t1`
    when none), and the value a sensor stuck on at the gap's edge (None when it did not),
    which the way out may still repeat."""
    ts, xs = track.readings_between(min(t1 - GAP_SLOPE_MAX_S, since), t1)
    # A stuck sensor's repeats at the gap's edge are no way: it ends at the first.
    k = before_repeats(xs, len(xs))
    stuck_at: float | None = None
    if k < len(xs):
        stuck_at = xs[-1]
    t_edge = ts[k - 1] if k else t1
    i = k
    while i > 0 and ts[i - 1] >= min(t_edge - GAP_WAY_OUT_S, since):
        i -= 1
    return ts[i:k], xs[i:k], t_edge, stuck_at


def _raw_way_in(
    ts: list[float],
    xs: list[float],
    t_edge: float,
    smoothed: _Line,
    *,
    d: int,
    noise: float,
    slowing: bool,
    ends_hold: bool,
) -> _Line | None:
    """The way into a gap as its raw readings (`ts`, `xs`, the last at `t_edge`) show it,
    or None, no turn: they show a sled that had stopped before a gap at lockout
    (`slowing`), or one not moving on into a gap that ends a hold (`ends_hold`). Where they
    lie on no line going the `d` way the `smoothed` way in stays; at lockout only its speed
    goes, to the slower of the two: a sled slowing into its stop was no faster at the gap."""
    if len(ts) < 3:
        return None if ends_hold else smoothed
    mt, mx, slope = line_fit(ts, xs)
    # (on one line in the readings' noise: a burst at the gap's edge is no way in)
    off = max(abs(x - mx - slope * (t - mt)) for t, x in zip(ts, xs, strict=True))
    on_line = off <= WAY_IN_NOISE * noise
    spread = math.sqrt(sum((t - mt) * (t - mt) for t in ts))
    moving = on_line and d * slope * spread > STOPPED_ERRORS * noise
    if ends_hold and not moving:
        return None
    if on_line and slowing:
        if not moving:
            return None  # stopped before the gap: no further out inside it
        v1 = min(smoothed.v, slope) if d > 0 else max(smoothed.v, slope)
        return _Line(smoothed.t, smoothed.y, v1)
    if on_line and d * slope > 0.0:
        return _Line(t_edge, mx + slope * (t_edge - mt), slope)
    return smoothed


def _raw_way_out(track: Track, t1: float, stuck_at: float | None) -> _Line | None:
    """The way out of a gap after `t1` as the line through the raw readings of its first
    GAP_WAY_OUT_S (three at least; None when there are fewer), from the first of them:
    the smoother starts again after a gap and its first outputs lag the way, or miss it.
    `stuck_at`: the value a sensor stuck on at the gap's edge, if it did."""
    way = track.accepted_after(t1)
    if way and stuck_at is not None:
        # A stuck value's repeats are no way out either: the sensor may still repeat the
        # value after the gap.
        way = list(dropwhile(lambda r: r[1] == stuck_at, way))
    if len(way) < 3:
        return None
    n_way = sum(1 for t_r, _ in way if t_r <= way[0][0] + GAP_WAY_OUT_S)
    way = way[: max(n_way, 3)]
    t2 = way[0][0]
    mt, mx, slope = line_fit([t_r for t_r, _ in way], [x_r for _, x_r in way])
    return _Line(t2, mx + slope * (t2 - mt), slope)


def _where_lines_meet(way_in: _Line, way_out: _Line) -> tuple[float, float]:
    """(time, level) where the ways into and out of a gap meet, the time kept between
    their points: a sled that turned in the gap turned after the one and before the
    other."""
    t_in, y_in, v1 = way_in
    t2, y2, v2 = way_out
    t_turn = (y2 - y_in + v1 * t_in - v2 * t2) / (v1 - v2)
    t_turn = min(max(t_turn, t_in), t2)
    return t_turn, y_in + v1 * (t_turn - t_in)


def _slowing_turn_short(
    way_in: _Line, way_out: _Line, level: float, *, d: int, band: float
) -> tuple[float, float, float] | None:
    """The turn at lockout on the cubic through the gap's ends (`slowing_turn`; `way_in`
    from the last smoothed sample), where that turns short of the lines' `level`: a sled
    slowing into its stop does not get as far as the lines, which keep their speed."""
    t1, y1, v1 = way_in
    t2, y2, v2 = way_out
    smooth = slowing_turn(t1, y1, v1, t2, y2, v2, d, band)
    # (short of the lines, and not beyond the start side's stops either)
    if smooth is not None and d * (smooth[0] - level) < 0.0 and smooth[0] >= 0.0:
        return smooth
    return None


def _turn_within_stops(
    way_in: _Line, way_out: _Line, t_turn: float, level: float, *, d: int, ext: float, band: float
) -> tuple[float, float, float] | None:
    """(level, arrival, departure) of the turn where the lines meet (at `t_turn`, `level`),
    if beyond the smoothed extreme `ext`: arriving where the way in enters its `band`, and
    departing where the way out leaves it, neither beyond the turn."""
    t_in, y_in, v1 = way_in
    t2, y2, v2 = way_out
    # No further than the start side's stops: lines that meet beyond them say only
    # that the sled got there (it may have rested there through the gap).
    level = max(level, 0.0)
    if d * (level - ext) <= 0.0:
        return None
    edge = level - d * band
    t_arrive = min(max(t_in + (edge - y_in) / v1, t_in), t_turn)
    t_depart = max(min(t2 + (edge - y2) / v2, t2), t_turn)
    return level, t_arrive, t_depart


BISECTIONS: Final = 30  # halvings of the gap's span placing a 2 % time: well under a microsecond


def slowing_turn(  # noqa: PLR0917 (two ends of a gap, each a time, place and speed)
    t1: float, y1: float, v1: float, t2: float, y2: float, v2: float, d: int, band: float
) -> tuple[float, float, float] | None:
    """(level, arrival, departure) of a turn the `d` way on the cubic that leaves (t1, y1)
    at speed v1 and reaches (t2, y2) at speed v2: of all paths with those ends, the one
    with the least acceleration (its integral squared), the smoothest through the gap.

    Where the lines into and out of a gap meet is as far as a sled could have gone without
    speeding up; one that slows into lockout (a minimum-jerk arrival, a hold) stops short
    of it, and the lines placed such turns 15-70 mm out, beyond the lockout threshold.
    The cubic slows the way the readings either side say. A bounce is a V, so the turns
    at the bottom of the press keep the lines (docs/engine-history.md, "A lockout hidden
    in a gap").
    """
    span = t2 - t1
    if span <= 0.0 or d * v1 <= 0.0 or d * v2 >= 0.0:
        return None  # no turn the `d` way between those ends
    dy = y1 - y2
    # dp/ds on s = (t - t1) / span in [0, 1]: a s^2 + b s + c
    a = 6.0 * dy + 3.0 * span * (v1 + v2)
    b = -6.0 * dy - 2.0 * span * (2.0 * v1 + v2)
    c = span * v1
    s_turn = _sign_change(a, b, c, d)
    if s_turn is None:
        return None

    def at(s: float) -> float:
        s2 = s * s
        s3 = s2 * s
        return (
            (2.0 * s3 - 3.0 * s2 + 1.0) * y1
            + (s3 - 2.0 * s2 + s) * span * v1
            + (3.0 * s2 - 2.0 * s3) * y2
            + (s3 - s2) * span * v2
        )

    level = at(s_turn)
    edge = level - d * band

    def crossing(lo: float, hi: float) -> float:
        """Where the cubic is at `edge`, between lo (outside the band) and hi (inside)."""
        if d * (at(lo) - edge) >= 0.0:
            return lo
        for _ in range(BISECTIONS):
            mid = 0.5 * (lo + hi)
            if d * (at(mid) - edge) >= 0.0:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    return level, t1 + span * crossing(0.0, s_turn), t1 + span * crossing(1.0, s_turn)


def _sign_change(a: float, b: float, c: float, d: int) -> float | None:
    """The s in (0, 1) where a s^2 + b s + c goes from the `d` sign to the other."""
    roots: list[float] = []
    if a == 0.0:
        if b != 0.0:
            roots.append(-c / b)
    else:
        disc = b * b - 4.0 * a * c
        if disc < 0.0:
            return None
        q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
        if q != 0.0:
            roots.append(c / q)
        roots.append(q / a)
    for s in sorted(roots):
        if 0.0 < s < 1.0 and d * (2.0 * a * s + b) < 0.0:
            return s
    return None


def first_after_gap(track: Track, k_ext: int, d: int, ext: float, stop: int) -> float:
    """The level of a turn whose extreme (sample `k_ext`, at `ext`) is the first smoothed
    sample after a gap: the smoother starts again there, and its first outputs already
    average readings on the way back, so the median of the first three readings after the
    gap is further out."""
    k = k_ext
    bt = track.t
    if k - 1 < stop or bt[k % BUFFER] - bt[(k - 1) % BUFFER] <= GAP_TURN_S:
        return ext
    t_before = bt[(k - 1) % BUFFER]  # the last smoothed sample before the gap
    after = [x_r for _, x_r in track.accepted_after(t_before)]
    if len(after) < 3:
        return ext
    first = sorted(after[:3])[1]
    return first if d * (first - ext) > 0.0 else ext


# A turn's level seen in the first readings after a gap counts towards a rise only when
# those readings already go back together: this many, each within SEEN_WAY_NOISE readings'
# noise of one line. A burst after a stuck sensor scatters; the sled's way back does not.
# The check is tight on purpose: a few true ways back in a hundred fail it and their rep
# is lost, as all were before; a burst let through makes a rep that never was
# (with 3 deviations a far sensor's two-reading burst before a flat track passed: accuracy
# seed 1013249, 2.6 deviations off the line).
SEEN_WAY_N: Final = 6
SEEN_WAY_NOISE: Final = 2.0


def seen_after_gap(
    track: Track, k_ext: int, d: int, ext: float, *, stop: int, noise: float
) -> float:
    """The level a turn hidden by a gap was seen at (`first_after_gap`), or `ext` unless
    the first SEEN_WAY_N readings after the gap lie on one line going back (`noise`: the
    raw readings' noise, mm)."""
    level = first_after_gap(track, k_ext, d, ext, stop)
    if level == ext:
        return ext
    way = track.accepted_after(track.t[(k_ext - 1) % BUFFER])[:SEEN_WAY_N]
    if len(way) < SEEN_WAY_N:
        return ext
    ts = [t_r for t_r, _ in way]
    xs = [x_r for _, x_r in way]
    mt, mx, slope = line_fit(ts, xs)
    if d * slope >= 0.0:
        return ext
    worst = max(abs(x - (mx + slope * (t_r - mt))) for t_r, x in way)
    return level if worst <= SEEN_WAY_NOISE * noise else ext


# A hold left the other way after a gap, with the first readings after the gap beyond its
# level by more than this many readings' noise (their median of three, on one line going
# back): the sled went on into the gap and turned there (a stuck sensor hid the turn).
SEEN_BEYOND_NOISE: Final = 3.0
# ... looked for this many smoothed samples back from the departure at most: the smoother
# starts again after the gap and the departure is confirmed a few samples later.
HOLD_GAP_BACK_N: Final = 10


def turn_behind_hold(
    track: Track,
    n: int,
    stop: int,
    *,
    d: int,
    level: float,
    band: float,
    noise: float,
    slowing: bool = False,
    arrived: float = -math.inf,
) -> tuple[float, float] | None:
    """(level, departure) of a turn the `d` way hidden in a gap at the end of a hold at
    `level` that the sled, at sample `n`, leaves the other way; or None.

    A stuck sensor's first repeats look like the sled at rest: the hold is confirmed as
    the gap begins, the sled goes on into the gap and comes back, and the smoother,
    starting again after the gap, hides where it was seen first. The turn is where the
    lines before and after the gap meet (`turn_in_gap`), or, when the way in was a pause,
    at least where the readings after the gap were seen (`seen_after_gap`), leaving from
    the first of them. When none after the gap is seen beyond the hold (the sled came
    back past it before the readings began again), the lines still place it if the
    hold's raw readings since it `arrived` show the sled moving on into the gap (not at
    lockout: `slowing`).
    `noise`: the raw readings' noise, mm.
    """
    bt = track.t
    for k in range(n, max(stop, n - HOLD_GAP_BACK_N), -1):  # the first sample after it
        if bt[k % BUFFER] - bt[(k - 1) % BUFFER] > GAP_TURN_S:
            break
    else:
        return None
    seen = seen_after_gap(track, k, d, level, stop=stop, noise=noise)
    if d * (seen - level) <= SEEN_BEYOND_NOISE * noise:
        # Nothing seen beyond the hold after the gap: the sled may still have gone on into
        # it, if its last readings before the gap (a stuck sensor's repeats dropped)
        # were on their way there, and come back past the hold before the readings began
        # again: where the lines meet, beyond the hold by as much. Not at lockout, where
        # a sled slows into its stop and a hold is where it stopped (a creep of a few
        # millimetres over a hold there made a lockout of it, independent seed 79086).
        if slowing:
            return None
        beyond = level + d * SEEN_BEYOND_NOISE * noise
        hidden = turn_in_gap(
            track,
            n,
            stop,
            d=d,
            k_ext=k - 1,
            ext=beyond,
            band=band,
            raw_way_out=True,
            noise=noise,
            moving_in=arrived,
        )
        return None if hidden is None else (hidden[0], hidden[2])
    hidden = turn_in_gap(
        track, n, stop, d=d, k_ext=k - 1, ext=seen, band=band, raw_way_out=True, slowing=slowing
    )
    if hidden is not None:
        return hidden[0], hidden[2]
    return seen, track.accepted_after(bt[(k - 1) % BUFFER])[0][0]


# A far turn hidden in a gap counts towards a rise only where the sled surely went: the
# lines into and out of the gap, each from the raw readings of GAP_WAY_OUT_S beside it,
# with speeds and places taken this many of their standard errors towards the seen side.
REACH_SURE_ERRORS: Final = 2.0
REACH_MIN_READINGS: Final = 4  # a line through four readings leaves two to judge their scatter


def _line_with_errors(
    ts: list[float], xs: list[float], at: float, noise: float
) -> tuple[float, float, float, float]:
    """(value at `at`, its standard error, slope, its standard error) of the least-squares
    line through the readings, each with `noise` mm of noise."""
    mt, mx, slope = line_fit(ts, xs)
    sxx = sum((t - mt) * (t - mt) for t in ts)
    if sxx <= 0.0:
        return mx, math.inf, 0.0, math.inf
    # Noise as the readings scatter about the line, where that is more than the estimate
    # (which follows the sensor over a second or so, and starts low in a session).
    if len(ts) > 2:
        spread = sum((x - mx - slope * (t - mt)) ** 2 for t, x in zip(ts, xs, strict=True))
        noise = max(noise, math.sqrt(spread / (len(ts) - 2)))
    se_slope = noise / math.sqrt(sxx)
    se_value = noise * math.sqrt(1.0 / len(ts) + (at - mt) * (at - mt) / sxx)
    return mx + slope * (at - mt), se_value, slope, se_slope


def surely_reached_in_gap(
    track: Track, n: int, *, d: int, k_ext: int, noise: float
) -> float | None:
    """The level a turn the `d` way hidden in a gap next to the extreme (sample `k_ext`)
    surely reached, or None: where the lines before and after the gap meet once their
    speeds and places are moved REACH_SURE_ERRORS standard errors towards the seen side
    (`noise`: the raw readings' noise, mm).

    A stuck sensor over a partial rep's far turn hides the part of the rep that makes it
    count; but lines whose speed or place was noise meet far beyond where the sled went.
    Sure as far as the readings' noise goes: a sled that stopped in the gap and came back
    looks the same either side of it as one that went on and turned (docs/engine-history.md,
    "A far turn hidden in a gap counted where the sled surely went").
    """
    a = gap_at_turn(track, n, k_ext)
    if a is None or noise <= 0.0:
        return None
    t_last = track.t[a % BUFFER]
    ts, xs = track.readings_between(t_last - GAP_SLOPE_MAX_S, math.inf)
    # the gap: the first jump of GAP_TURN_S between readings from the last sample on
    j = next(
        (i for i in range(1, len(ts)) if ts[i] >= t_last and ts[i] - ts[i - 1] > GAP_TURN_S),
        None,
    )
    if j is None:
        return None
    # A stuck sensor's repeats before the gap are not the sled: the way in ends at the
    # first of them.
    first = before_repeats(xs, j)
    del ts[first:j], xs[first:j]
    j = first
    t1, t2 = ts[j - 1], ts[j]
    # each way: the readings of GAP_WAY_OUT_S beside the gap, REACH_MIN_READINGS at least,
    # and none across another gap
    i_in = j - 1
    while (
        i_in > 0
        and ts[i_in] - ts[i_in - 1] <= GAP_TURN_S
        and (ts[i_in - 1] >= t1 - GAP_WAY_OUT_S or j - i_in < REACH_MIN_READINGS)
    ):
        i_in -= 1
    i_out = j + 1
    while (
        i_out < len(ts)
        and ts[i_out] - ts[i_out - 1] <= GAP_TURN_S
        and (ts[i_out] <= t2 + GAP_WAY_OUT_S or i_out - j < REACH_MIN_READINGS)
    ):
        i_out += 1
    if j - i_in < REACH_MIN_READINGS or i_out - j < REACH_MIN_READINGS:
        return None
    y1, se_y1, v1, se_v1 = _line_with_errors(ts[i_in:j], xs[i_in:j], t1, noise)
    y2, se_y2, v2, se_v2 = _line_with_errors(ts[j:i_out], xs[j:i_out], t2, noise)
    k = REACH_SURE_ERRORS
    y1 -= d * k * se_y1
    y2 -= d * k * se_y2
    v1 -= d * k * se_v1
    v2 += d * k * se_v2
    if d * v1 <= 0.0 or d * v2 >= 0.0:
        return None  # either line may as well be the sled at rest
    t_turn = (y2 - y1 + v1 * t1 - v2 * t2) / (v1 - v2)
    t_turn = min(max(t_turn, t1), t2)
    return y1 + v1 * (t_turn - t1)
