"""Sticking points: the longest slow stretch inside one phase (docs/engine.md, "Stalls").

A stall is a stretch of a phase in which the sled moved slower than a third of the phase's
own median speed, with the phase moving faster on both sides of it (the slow start and end
of every phase are no stall). A steady slow negative therefore has none, and a grind that
sticks for half a second at 30 % of the range of motion has one of about half a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from tempo.smoother import SMOOTHED_NOISE

STALL_SPEED_RATIO: Final = 1.0 / 3.0  # slower than this fraction of the phase's median speed
GRID_S: Final = 0.05  # the phase is looked at every 50 ms ...
SPEED_SPAN_S: Final = 0.3  # ... with its speed taken over 0.3 s centred there (smooths the noise)
# A stall is kept only if the sled fell behind the phase's median pace across it by this
# many deviations of the difference of two smoothed positions. Noise alone makes slow
# stretches in a slow move (a 15 mm/s negative 1.2 m away travels 4.5 mm in 0.3 s, less than
# the track's noise); the phase's slowest stretch is the most extreme of many, and the
# noise estimate varies along the travel, hence a margin well beyond two deviations.
STALL_SEEN_NOISE: Final = 5.0
# A speed that noise alone could show (this many deviations of a centred speed's noise) is
# slow too, up to a third of the phase's mean speed: where a stall takes up about half the
# phase, the windows over its edges take the median speed down to what the noise of the
# track shows, and a third of that splits the stall wherever the noise reads faster. The cap
# keeps a phase whose whole pace is lost in the noise (a slow negative far away) as it was.
STALL_STILL_NOISE: Final = 2.0


def _at(ts: Sequence[float], ys: Sequence[float], t: float, i: int) -> tuple[float, int]:
    """Track value at time t by linear interpolation, searching forward from index i."""
    n = len(ts)
    while i + 1 < n and ts[i + 1] < t:
        i += 1
    if i + 1 >= n or t <= ts[i]:
        return ys[min(i, n - 1)], i
    t0, t1 = ts[i], ts[i + 1]
    a = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
    return ys[i] + a * (ys[i + 1] - ys[i]), i


def _speeds(
    ts: Sequence[float], ys: Sequence[float], t0: float, t1: float
) -> tuple[list[float], list[float]]:
    """The grid's times and the track's speed over SPEED_SPAN_S centred at each."""
    half = SPEED_SPAN_S / 2.0
    grid: list[float] = []
    t = t0 + half
    while t <= t1 - half:
        grid.append(t)
        t += GRID_S
    speeds: list[float] = []
    i_lo = i_hi = 0
    for t in grid:
        lo, i_lo = _at(ts, ys, t - half, i_lo)
        hi, i_hi = _at(ts, ys, t + half, i_hi)
        speeds.append(abs(hi - lo) / SPEED_SPAN_S)
    return grid, speeds


def _edge(t_cross: float, slow: float, v_side: float, after: bool) -> float:
    """Where the sled stopped (or started) moving, from where the centred speed crossed
    `slow` beside a movement at `v_side`.

    A window reaching u seconds into the movement reads v_side·u/SPEED_SPAN_S, so it reads
    slow until u = SPEED_SPAN_S·slow/v_side: the edge lies half a window from the crossing,
    less that reach. Edges are placed this way and not at a fixed offset because the
    median speed, and with it `slow`, falls when the stall takes up much of the phase.
    """
    offset = SPEED_SPAN_S / 2.0 - SPEED_SPAN_S * slow / v_side
    return t_cross + offset if after else t_cross - offset


def longest_stall(
    ts: Sequence[float], ys: Sequence[float], t0: float, t1: float, noise_mm: float
) -> tuple[float, float | None]:
    """(seconds, position at its middle) of the longest stall in [t0, t1]; (0, None) if none.

    `ts`/`ys` is the phase's smoothed track (times ascending, positions in mm); `noise_mm`
    the raw readings' deviation where it is largest along the phase.
    """
    if len(ts) < 2 or t1 - t0 < 2.0 * SPEED_SPAN_S:
        return 0.0, None
    grid, speeds = _speeds(ts, ys, t0, t1)
    v_median = sorted(speeds)[len(speeds) // 2]
    y0, _ = _at(ts, ys, t0, 0)
    y1, _ = _at(ts, ys, t1, 0)
    v_mean = abs(y1 - y0) / (t1 - t0)
    # one deviation of the difference of two smoothed positions
    track_diff_mm = SMOOTHED_NOISE * 2.0**0.5 * noise_mm
    still = STALL_STILL_NOISE * track_diff_mm / SPEED_SPAN_S
    slow = max(STALL_SPEED_RATIO * v_median, min(still, STALL_SPEED_RATIO * v_mean))
    # A single fast grid point inside a slow stretch is noise (a sensor 1 m away makes
    # speed over 0.2 s wobble by tens of mm/s): it does not split the stall.
    slows = [v < slow for v in speeds]
    for k in range(1, len(slows) - 1):
        if not slows[k] and slows[k - 1] and slows[k + 1]:
            slows[k] = True
    # A run of grid points faster than `slow` by no more than noise shows, shorter than one
    # speed window and slow on both sides, is one noise bump seen by overlapping windows:
    # it does not split the stall either (a sensor 1 m away at 50 Hz: 105071, 1.0 s -> 0.46).
    bump = slow + still
    reach = round(SPEED_SPAN_S / GRID_S)  # grid points from a crossing to a window clear of it
    n = len(slows)
    k = 1
    while k < n - 1:
        if slows[k] or not slows[k - 1]:
            k += 1
            continue
        j = k
        while j < n and not slows[j]:
            j += 1
        if j < n and j - k < reach and max(speeds[k:j]) < bump:
            for m in range(k, j):
                slows[m] = True
        k = j
    margin = STALL_SEEN_NOISE * track_diff_mm
    best: tuple[float, float | None] = (0.0, None)
    k = 0
    while k < n and slows[k]:  # the phase's slow start
        k += 1
    while k < n:
        if not slows[k]:
            k += 1
            continue
        first = k
        while k < n and slows[k]:
            k += 1
        if k == n:  # the phase's slow end
            break
        last = k - 1
        # where the centred speed crossed `slow` on either side, between grid points
        fast, still = speeds[first - 1], speeds[first]
        t_in = grid[first - 1] + (fast - slow) / (fast - still) * GRID_S
        fast, still = speeds[k], speeds[last]
        t_out = grid[last] + (slow - still) / (fast - still) * GRID_S
        v_in = max(speeds[max(first - reach, 0) : first])
        v_out = max(speeds[k : k + reach])
        a = _edge(t_in, slow, v_in, after=False)
        b = _edge(t_out, slow, v_out, after=True)
        if b - a <= best[0]:
            continue
        y_a, _ = _at(ts, ys, a, 0)
        y_b, _ = _at(ts, ys, b, 0)
        if v_median * (b - a) - abs(y_b - y_a) < margin:
            continue  # no slower than noise lets a steady move look
        best = (b - a, _at(ts, ys, (a + b) / 2.0, 0)[0])
    return best
