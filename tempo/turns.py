"""Turning points from the raw readings around them (docs/engine.md, "Turning points").

The smoothed track clips a sharp turn: a median of five and a mean of three span 0.35 s
at 20 Hz, so a 0.05 s bounce comes out shallower and its time within 2 % of the turn much
longer. Around a turn the readings that passed the gate are fitted as a rounded V: the way
in and the way out at constant speed, joined by an arc of constant acceleration whose
duration is fitted too. An arc of no duration is a V (a bounce), one as long as the
readings a parabola (a smooth turn), and every turn between is its own shape: the time
within 2 % of the turn, which decides the bounce flag, follows from the fit without a
choice between two models that noise can tip either way.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Final, NamedTuple

MIN_SIDE: Final = 3  # readings on each side of the corner of a V


def solve3(
    m: tuple[float, float, float, float, float, float], r: tuple[float, float, float]
) -> tuple[float, float, float] | None:
    """The normal equations of a three-parameter least-squares fit, solved by cofactors:
    `m` is the symmetric matrix's upper triangle (m00 m01 m02 m11 m12 m22), `r` the right
    side. None when singular."""
    m00, m01, m02, m11, m12, m22 = m
    r0, r1, r2 = r
    a00 = m11 * m22 - m12 * m12
    a01 = m02 * m12 - m01 * m22
    a02 = m01 * m12 - m02 * m11
    det = m00 * a00 + m01 * a01 + m02 * a02
    if abs(det) < 1e-12:
        return None
    a11 = m00 * m22 - m02 * m02
    a12 = m01 * m02 - m00 * m12
    a22 = m00 * m11 - m01 * m01
    return (
        (a00 * r0 + a01 * r1 + a02 * r2) / det,
        (a01 * r0 + a11 * r1 + a12 * r2) / det,
        (a02 * r0 + a12 * r1 + a22 * r2) / det,
    )


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
    got = solve3((s0, s1, s2, s2, s3, s4), (r0, r1, r2))
    if got is None:
        return None
    c0, c1, c2 = got
    sse = 0.0
    for t, y in zip(ts, ys, strict=True):
        u = t - t0
        e = y - c0 - (c1 + c2 * u) * u
        sse += e * e
    return c0, c1, c2, sse


# Arc durations tried: from a V (none) to a turn rounded over most of the readings.
ARC_S: Final = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7)

# Each arc stands for the durations halfway to its neighbours: weighted by that width, the
# arcs count as durations spread evenly from none to the longest (ARC_S is denser at short
# ones, which would otherwise favour a sharp turn).
ARC_WIDTH_S: Final = {
    arc: 0.5 * (ARC_S[min(i + 1, len(ARC_S) - 1)] - ARC_S[max(i - 1, 0)])
    for i, arc in enumerate(ARC_S)
}

# A fit is kept only when the readings before its arrival and after its departure lie
# outside the 2 % band: their mean by this many standard errors (a reading's deviation from
# the fit over the square root of their number), so noise around a pause does not pass.
SEEN_ERRORS: Final = 2.0

Turn = tuple[float, float, float, float]  # level, time of the turn, arrival, departure


def fit_turn(ts: Sequence[float], ys: Sequence[float], d: int, band: float) -> Turn | None:
    """(turn level, time of the turn, arrival, departure) at `band` from it, or None.

    `d` is +1 when the readings rise into the turn (a maximum), -1 for a minimum; the
    readings should cover the way in and the way out of one turn. None when no rounded V
    turns the `d` way, or when the readings do not show the sled outside the band both
    before and after the turn.
    """
    n = len(ts)
    if n < 2 * MIN_SIDE + 1:
        return None
    fit = _RoundedV(ts, ys)
    # The corner of the V, scanned in half steps between the readings ...
    lo, hi = fit.us[MIN_SIDE - 1], fit.us[n - MIN_SIDE]
    steps = 2 * (n - 2 * MIN_SIDE + 1)
    step = (hi - lo) / steps
    best: _Fit | None = None
    for k in range(steps + 1):
        got = fit.at(lo + k * step, 0.0, d)
        if got is not None and (best is None or got.sse < best.sse):
            best = got
    if best is None:
        return None
    # ... then each longer arc around the best centre so far, and the vertex between.
    centre = best.centre
    per_arc = [best]
    for arc in ARC_S[1:]:
        f0 = fit.at(centre - 0.5 * arc, arc, d)
        fm = fit.at(centre - step - 0.5 * arc, arc, d)
        fp = fit.at(centre + step - 0.5 * arc, arc, d)
        here = [f for f in (f0, fm, fp) if f is not None]
        if f0 is not None and fm is not None and fp is not None:
            den = fm.sse - 2.0 * f0.sse + fp.sse
            if den > 0.0:
                x = centre + 0.5 * step * (fm.sse - fp.sse) / den
                if centre - step < x < centre + step:
                    fx = fit.at(x - 0.5 * arc, arc, d)
                    if fx is not None:
                        here.append(fx)
        if here:
            per_arc.append(min(here))
        for f in here:
            if f.sse < best.sse:
                best = f
                centre = f.centre
    deviation = math.sqrt(max(best.sse, 0.0) / (n - 3))  # of a reading, from the fit
    level, t_turn, t_in, t_out = _likely_turn(per_arc, best.sse, deviation, band, d)
    if not (
        fit.seen_beyond(level, band, deviation, d, before=t_in)
        and fit.seen_beyond(level, band, deviation, d, after=t_out)
    ):
        # The sled stayed near the turn longer than the readings cover (a pause, whose
        # noise a rounded V can always follow): the model's 2 % times say nothing.
        return None
    t0 = ts[0]
    return level + fit.y0, t0 + t_turn, t0 + t_in, t0 + t_out


def _likely_turn(fits: list[_Fit], sse_min: float, deviation: float, band: float, d: int) -> Turn:
    """The turn averaged over the arc durations, each weighted by its likelihood given the
    readings' noise (`deviation`, one reading's, from the best fit).

    The arc of the least residual alone follows the noise near the turn: in noise as wide
    as the 2 % band its time within 2 % erred by 33 ms RMS over sharp to smooth turns at
    20-50 Hz (a touch-and-go's 0.1 s came out 0.15-0.3 s, a bounce missed); the mean over
    every duration the readings allow, as much as they allow it, by 26 ms. (Their median
    erred by as much and called fewer turns wrong near the bounce limit, but kept no more
    of the models' touch-and-go bounces than the least residual did.)
    """
    var2 = 2.0 * deviation * deviation
    if var2 <= 0.0:
        return min(fits).turn(band, d)
    w_sum = level = t_turn = t_in = t_out = 0.0
    for f in fits:
        w = ARC_WIDTH_S[f.arc] * math.exp(-(f.sse - sse_min) / var2)
        a, b, c, e = f.turn(band, d)
        w_sum += w
        level += w * a
        t_turn += w * b
        t_in += w * c
        t_out += w * e
    return level / w_sum, t_turn / w_sum, t_in / w_sum, t_out / w_sum


class _Fit(NamedTuple):
    """A rounded V: y = ya + v1 (u - a) up to the arc at `a`, constant acceleration over
    `arc`, then speed v2; its residual sum of squares."""

    sse: float
    a: float
    arc: float
    ya: float
    v1: float
    v2: float

    @property
    def centre(self) -> float:
        return self.a + 0.5 * self.arc

    def turn(self, band: float, d: int) -> Turn:
        """Level, time of the turn, and when the model is `band` from it either side."""
        a, arc, ya, v1, v2 = self.a, self.arc, self.ya, self.v1, self.v2
        if arc <= 0.0:
            return ya, a, a - band / abs(v1), a + band / abs(v2)
        acc = (v2 - v1) / arc
        t_turn = a - v1 / acc
        level = ya - v1 * v1 / (2.0 * acc)
        edge = level - d * band
        w = math.sqrt(2.0 * band / abs(acc))
        t_in = t_turn - w
        if t_in < a:  # on the way in, before the arc
            t_in = a + (edge - ya) / v1
        t_out = t_turn + w
        if t_out > a + arc:  # on the way out, after it
            t_out = a + arc + (edge - ya - 0.5 * (v1 + v2) * arc) / v2
        return level, t_turn, t_in, t_out


class _RoundedV:
    """Least-squares rounded Vs through one set of readings, in O(arc readings) each.

    Times are taken from the first reading and positions from the middle one, so the sums
    stay small; the readings before and after the arc lie on lines, whose sums come from
    prefix sums.
    """

    def __init__(self, ts: Sequence[float], ys: Sequence[float]) -> None:
        t0 = ts[0]
        self.y0 = y0 = ys[len(ys) // 2]
        self.us = us = [t - t0 for t in ts]
        self.zs = zs = [y - y0 for y in ys]
        s1 = [0.0]
        s2 = [0.0]
        q0 = [0.0]
        q1 = [0.0]
        a1 = a2 = b0 = b1 = 0.0
        for u, z in zip(us, zs, strict=True):
            a1 += u
            a2 += u * u
            b0 += z
            b1 += u * z
            s1.append(a1)
            s2.append(a2)
            q0.append(b0)
            q1.append(b1)
        self.s1, self.s2, self.q0, self.q1 = s1, s2, q0, q1
        self.zz = sum(z * z for z in zs)

    def seen_beyond(
        self,
        level: float,
        band: float,
        deviation: float,
        d: int,
        *,
        after: float | None = None,
        before: float | None = None,
    ) -> bool:
        """Whether the readings after `after` and before `before` lie outside the band,
        `band` from `level`: their mean by SEEN_ERRORS standard errors."""
        us, zs = self.us, self.zs
        i = 0 if after is None else bisect_right(us, after)
        j = len(us) if before is None else bisect_left(us, before)
        m = j - i
        beyond = d * (level * m - sum(zs[i:j])) - band * m
        return m > 0 and beyond > SEEN_ERRORS * deviation * math.sqrt(m)

    def at(self, a: float, arc: float, d: int) -> _Fit | None:
        """The best rounded V whose arc spans [a, a + arc]; None unless it turns the `d` way."""
        us, zs, s1, s2, q0, q1 = self.us, self.zs, self.s1, self.s2, self.q0, self.q1
        n = len(us)
        if a < us[0] or a + arc > us[-1]:
            return None
        i = bisect_right(us, a)  # readings before the arc: f1 = u - a, f2 = 0
        j = bisect_left(us, a + arc, i)  # from j on, after it: f1 = arc/2, f2 = u - c
        m01 = s1[i] - a * i
        m11 = s2[i] - 2.0 * a * s1[i] + a * a * i
        r1 = q1[i] - a * q0[i]
        h = 0.5 * arc
        c = a + h
        k = n - j
        if k:
            sr1 = s1[n] - s1[j]
            f2 = sr1 - c * k
            m01 += h * k
            m11 += h * h * k
            m02 = f2
            m12 = h * f2
            m22 = s2[n] - s2[j] - 2.0 * c * sr1 + c * c * k
            zr = q0[n] - q0[j]
            r1 += h * zr
            r2 = q1[n] - q1[j] - c * zr
        else:
            m02 = m12 = m22 = r2 = 0.0
        for x in range(i, j):  # the arc: f1 = v - v^2 / (2 arc), f2 = v^2 / (2 arc)
            v = us[x] - a
            g = 0.5 * v * v / arc
            f1 = v - g
            z = zs[x]
            m01 += f1
            m02 += g
            m11 += f1 * f1
            m12 += f1 * g
            m22 += g * g
            r1 += f1 * z
            r2 += g * z
        r0 = q0[n]
        got = solve3((n, m01, m02, m11, m12, m22), (r0, r1, r2))
        if got is None:
            return None
        ya, v1, v2 = got
        if d * v1 <= 0.0 or d * v2 >= 0.0:
            return None
        sse = self.zz - ya * r0 - v1 * r1 - v2 * r2
        return _Fit(sse, a, arc, ya, v1, v2)
