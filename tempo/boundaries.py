"""Boundaries placed again on the raw readings around them (docs/engine.md, "Phase boundary
convention").

The segmenter finds each 2 % crossing on the smoothed track, which a median of five and a
mean of three bias where the sled speeds up or slows down. A crossing is placed again on a
parabola through the raw readings around it (tempo.crossings); a hold's arrival and a
departure from a hold on a `Knee` through the readings of the whole movement and of the
hold, so its crossing averages them all.
"""

from __future__ import annotations

import math
from typing import Final

from tempo.crossings import Knee, knee_fit, noise_weights, parabola_crossing
from tempo.smoother import SMOOTHED_NOISE
from tempo.track import BUFFER, Track

# A 2 % crossing is placed again on this many raw readings either side of it (tempo.crossings):
# 0.1 s at 50 Hz, 0.25 s at 20 Hz, so ten readings average the noise at every rate.
CROSSING_READINGS: Final = 5
# ... spanning at most this (a short gap among them is fine; over longer spans the sled's
# acceleration changes too much for one parabola)
CROSSING_MAX_SPAN_S: Final = 1.0
# A hold's arrival and a departure from it are placed again on a `Knee` (tempo.crossings)
# through the raw readings of the movement and of the hold: the movement side reaches
# this far from the hold's level (a fifth of the ROM, or twenty noise deviations: a slow
# move in noise needs that many samples for its line) ...
KNEE_REACH_FRACTION: Final = 0.2
KNEE_REACH_NOISE: Final = 20.0
# A departure's move side reaches only a tenth of the ROM (or the twenty deviations): a
# smooth start speeds up over half the move, and a knee (a ramp into a constant speed)
# fitted as far as a fifth of the ROM bent its ramp to the speeding up beyond the 2 %
# crossing: an 8 s minimum-jerk lowering left its stop 16-19 ms late without noise (now
# none). (Not tried for arrivals, whose move side also sets how long a revision waits.)
KNEE_DEPART_REACH_FRACTION: Final = 0.1
# ... the hold side of a departure this far back (or to the hold's arrival), and of an
# arrival placed again as the sled leaves the hold this far on, at least; and as far as
# the move side reaches (a knee places its corner from both sides): a smooth negative
# stays within 2 % of the top for an eighth of its time (1.25 s of a 10 s one) before the
# smoothed track sees it leave, and with 1 s the knee of such a departure had no still
# reading left to fit (3 s for every knee let more of the drift and noise of long holds
# in, and did worse)
KNEE_HOLD_S: Final = 2.0
# ... on the raw readings when the stop's side lasts this long (`Boundaries._readings`)
KNEE_RAW_STOP_S: Final = 0.4
# ... and the knee is used when its residuals are those of noise: a knee whose readings are
# off it by more than twice the raw deviation is the wrong shape.
KNEE_FIT_NOISE: Final = 2.0
# The sensor reports whole millimetres: a reading is off the true distance by up to half a
# millimetre however quiet the sensor, a deviation of 1 / sqrt(12) mm that the noise
# estimates (from differences of neighbouring readings, equal on a slow move) do not see.
ROUNDING_NOISE_MM: Final = 1.0 / math.sqrt(12.0)
# On the start side the sled often creeps the last millimetres onto the stops as the hold is
# confirmed, and the knee's level is then that of the creep, short of the stop: there the
# knee is used only when it came to rest at least this long before the newest sample.
KNEE_SETTLED_S: Final = 0.2


