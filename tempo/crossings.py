"""2 % crossings placed on the raw readings around them (docs/engine.md, "Phase boundary
convention").

The smoothed track is found by a median of five and a mean of three: at 20 Hz they span
0.35 s, and where the sled speeds up out of a stop or slows down into one the mean of a
curve is off the curve, so the track leaves a stop early and arrives late by tens of
milliseconds. Once the smoothed track has found a crossing, a parabola through the raw
readings around it (a constant acceleration, which a ramp into or out of a stop is over a
tenth of a second or two) places it without that bias and with the noise of ten readings
averaged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tempo.turns import parabola_fit

MIN_READINGS = 5
# A parabola fits when its residuals are within the noise: for ten readings the RMS residual
# stays under 1.4 deviations 99 times in 100; readings are whole millimetres.
FIT_NOISE = 1.5
ROUNDING_MM = 0.5


def parabola_crossing(
    ts: Sequence[float],
    ys: Sequence[float],
    t_near: float,
    target: float,
    d: int,
    *,
    noise_mm: float,
) -> float | None:
    """When a parabola through the readings passes `target` moving in direction `d`.

    The crossing within the readings nearest `t_near`; None when the parabola does not
    pass `target` that way among them, or when it does not fit the readings within their
    noise (`noise_mm`, one deviation): a corner sharper than a constant acceleration, or a
    wrong reading the gate let through, is better left to the smoothed track.
    """
    n = len(ts)
    if n < MIN_READINGS:
        return None
    fit = parabola_fit(ts, ys)
    if fit is None:
        return None
    c0, c1, c2, sse = fit
    if sse > n * (FIT_NOISE * noise_mm + ROUNDING_MM) ** 2:
        return None
    span = ts[-1] - ts[0]
    # c2 u^2 + c1 u + (c0 - target) = 0, in the form that stays exact when c2 is tiny
    c = c0 - target
    disc = c1 * c1 - 4.0 * c2 * c
    if disc < 0.0:
        return None
    q = -0.5 * (c1 + math.copysign(math.sqrt(disc), c1))
    roots = []
    if q != 0.0:
        roots.append(c / q)
    if c2 != 0.0:
        roots.append(q / c2)
    best: float | None = None
    for u in roots:
        if 0.0 <= u <= span and d * (c1 + 2.0 * c2 * u) > 0.0:
            t = ts[0] + u
            if best is None or abs(t - t_near) < abs(best - t_near):
                best = t
    return best
