"""Sticking points: the longest slow stretch inside one phase (docs/engine.md, "Stalls").

A stall is a stretch of a phase in which the sled moved slower than a third of the phase's
own median speed, with the phase moving faster on both sides of it (the slow start and end
of every phase are no stall). A steady slow negative therefore has none, and a grind that
sticks for half a second at 30 % of the range of motion has one of about half a second.
"""

from __future__ import annotations

from collections.abc import Sequence

STALL_SPEED_RATIO = 1.0 / 3.0  # slower than this fraction of the phase's median speed
GRID_S = 0.05  # the phase is looked at every 50 ms ...
SPEED_SPAN_S = 0.3  # ... with its speed taken over 0.3 s centred there (smooths the noise)
# A stop of D seconds makes the centred speed slow for D - EDGE_S seconds (the windows
# that reach into the movement on either side are fast enough): added back.
EDGE_S = SPEED_SPAN_S * (1.0 - 2.0 * STALL_SPEED_RATIO)


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


def longest_stall(
    ts: Sequence[float], ys: Sequence[float], t0: float, t1: float
) -> tuple[float, float | None]:
    """(seconds, position at its middle) of the longest stall in [t0, t1]; (0, None) if none.

    `ts`/`ys` is the phase's track (times ascending); positions in any unit.
    """
    half = SPEED_SPAN_S / 2.0
    if len(ts) < 2 or t1 - t0 < 2.0 * SPEED_SPAN_S:
        return 0.0, None
    grid: list[float] = []
    t = t0 + half
    while t <= t1 - half:
        grid.append(t)
        t += GRID_S
    speeds: list[float] = []
    mids: list[float] = []
    i_lo = i_mid = i_hi = 0
    for t in grid:
        lo, i_lo = _at(ts, ys, t - half, i_lo)
        mid, i_mid = _at(ts, ys, t, i_mid)
        hi, i_hi = _at(ts, ys, t + half, i_hi)
        speeds.append(abs(hi - lo) / SPEED_SPAN_S)
        mids.append(mid)
    ranked = sorted(speeds)
    slow = STALL_SPEED_RATIO * ranked[len(ranked) // 2]
    best_n, best_end = 0, 0
    # A single fast grid point inside a slow stretch is noise (a sensor 1 m away makes
    # speed over 0.2 s wobble by tens of mm/s): it does not split the stall.
    slows = [v < slow for v in speeds]
    for k in range(1, len(slows) - 1):
        if not slows[k] and slows[k - 1] and slows[k + 1]:
            slows[k] = True
    run = 0
    seen_fast = False
    for k, is_slow in enumerate(slows):
        if is_slow:
            run += 1
        else:
            if seen_fast and run > best_n:
                best_n, best_end = run, k
            run = 0
            seen_fast = True
    if best_n == 0:
        return 0.0, None
    first = best_end - best_n
    middle = mids[(first + best_end - 1) // 2]
    return best_n * GRID_S + EDGE_S, middle