class Boundaries:
    """Places boundaries of the segmenter's track again on the raw readings."""

    __slots__ = ("_band", "_home", "_rom", "_track")

    def __init__(self, track: Track, rom_mm: float, band_mm: float, home_mm: float) -> None:
        """`band_mm`: the 2 % band; `home_mm`: how far out the start side's stops reach."""
        self._track = track
        self._rom = rom_mm
        self._band = band_mm
        self._home = home_mm

    def refined(self, t_near: float, target: float, d: int, noise: float) -> float:
        """The crossing of `target` near `t_near` placed on the raw readings around it."""
        acc = self._track.accepted
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
        got = parabola_crossing(ts, ys, t_near, target, d, noise_mm=noise)
        if got is None or abs(got - t_near) > 0.5 * (ts[-1] - ts[0]):
            return t_near  # the parabola says something else than the smoothed track
        return got

    def arrival(
        self,
        n: int,
        t_near: float,
        level: float,
        d: int,
        noise: float,
        *,
        t_from: float,
        settled: bool = False,
        raw_only: bool = False,
    ) -> tuple[float, float, float] | None:
        """The arrival into the band of a hold at `level` placed on a `Knee` through the
        movement (begun at `t_from`) and the hold up to smoothed sample `n`, when the sled
        came to rest there (the end of the knee's ramp) and the knee's level (over every
        reading of the hold it was fitted to); None where no knee fits.
        `settled`: the hold is over, so its level is the knee's own. `raw_only`: placed on
        the raw readings or not at all."""
        bt = self._track.t
        k = self._move_side_from(n, t_near, level, d, noise=noise, t_from=t_from)
        ts, ys, sigma, raw = self._readings(k, n, noise, bt[n % BUFFER] - t_near)
        if raw_only and not raw:
            return None
        knee = _knee(ts, ys, d, t_near, sigma, raw=raw)
        if knee is None:
            return None
        home = level < self._home
        if home and not settled and ts[-1] - knee.t_stop < KNEE_SETTLED_S:
            return None  # still creeping onto the stops: the crossing on the track stands
        if settled or home:
            # The knee's level averages the whole hold, the still test's only its last
            # samples, and a slow lowering crosses the band in a fifth of a second.
            band = self._band
        else:
            # Away from the start side the hold may still settle: the band is the still
            # test's level's.
            band = d * (knee.level - level) + self._band
            if band <= 0.0:
                return None
        t = knee.arrival(band)
        return (t, knee.t_stop, knee.level) if t >= ts[0] else None

    def move_side_s(
        self, n: int, t_near: float, level: float, d: int, *, noise: float, t_from: float
    ) -> float:
        """How long before `t_near` the move side of an arrival's knee (`arrival`) begins."""
        k = self._move_side_from(n, t_near, level, d, noise=noise, t_from=t_from)
        return t_near - self._track.t[k % BUFFER]

    def _move_side_from(
        self, n: int, t_near: float, level: float, d: int, *, noise: float, t_from: float
    ) -> int:
        """The smoothed sample an arrival's knee is fitted from: where the move into the
        hold at `level` (begun at `t_from`) was still KNEE_REACH_* away from it."""
        bt, by = self._track.t, self._track.y
        stop = max(n - BUFFER + 1, 0)
        reach = max(KNEE_REACH_FRACTION * self._rom, KNEE_REACH_NOISE * noise)
        k = n
        while k > stop and bt[k % BUFFER] > t_near:
            k -= 1
        while k > stop and d * (level - by[k % BUFFER]) < reach and bt[(k - 1) % BUFFER] >= t_from:
            k -= 1
        return k

    def departure(
        self, n: int, level: float, d: int, *, t_hold: float, t_start: float, noise: float
    ) -> tuple[float | None, float] | None:
        """A departure from the hold at `level` the `d` way, found at `t_start` on the
        track, placed on a `Knee` through the hold (from `t_hold`) and the movement up to
        smoothed sample `n`: (the start placed again, or None where the knee's crossing
        lies before its readings; when the sled began to leave the hold). None where no
        knee fits."""
        track = self._track
        bt, by = track.t, track.y
        stop = max(n - BUFFER + 1, 0)
        k = n
        while k > stop and bt[(k - 1) % BUFFER] >= t_hold:
            k -= 1
        reach = max(KNEE_DEPART_REACH_FRACTION * self._rom, KNEE_REACH_NOISE * noise)
        m = k
        while m < n and d * (by[m % BUFFER] - level) < reach:
            m += 1
        # Time reversed, a departure is an arrival of the sled moving the other way.
        ts, ys, sigma, raw = self._readings(k, m, noise, t_start - bt[k % BUFFER])
        ts = [-t for t in reversed(ts)]
        ys.reverse()
        knee = _knee(ts, ys, -d, -t_start, sigma, raw=raw)
        if knee is None:
            return None
        t = knee.arrival(self._band)
        return (-t if t >= ts[0] else None), -knee.t_stop

    def arrival_again(
        self,
        n: int,
        level: float,
        d: int,
        *,
        t_near: float,
        t_left: float,
        t_move: float,
        noise: float,
        hold_s: float,
    ) -> tuple[float, float] | None:
        """The arrival of the hold at `level` (first estimated at `t_near`; the move into it
        began at `t_move`) placed on the raw readings of that move and of the hold up to
        when the sled left it at `t_left`, at most `hold_s` of it, and the hold's level on
        those readings; None if the hold lasted too little for that or no knee fits."""
        if t_left - t_near < KNEE_RAW_STOP_S:
            return None
        bt = self._track.t
        m = n
        stop = max(m - BUFFER + 1, 0)
        t_last = min(t_left, t_near + hold_s)
        while m > stop and bt[m % BUFFER] > t_last:
            m -= 1
        placed = self.arrival(
            m, t_near, level, d, noise, t_from=t_move, settled=True, raw_only=True
        )
        return None if placed is None else (placed[0], placed[2])

    def _readings(
        self, k: int, m: int, noise: float, stop_s: float
    ) -> tuple[list[float], list[float], float, bool]:
        """What a knee from smoothed sample k to smoothed sample m is fitted to, oldest
        first, its noise (from the readings' `noise`) and whether those are the raw
        readings; `stop_s`: how long the stop's side of the knee lasts.

        The mean of three is off a curve by its curvature: at 20 Hz a ramp into or out of
        a stop came out a millimetre or so closer to the stop, and a knee through a long
        stop fitted to it placed the crossing 10-14 ms late; the raw readings are fitted.
        A knee whose stop is short (an arrival as the hold is confirmed) cannot tell from
        the raw readings where the ramp ended, and was spread more widely there than on
        the smoothed track; that, or raw readings that do not reach back to sample k,
        keeps it on the smoothed samples.
        """
        track = self._track
        bt, by = track.t, track.y
        t_from, t_to = bt[k % BUFFER], bt[m % BUFFER]
        acc = track.accepted
        if stop_s >= KNEE_RAW_STOP_S and acc and acc[0][0] <= t_from:
            ts, ys = track.readings_between(t_from, t_to)
            return ts, ys, noise, True
        ts = [bt[j % BUFFER] for j in range(k, m + 1)]
        return ts, [by[j % BUFFER] for j in range(k, m + 1)], SMOOTHED_NOISE * noise, False


def _knee(
    ts: list[float], ys: list[float], d: int, t_near: float, sigma: float, *, raw: bool
) -> Knee | None:
    """The knee through these readings (`sigma`: their noise), if its residuals are those
    of noise. Raw readings that glare made noisier over part of them are weighed down
    (`noise_weights`); the residuals are then in units of `sigma` all the same."""
    knee = knee_fit(ts, ys, d, t_near, noise_weights(ys, sigma) if raw else None)
    if knee is None or knee.sse > len(ts) * KNEE_FIT_NOISE**2 * (sigma**2 + ROUNDING_NOISE_MM**2):
        return None
    return knee
