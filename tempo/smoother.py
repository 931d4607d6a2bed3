"""The smoother: a median of five and a mean of three over the readings the gate accepted.

(docs/engine.md, "Filtering", stages 3 and 4.) A running median of five accepted readings,
labelled with the time of its middle reading, so a constant-velocity ramp comes out without
bias or time lag, only late; then a mean of three consecutive medians (skipped across
gaps). The output is three samples late; the engine backdates every boundary. It also
estimates the noise of the accepted readings, which the engine's thresholds use.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

GAP_MEAN_S: Final = 0.25  # readings further apart than this are not smoothed together
IDLE_SLACK_S: Final = 1e-6  # rounding slack of the cheap pre-check before owed()
ACCEPTED_KEEP: Final = 512  # the last accepted raw readings (10 s at 50 Hz), for turns and knees
NOISE_ALPHA: Final = 0.05
NOISE_INITIAL_MM: Final = 1.0
# Readings a running estimate takes to forget where it started.
NOISE_SEEN: Final = round(1.0 / NOISE_ALPHA)
# The smoothed track's deviation, in deviations of the raw readings (a median of five then a
# mean of three of independent Gaussian noise).
SMOOTHED_NOISE: Final = 0.47


class Smoother:
    """Accepted readings in, a smoothed and late but backdatable track out."""

    __slots__ = (
        "_m_t",
        "_m_v",
        "_whole_run",
        "accepted",
        "backlog",
        "idle_after",
        "noise_mm",
        "still_noise_mm",
        "still_seen",
        "window_t",
        "window_x",
    )

    def __init__(self) -> None:
        self.window_t: list[float] = []
        """Accepted readings, oldest first, at most five (times; `window_x` the values)."""
        self.window_x: list[float] = []
        self._m_t: list[float] = []  # last three medians
        self._m_v: list[float] = []
        self._whole_run = True  # the window holds a run from its start (see forget_since)
        self.noise_mm = NOISE_INITIAL_MM
        """Running estimate of the raw reading noise (about one standard deviation)."""
        self.still_noise_mm = NOISE_INITIAL_MM
        """The same, from readings while the sled was still: what the sensor does alone."""
        self.still_seen = 0
        """How many readings of a still sled `still_noise_mm` has seen (until that is
        NOISE_SEEN, it is mostly the initial guess)."""
        self.accepted: deque[tuple[float, float]] = deque(maxlen=ACCEPTED_KEEP)
        """The last accepted readings, (t_s, x_mm), oldest first."""
        self.idle_after = 0.0
        """Outputs can be owed by `owed` only after this time (last reading + a gap)."""
        self.backlog: list[tuple[float, float]] = []
        """Extra outputs (a flush at a gap, readings taken back in); the caller drains it."""

    def owed(self, t_s: float) -> list[tuple[float, float]]:
        """The outputs owed once no reading has been accepted for GAP_MEAN_S by `t_s`."""
        wt = self.window_t
        if wt and t_s - wt[-1] > GAP_MEAN_S:
            return self.flush()
        return []

    def flush(self) -> list[tuple[float, float]]:
        """The outputs still owed for the newest readings (end of stream, or before a gap).

        They come from shrinking windows, so they are noisier than the rest, but a stop
        right at the end of a trace or before a gap is not lost. A run too short to fill
        the windows (three to six readings between two gaps) puts out what it has: its
        medians of five, or the median of all of it; before, nothing, and a turn seen only
        by such a run was lost (accuracy seed 1002100: a partial rep not counted).
        """
        wt, wx, mt, mv = self.window_t, self.window_x, self._m_t, self._m_v
        self.idle_after = math.inf  # nothing is owed until a reading is accepted again
        out: list[tuple[float, float]] = []
        if len(wx) == 5 and len(mv) == 3:
            out.append((mt[2], (mv[1] + mv[2]) / 2.0))
            four = sorted(wx[1:])
            out.append((wt[3], (four[1] + four[2]) / 2.0))
            out.append((wt[4], sorted(wx[2:])[1]))
        elif self._whole_run and mv and len(wx) == 5:
            # A run of five or six readings between two gaps: its medians, never put out
            out.extend(zip(mt, mv, strict=True))
        elif self._whole_run and not mv and len(wx) >= 3:
            # ... three or four: their median
            k = len(wx)
            ranked = sorted(wx)
            out.append((wt[k // 2], ranked[k // 2] if k % 2 else 0.5 * (ranked[1] + ranked[2])))
        self._whole_run = True
        wt.clear()
        wx.clear()
        mt.clear()
        mv.clear()
        return out

    def forget_since(self, t_s: float) -> None:
        """Drop the accepted readings from `t_s` on (the gate found they were a burst).

        Outputs already made stand. The medians still waiting for their mean go too, so
        the next output waits for three new medians and is labelled after every output
        made so far (the window's retained readings keep their places).
        """
        wt, wx, acc = self.window_t, self.window_x, self.accepted
        while wt and wt[-1] >= t_s:
            wt.pop()
            wx.pop()
        while acc and acc[-1][0] >= t_s:
            acc.pop()
        self._m_t.clear()
        self._m_v.clear()
        # The window's retained readings may be in outputs made already: a run that ends
        # before it fills again puts out nothing more (its labels could repeat one).
        self._whole_run = False

    def accept(self, t_s: float, x_mm: float, still: bool) -> tuple[float, float] | None:
        """One accepted reading (`still`: the sled is still, for `still_noise_mm`); returns
        a smoothed (t_s, position) when one is ready."""
        wt, wx = self.window_t, self.window_x
        if wt and t_s - wt[-1] > GAP_MEAN_S:
            # A gap: the sled may have turned in it; windows must not smear across it.
            self.backlog.extend(self.flush())
        wt.append(t_s)
        wx.append(x_mm)
        self.accepted.append((t_s, x_mm))
        self.idle_after = t_s + GAP_MEAN_S - IDLE_SLACK_S  # idle() checks exactly
        n = len(wx)
        if n > 5:
            del wt[0]
            del wx[0]
            n = 5
        if n >= 3:
            # Noise from the second difference of accepted readings around the previous
            # one (linear motion cancels); capped so one slipped spike cannot blow the
            # estimate up. The engine's thresholds use it; the gate has its own.
            t0, t1 = wt[-3], wt[-2]
            span = t_s - t0
            if span > 0:
                x0 = wx[-3]
                r = wx[-2] - (x0 + (x_mm - x0) * (t1 - t0) / span)
                if r < 0.0:
                    r = -r
                noise = self.noise_mm
                cap = 3.0 * noise + 5.0
                if r > cap:  # noqa: PLR1730 (per reading: no call)
                    r = cap
                self.noise_mm = noise + NOISE_ALPHA * (r - noise)
                if still:
                    # the same on a still sled: what the sensor does when nothing moves
                    self.still_noise_mm += NOISE_ALPHA * (r - self.still_noise_mm)
                    self.still_seen += 1
        if n < 5:
            return None
        m = sorted(wx)[2]
        mt, mv = self._m_t, self._m_v
        mt.append(wt[2])
        mv.append(m)
        if len(mv) > 3:
            del mt[0]
            del mv[0]
        elif len(mv) < 3:
            return None
        y = mv[1] if mt[2] - mt[0] > GAP_MEAN_S else (mv[0] + mv[1] + mv[2]) / 3.0
        return mt[1], y
