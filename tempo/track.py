"""The track the segmenter keeps: the last smoothed samples, for backdating every boundary,
and the raw readings the gate accepted, for placing it again on them (docs/engine.md,
"Phase boundary convention").

The smoothed samples live in a ring of BUFFER: sample k (counted from the first) is at
index k % BUFFER while it is among the last BUFFER. The segmenter writes them on its hot
path itself; the queries here run only at boundaries.
"""

from __future__ import annotations

from collections import deque
from typing import Final

BUFFER: Final = 512  # smoothed samples kept for backdating (10 s at 50 Hz)


class Track:
    """The last BUFFER smoothed samples (times `t`, positions `y`; `n` taken so far) and
    the raw readings kept by the smoother (`accepted`: (t_s, x_mm), oldest first)."""

    __slots__ = ("accepted", "n", "t", "y")

    def __init__(self, accepted: deque[tuple[float, float]]) -> None:
        self.t = [0.0] * BUFFER
        self.y = [0.0] * BUFFER
        self.n = 0
        self.accepted = accepted

    def crossing(self, k: int, target: float) -> float:
        """Time between smoothed samples k and k+1 where the track passes `target`."""
        bt, by = self.t, self.y
        if k + 1 >= self.n:
            return bt[k % BUFFER]
        t0, y0 = bt[k % BUFFER], by[k % BUFFER]
        t1, y1 = bt[(k + 1) % BUFFER], by[(k + 1) % BUFFER]
        if y1 == y0:
            return t1
        a = (target - y0) / (y1 - y0)
        if a < 0.0:
            a = 0.0
        elif a > 1.0:
            a = 1.0
        return t0 + a * (t1 - t0)

    def entry(
        self, k_end: int, stop: int, target: float, d: int, *, margin: float, t_from: float
    ) -> float:
        """When the track moving in direction `d` last came into the band ending at `target`.

        The first crossing after the track was last clearly (`margin`) outside: noise on a
        track that is already in the band dips out of it and back in. Never before the
        movement began at `t_from`; `stop` is the oldest sample to look at.
        """
        bt, by = self.t, self.y
        clear = target - d * margin
        k = k_end
        while k > stop and d * (by[k % BUFFER] - clear) >= 0.0 and bt[k % BUFFER] > t_from:
            k -= 1
        while k < k_end - 1 and d * (by[(k + 1) % BUFFER] - target) < 0.0:
            k += 1
        t = self.crossing(k, target)
        return t if t > t_from else t_from

    def fitted_shift(self, k0: int, k1: int) -> float:
        """How far the least-squares line through smoothed samples k0..k1 moves across them."""
        bt, by = self.t, self.y
        t0 = bt[k0 % BUFFER]
        st = sy = stt = sty = 0.0
        for k in range(k0, k1 + 1):
            j = k % BUFFER
            u = bt[j] - t0
            v = by[j]
            st += u
            sy += v
            stt += u * u
            sty += u * v
        m = k1 - k0 + 1
        den = m * stt - st * st
        if den <= 0.0:
            return 0.0
        slope = (m * sty - st * sy) / den
        return abs(slope) * (bt[k1 % BUFFER] - t0)

    def since(self, t_from: float) -> tuple[list[float], list[float]]:
        """The smoothed samples from the first at or after `t_from` on (a movement's track
        from its start; at least the newest, at most the ring), oldest first: times and
        positions."""
        bt, by = self.t, self.y
        n = self.n
        k = n - 1
        stop = max(n - BUFFER, 0)
        while k > stop and bt[(k - 1) % BUFFER] >= t_from:
            k -= 1
        return [bt[j % BUFFER] for j in range(k, n)], [by[j % BUFFER] for j in range(k, n)]

    def readings_between(self, t_lo: float, t_hi: float) -> tuple[list[float], list[float]]:
        """The raw readings kept from time t_lo to t_hi, oldest first: times and values."""
        ts: list[float] = []
        ys: list[float] = []
        for t_r, x_r in reversed(self.accepted):  # newest first: stop at the window
            if t_r < t_lo:
                break
            if t_r <= t_hi:
                ts.append(t_r)
                ys.append(x_r)
        ts.reverse()
        ys.reverse()
        return ts, ys

    def accepted_after(self, t: float) -> list[tuple[float, float]]:
        """The raw readings kept that came after time t, oldest first."""
        acc = self.accepted
        i = len(acc)
        while i > 0 and acc[i - 1][0] > t:
            i -= 1
        return [acc[j] for j in range(i, len(acc))]
