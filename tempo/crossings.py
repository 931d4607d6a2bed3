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
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Final, NamedTuple

from tempo.turns import parabola_fit

MIN_READINGS: Final = 5
# A parabola fits when its residuals are within the noise: for ten readings the RMS residual
# stays under 1.4 deviations 99 times in 100; readings are whole millimetres.
FIT_NOISE: Final = 1.5
ROUNDING_MM: Final = 0.5


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


KNEE_MIN_SIDE: Final = 3  # samples of the move (its line and ramp) and of the stop
KNEE_NEAR_S: Final = 0.5  # the corner is looked for this close to the smoothed track's crossing
# A sled slows into a stop (and speeds up out of one) over a ramp, tried from 0.05 s to
# 4 s: a minimum-jerk move speeds up over its first half and slows down over its second,
# so a smooth 8 s negative leaves and reaches its stops over ramps of 4 s (with 1.5 s the
# longest, its end was placed 70 ms early without noise and 225 ms in 6 mm of it) ...
KNEE_RAMPS_S: Final = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0)
# ... with its speed falling in proportion to the time left to the stop (a constant
# deceleration), or to its square or cube (a smooth stop: the deceleration eases off, as
# at the ends of a minimum-jerk move)
KNEE_SHAPES: Final = (1, 2, 3)
# ... or as over the second half of a minimum-jerk move, the way people move a load from
# one rest to another (the ramp is that half): over the fifth of the ROM a knee fits, the
# end of a smooth 8 s lowering slows as the time left to about the power 1.5, which no
# power follows (such ends came out 17-35 ms early at the median in 3 mm of noise).
MINIMUM_JERK: Final = 0  # the `Knee.shape` of that ramp
# Its speed, as a fraction of the line's, with x the time left over the ramp: x^2 (2 - x)^2;
# the distance left, over the ramp times the speed, x^3 (4/3 - x + x^2 / 5): 8/15 at the
# ramp's start, so the knee (the line's meeting with the level) lies 7/15 of it before the
# stop.
MINIMUM_JERK_LAG: Final = 7.0 / 15.0
# Its lengths: a shorter one is much like a power's ramp; a 15 s lowering slows over 7.5 s.
MINIMUM_JERK_RAMPS_S: Final = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
# ... tried only where the powers found a slow stop (their best ramp at least this long): a
# sharper stop is theirs, and each length costs a dozen residuals over its whole ramp
MINIMUM_JERK_FROM_S: Final = 1.0
MINIMUM_JERK_STEPS: Final = 4  # halvings of the step, from a quarter of the ramp, placing each
# A ramp may begin before the first reading: a minimum-jerk start speeds up over a third
# of the travel, and knees whose ramps had to fit inside the fifth of the ROM they are
# fitted to placed such departures 11 ms late at 30 Hz.
KNEE_REFINED: Final = 3  # the best ramps and shapes placed precisely before one is chosen
KNEE_REFINE_STEPS: Final = 3  # halvings of the step in placing each


# Glare raises a sensor's noise three to ten times for seconds, often over part of the
# readings a knee is fitted to; there the quiet readings say more, and each reading is
# weighed by the inverse of its own noise's variance where some stretch of them is this
# many times as noisy as the engine's estimate. Below that the local estimate strays
# too far for other reasons: it is off by a factor of 1.5-2 where the noise is not white
# (a chip sampling at its own rate, not the engine's), the noise grows with distance over
# a knee's reach, and the engine's estimate lags; at 2.5 the readings of a live station's
# far hold, resampled at 30 Hz, weighed an eighth of its move's, and the departure from
# it moved 70 ms (docs/engine.md, "Knees weighed by their readings' own noise").
GLARE_NOISE_RATIO: Final = 3.5
# A reading's own noise is the median size of the 2 LOCAL_NOISE_READINGS + 1 third
# differences about it: a third difference is blind to a constant acceleration, so a ramp
# into a stop is not taken for noise, and the three or four large ones a sharp corner
# makes are not the median.
LOCAL_NOISE_READINGS: Final = 8
# The median size of a third difference of readings in white noise, in deviations: it
# sums four readings with weights 1, 3, 3, 1 (a deviation of sqrt(20)), and a normal
# variable's median size is 0.6745 deviations.
THIRD_DIFFERENCE_MEDIAN: Final = 0.6745 * math.sqrt(20.0)


