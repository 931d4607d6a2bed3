"""Turning points from the raw readings around them (docs/engine.md, "Turning points").

The smoothed track clips a sharp turn: a median of five and a mean of three span 0.35 s
at 20 Hz, so a 0.05 s bounce comes out shallower and its time within 2 % of the turn much
longer. Around a turn the readings that passed the gate are fitted twice, as a V (two
lines meeting at a corner: a bounce) and as a parabola (a rounded turn), and the better
model gives the turning point and the times at which it is 2 % away from it on either
side. A parabola also places a smooth turn without the bias of a noisy extreme.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_SIDE = 3  # readings on each side of the corner for a V
V_PREFERRED = 0.9  # the V must fit this much better (residual sum) to beat the parabola


def _line(ts: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float] | None:
    """Least-squares line a + b t through the points, and its residual sum of squares."""
    n = len(ts)
    mt = sum(ts) / n
    my = sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    if sxx <= 0.0:
        return None
    b = sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / sxx
    a = my - b * mt
    sse = sum((y - a - b * t) ** 2 for t, y in zip(ts, ys, strict=True))
    return a, b, sse


def parabola_fit(
    ts: Sequence[float], ys: Sequence[float]
) -> tuple[float, float, float, float] | None:
    """Least-squares y = c0 + c1 u + c2 u^2 (u = t - ts[0]); returns c0, c1, c2, sse."""
    t0 = ts[0]
    s0 = s1 = s2 = s3 = s4 = r0 = r1 = r2 = 0.0
    for t, y in zip(ts, ys, strict=True):
        u = t - t0
        u2 = u * u
        s0 += 1.0
        s1 += u
        s2 += u2
        s3 += u2 * u
        s4 += u2 * u2
        r0 += y
        r1 += u * y
        r2 += u2 * y
    # the normal equations [[s0 s1 s2] [s1 s2 s3] [s2 s3 s4]] c = r, by cofactors
    a00 = s2 * s4 - s3 * s3
    a01 = s2 * s3 - s1 * s4
    a02 = s1 * s3 - s2 * s2
    a11 = s0 * s4 - s2 * s2
    a12 = s1 * s2 - s0 * s3
    a22 = s0 * s2 - s1 * s1
    det = s0 * a00 + s1 * a01 + s2 * a02
    if abs(det) < 1e-12:
        return None
    c0 = (a00 * r0 + a01 * r1 + a02 * r2) / det
    c1 = (a01 * r0 + a11 * r1 + a12 * r2) / det
    c2 = (a02 * r0 + a12 * r1 + a22 * r2) / det
    sse = 0.0
    for t, y in zip(ts, ys, strict=True):
        u = t - t0
        e = y - c0 - (c1 + c2 * u) * u
        sse += e * e
    return c0, c1, c2, sse


def fit_turn(
    ts: Sequence[float], ys: Sequence[float], d: int, band: float
) -> tuple[float, float, float, float] | None:
    """(turn level, time of the turn, arrival, departure) at `band` from it, or None.

    `d` is +1 when the readings rise into the turn (a maximum), -1 for a minimum; the
    readings should cover the way in and the way out of one turn.
    """
    n = len(ts)
    if n < 2 * MIN_SIDE + 1:
        return None
    best: tuple[float, float, float, float] | None = None
    best_sse = math.inf
    para = parabola_fit(ts, ys)
    if para is not None:
        c0, c1, c2, sse = para
        if d * c2 < 0.0:
            u = -c1 / (2.0 * c2)
            if 0.0 <= u <= ts[-1] - ts[0]:
                level = c0 + c1 * u + c2 * u * u
                half = math.sqrt(band / abs(c2))
                t_turn = ts[0] + u
                best = (level, t_turn, t_turn - half, t_turn + half)
                best_sse = sse
    best_v: tuple[float, float, float, float] | None = None
    best_v_sse = math.inf
    for k in range(MIN_SIDE - 1, n - MIN_SIDE + 1):
        left = _line(ts[: k + 1], ys[: k + 1])
        right = _line(ts[k:], ys[k:])
        if left is None or right is None:
            continue
        a1, b1, e1 = left
        a2, b2, e2 = right
        if d * b1 <= 0.0 or d * b2 >= 0.0:
            continue
        t_turn = (a2 - a1) / (b1 - b2)
        if not ts[k - 1] <= t_turn <= ts[k + 1]:
            continue
        sse = e1 + e2
        if sse < best_v_sse:
            level = a1 + b1 * t_turn
            best_v = (level, t_turn, t_turn - band / abs(b1), t_turn + band / abs(b2))
            best_v_sse = sse
    if best_v is not None and best_v_sse < V_PREFERRED * best_sse:
        best = _refined(ts, ys, d, band, best_v)
    if best is not None and (best[2] < ts[0] or best[3] > ts[-1]):
        # The model leaves the band outside the readings: the sled stayed near the turn
        # longer than they cover (a pause), and a line through the few moving readings
        # would put its 2 % times seconds away.
        return None
    return best


Turn = tuple[float, float, float, float]  # level, time of the turn, arrival, departure


def _refined(ts: Sequence[float], ys: Sequence[float], d: int, band: float, v: Turn) -> Turn:
    """The V again from the readings off its corner: a touch-and-go may rest a few
    hundredths of a second at the bottom, which would bend both lines towards it."""
    level, t_turn = v[0], v[1]
    off = [(t, y) for t, y in zip(ts, ys, strict=True) if d * (level - y) > band]
    left = [p for p in off if p[0] < t_turn]
    right = [p for p in off if p[0] > t_turn]
    if len(left) < 2 or len(right) < 2:
        return v
    line1 = _line([p[0] for p in left], [p[1] for p in left])
    line2 = _line([p[0] for p in right], [p[1] for p in right])
    if line1 is None or line2 is None:
        return v
    a1, b1, _ = line1
    a2, b2, _ = line2
    if d * b1 <= 0.0 or d * b2 >= 0.0:
        return v
    # where each line comes within `band` of the turn level seen by the readings
    top = max(ys, key=lambda y: d * y)
    edge = top - d * band
    t_in = (edge - a1) / b1
    t_out = (edge - a2) / b2
    if not t_in <= t_out:
        return v
    return top, 0.5 * (t_in + t_out), t_in, t_out