def noise_weights(ys: Sequence[float], sigma: float) -> list[float] | None:
    """Each reading's weight in a fit, `(sigma / its noise)^2` where its local noise is
    over `sigma` (the engine's estimate of a reading's noise), 1 elsewhere; None where no
    stretch of the readings is GLARE_NOISE_RATIO times as noisy as `sigma`.

    (Where the local noise is over `sigma` by chance the reading weighs a little less: a
    weight of 1 up to the glare ratio did worse on both models.)"""
    n = len(ys)
    k = LOCAL_NOISE_READINGS
    m = n - 3  # third differences
    if m < 2 * k + 1 or sigma <= 0.0:
        return None
    d3 = [abs(ys[j + 2] - 3.0 * ys[j + 1] + 3.0 * ys[j] - ys[j - 1]) for j in range(1, n - 2)]
    loud = GLARE_NOISE_RATIO * sigma * THIRD_DIFFERENCE_MEDIAN
    if sum(1 for v in d3 if v > loud) <= k:
        return None  # too few loud differences to make any median loud
    local = []
    for j in range(m):
        lo = min(max(j - k, 0), m - 2 * k - 1)  # a whole window at the ends too
        window = sorted(d3[lo : lo + 2 * k + 1])
        local.append(window[k] / THIRD_DIFFERENCE_MEDIAN)
    glare = GLARE_NOISE_RATIO * sigma
    if max(local) < glare:
        return None
    weights = []
    for i in range(n):
        # reading i is the third of the four the difference local[i - 2] sums
        noise = local[min(max(i - 2, 0), m - 1)]
        weights.append(1.0 if noise <= sigma else (sigma / noise) ** 2)
    return weights


class Knee(NamedTuple):
    """A movement at constant speed that slows down over `ramp_s` and stops at `level`."""

    level: float
    t_knee: float  # where the line of the movement meets the level
    speed: float  # of the movement, mm/s, > 0
    ramp_s: float  # the slowing down, ending at the stop
    # the speed falls as the time left to the stop to this power (MINIMUM_JERK: as over the
    # second half of a minimum-jerk move)
    shape: int
    sse: float  # residual sum of squares

    @property
    def t_stop(self) -> float:
        """When the sled came to rest: the end of the ramp."""
        return self.t_knee + _lag(self.ramp_s, self.shape)

    def arrival(self, band: float) -> float:
        """When the sled came within `band` of the level."""
        q = self.shape
        r = self.ramp_s
        if self.speed * (r - _lag(r, q)) <= band:
            return self.t_knee - band / self.speed
        if q == MINIMUM_JERK:
            # the distance left falls monotonically over the ramp: halve to the band
            target = band / (self.speed * r)
            lo, hi = 0.0, 1.0
            for _ in range(40):
                x = 0.5 * (lo + hi)
                if _minimum_jerk_left(x) < target:
                    lo = x
                else:
                    hi = x
            return self.t_stop - 0.5 * (lo + hi) * r
        w = ((q + 1) * r**q * band / self.speed) ** (1.0 / (q + 1))
        return self.t_stop - w


def line_fit(ts: Sequence[float], xs: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line through the points: mean time, mean value, slope."""
    n = len(ts)
    mt = sum(ts) / n
    mx = sum(xs) / n
    sxx = sum((a - mt) * (a - mt) for a in ts)
    sxy = sum((a - mt) * (b - mx) for a, b in zip(ts, xs, strict=True))
    return mt, mx, (sxy / sxx if sxx else 0.0)


def _minimum_jerk_left(x: float) -> float:
    """The distance a minimum-jerk ramp has left with `x` of it to go, over the ramp times
    the line's speed (MINIMUM_JERK_LAG)."""
    return x * x * x * (4.0 / 3.0 - x + 0.2 * x * x)


def _lag(ramp: float, q: int) -> float:
    """How long before the stop a ramp's knee lies."""
    return ramp * MINIMUM_JERK_LAG if q == MINIMUM_JERK else ramp * q / (q + 1.0)


def _ramp_shape(ramp: float, q: int) -> tuple[float, float, float]:
    """The ramp's lag (from the knee to the stop), power and scale of g (power 0: the
    minimum-jerk ramp, scale 1 / ramp)."""
    if q == MINIMUM_JERK:
        return _lag(ramp, q), 0.0, (1.0 / ramp if ramp else 0.0)
    p = q + 1.0  # a float power: the same value as an int's, a little faster
    return _lag(ramp, q), p, (1.0 / (p * ramp**q) if ramp else 0.0)


class _KneeSums:
    """The readings of one knee fit and their prefix sums: the residual of any knee is
    then a sum over the samples of its ramp only.

    A class rather than closures inside `knee_fit` so that a compiled build calls its
    methods directly (docs/engine.md, "Throughput").
    """

    __slots__ = ("n", "p0", "p1", "p2", "pz", "pzu", "szz", "us", "w_sum", "ws", "z_sum", "zs")

    def __init__(self, us: list[float], zs: list[float], ws: list[float] | None = None) -> None:
        """`ws`: each reading's weight (`noise_weights`: the inverse of its noise's
        variance, 1 where that is the engine's estimate), or None when all weigh the same."""
        n = len(us)
        self.n = n
        self.us = us
        self.zs = zs
        self.ws = ws
        # prefix sums over the samples of the move at constant speed (p0: their weight)
        p0 = [0.0] * (n + 1)
        p1 = [0.0] * (n + 1)
        p2 = [0.0] * (n + 1)
        pz = [0.0] * (n + 1)
        pzu = [0.0] * (n + 1)
        a0 = a1 = a2 = az = azu = azz = 0.0
        for i in range(n):
            u, z = us[i], zs[i]
            w = 1.0 if ws is None else ws[i]
            a0 += w
            a1 += w * u
            a2 += w * u * u
            az += w * z
            azu += w * z * u
            azz += w * z * z
            p0[i + 1] = a0
            p1[i + 1] = a1
            p2[i + 1] = a2
            pz[i + 1] = az
            pzu[i + 1] = azu
        self.p0 = p0
        self.p1 = p1
        self.p2 = p2
        self.pz = pz
        self.pzu = pzu
        self.w_sum = a0
        self.z_sum = az
        self.szz = azz - az * az / a0

    def sse(
        self, tk: float, ramp: float, lag: float, p: float, scale: float
    ) -> tuple[float, float, float]:
        """Residual, slope (minus the speed) and sum of g for this knee and ramp."""
        us = self.us
        n = self.n
        end = tk + lag
        a = bisect_right(us, end - ramp)  # samples before the ramp: on the line
        b = bisect_left(us, end, a)  # from b on: stopped
        if b < KNEE_MIN_SIDE or n - b < KNEE_MIN_SIDE:
            return math.inf, 0.0, 0.0
        p1_a = self.p1[a]
        w_a = self.p0[a]
        sg = w_a * tk - p1_a
        sgg = w_a * tk * tk - 2.0 * tk * p1_a + self.p2[a]
        szg = tk * self.pz[a] - self.pzu[a]
        zs = self.zs
        ws = self.ws
        if ws is not None:
            for i in range(a, b):
                if p > 0.0:
                    g = math.pow(end - us[i], p) * scale
                else:
                    g = ramp * _minimum_jerk_left((end - us[i]) * scale)
                wg = ws[i] * g
                sg += wg
                sgg += wg * g
                szg += zs[i] * wg
        elif p > 0.0:
            for i in range(a, b):
                # math.pow: the same value as **, which a compiled build cannot do unboxed
                g = math.pow(end - us[i], p) * scale
                sg += g
                sgg += g * g
                szg += zs[i] * g
        else:  # the minimum-jerk ramp
            for i in range(a, b):
                g = ramp * _minimum_jerk_left((end - us[i]) * scale)
                sg += g
                sgg += g * g
                szg += zs[i] * g
        w_sum = self.w_sum
        cgg = sgg - sg * sg / w_sum
        czg = szg - self.z_sum * sg / w_sum
        if cgg <= 0.0 or czg >= 0.0:
            return math.inf, 0.0, 0.0
        return self.szz - czg * czg / cgg, czg / cgg, sg

    def sharpest(self, j_lo: int, j_hi: int) -> tuple[float, int]:
        """The residual of the best knee with no ramp at a sample from j_lo up to j_hi,
        and that sample.

        `sse` with no ramp, in closed form: nothing lies on a ramp, so each candidate
        costs a few sums and no call; it is most of the candidates a fit scores.
        """
        us = self.us
        n = self.n
        p0, p1, p2, pz, pzu = self.p0, self.p1, self.p2, self.pz, self.pzu
        z_sum, szz, w_sum = self.z_sum, self.szz, self.w_sum
        f_best, j_best = math.inf, j_lo
        for j in range(j_lo, j_hi):
            tk = us[j]
            a = bisect_right(us, tk)  # the samples up to the knee are on the line
            if a < KNEE_MIN_SIDE or n - a < KNEE_MIN_SIDE:
                continue
            p1_a = p1[a]
            w_a = p0[a]
            sg = w_a * tk - p1_a
            sgg = w_a * tk * tk - 2.0 * tk * p1_a + p2[a]
            szg = tk * pz[a] - pzu[a]
            cgg = sgg - sg * sg / w_sum
            czg = szg - z_sum * sg / w_sum
            if cgg <= 0.0 or czg >= 0.0:
                continue
            f = szz - czg * czg / cgg
            if f < f_best:
                f_best, j_best = f, j
        return f_best, j_best

    def vertex(
        self, x0: float, h: float, ramp: float, q: int, f0: float | None = None
    ) -> tuple[float, float]:
        """The knee at the vertex of the parabola through the residuals at x0 and x0 ± h
        (`f0`: the residual at x0, when it is known already)."""
        lag, p, scale = _ramp_shape(ramp, q)
        if f0 is None:
            f0 = self.sse(x0, ramp, lag, p, scale)[0]
        fm = self.sse(x0 - h, ramp, lag, p, scale)[0]
        fp = self.sse(x0 + h, ramp, lag, p, scale)[0]
        best = min((f0, x0), (fm, x0 - h), (fp, x0 + h))
        den = fm - 2.0 * f0 + fp
        if den > 0.0 and best[0] < math.inf:
            x = x0 + 0.5 * h * (fm - fp) / den
            if x0 - h < x < x0 + h:
                fx = self.sse(x, ramp, lag, p, scale)[0]
                if fx < best[0]:
                    best = (fx, x)
        return best


def knee_fit(
    ts: Sequence[float],
    ys: Sequence[float],
    d: int,
    t_near: float | None = None,
    weights: list[float] | None = None,
) -> Knee | None:
    """The least-squares `Knee` of readings moving in direction `d` into a stop
    (`weights`: each reading's, as `noise_weights` gives them; None: all the same).

    Over a slow move the readings near a 2 % crossing span less than their noise, and a
    parabola through ten of them says little; the knee uses every sample of the move and
    of the stop, so its crossing averages them all. A departure is the same fit with time
    reversed. None when no knee with the sled moving the `d` way fits (fewer than
    KNEE_MIN_SIDE samples of the move or of the stop).
    """
    n = len(ts)
    if n <= 2 * KNEE_MIN_SIDE:
        return None
    t0 = ts[0]
    us = [t - t0 for t in ts]
    sums = _KneeSums(us, [d * y for y in ys], weights)
    inf = math.inf

    # The sharp corner: the best sample, then between its neighbours.
    j_lo, j_hi = KNEE_MIN_SIDE, n - KNEE_MIN_SIDE
    if t_near is not None:
        j_lo = max(bisect_left(us, t_near - t0 - KNEE_NEAR_S), j_lo)
        j_hi = min(bisect_right(us, t_near - t0 + KNEE_NEAR_S), j_hi)
    f_best, j_best = sums.sharpest(j_lo, j_hi)
    if f_best == inf:
        return None
    h = 0.5 * (us[j_best + 1] - us[j_best - 1])
    f_sharp, tk0 = sums.vertex(us[j_best], h, 0.0, 1)
    tried = [(f_sharp, tk0, 0.0, 1)]
    for q in KNEE_SHAPES:
        # Each ramp is tried first where it stops when the best shorter one did: the sled
        # comes to rest where the readings flatten, whatever the ramp, while the knee (the
        # line's meeting with the level) moves earlier as the ramp grows, by more than the
        # half-ramp steps about the sharp corner's knee reached.
        t_stop, f_q = tk0, inf
        for ramp in KNEE_RAMPS_S:
            lag = _lag(ramp, q)
            f, x = sums.vertex(t_stop - lag, 0.5 * ramp, ramp, q)
            if f < f_q:
                f_q, t_stop = f, x + lag
            if f < inf:
                tried.append((f, x, ramp, q))
            if ramp - lag >= tk0:
                # This ramp begins before the first reading (a ramp begins ramp / (q+1)
                # before its knee), so the readings see a longer one as the same curve.
                break
    # A minimum-jerk ramp is not the same curve at every length (a power is: a longer ramp
    # begun before the first reading looks like a shorter one), and the readings it fits
    # may begin inside it, where no other shape stops where it does: each length is placed
    # by halvings of its own step, from where the best fit so far stops.
    f_rough, x_rough, ramp_rough, q = min(tried)
    t_stop = x_rough + _lag(ramp_rough, q)
    f_q = inf
    for ramp in MINIMUM_JERK_RAMPS_S if ramp_rough >= MINIMUM_JERK_FROM_S else ():
        lag = _lag(ramp, MINIMUM_JERK)
        x = t_stop - lag
        f = inf
        step = 0.25 * ramp
        for _ in range(MINIMUM_JERK_STEPS):
            f_new, x_new = sums.vertex(x, step, ramp, MINIMUM_JERK, None if f == inf else f)
            if f_new < f:
                f, x = f_new, x_new
            step *= 0.5
        if f < inf:
            tried.append((f, x, ramp, MINIMUM_JERK))
        if f < f_q:
            f_q, t_stop = f, x + lag
        elif f_q < inf:
            break  # past the best length: the residual only grows from here
    # One parabola through three residuals a half-ramp apart places the knee only roughly
    # (a ramp at 20 Hz came out 10 ms off, and the wrong shape looked better): the best
    # few are narrowed in on before one is chosen.
    tried.sort()
    f_best, x_best, ramp_best, q_best = inf, 0.0, 0.0, 1
    for f_rough, x_rough, ramp, q in tried[:KNEE_REFINED]:
        f, x = f_rough, x_rough
        step = 0.5 * max(0.5 * ramp, h)
        for _ in range(KNEE_REFINE_STEPS):
            f_new, x_new = sums.vertex(x, step, ramp, q, f)
            if f_new < f:
                f, x = f_new, x_new
            step *= 0.5
        if f < f_best:
            f_best, x_best, ramp_best, q_best = f, x, ramp, q
    if f_best == inf:
        return None
    sse, slope, sg = sums.sse(x_best, ramp_best, *_ramp_shape(ramp_best, q_best))
    level = (sums.z_sum - slope * sg) / sums.w_sum * d
    return Knee(level, t0 + x_best, -slope, ramp_best, q_best, sse)
