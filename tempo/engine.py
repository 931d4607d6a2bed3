"""The streaming tempo engine: distances in, phases, reps and sets out (docs/engine.md).

Everything happens in one coordinate, the excursion in millimetres away from the start
side (0 at the start side, the calibrated range of motion at the far side), so the mounting
direction and the start side never appear past `feed`.

`TempoEngine` is the composition of the stages, each in its own module:

* `tempo.filters` (with `tempo.smoother`): the stuck sensor, the outlier gate and the
  smoothing, readings in, a smoothed and late but backdatable track out;
* `tempo.segmenter`: the smoothed track in, movements and stops out, every boundary
  backdated to the 2 % convention;
* `tempo.rep_machine`: movements and stops in, reps, sets and the live phase out.

The engine itself keeps only what concerns the raw readings: which are missing samples,
when the sensor last said something new (its faults, for `times_unknown`), and a gap so
long that a rep in progress is dropped and the segmenter starts afresh.

Memory is bounded: a ring buffer of recent smoothed samples and the current set's reps.
"""

from __future__ import annotations

from typing import Final

from tempo.events import Event, Phase
from tempo.filters import RobustFilter
from tempo.rep_machine import RepMachine
from tempo.segmenter import Segmenter
from tempo.settings import EngineSettings

# Readings outside [MIN_VALID_MM, OUT_OF_RANGE_MM) are missing samples, not distances:
# the VL53L0X reports 8190/8191 (and other codes) when it sees nothing, and collapses to a
# few millimetres when the signal fails.
MIN_VALID_MM: Final = 20
OUT_OF_RANGE_MM: Final = 8000

FAULT_GAP_S: Final = 2.0  # no valid reading this long is a fault: a rep in progress is dropped
# No news this long (no valid reading, or the same reading over and over from a sensor that
# is noisy when still: frozen) is a sensor fault: a rep it touches has unknown phase times.
FAULT_MIN_S: Final = 0.5
FAULTS_KEPT: Final = 8  # recent fault intervals remembered (bounded memory)
# The sled rests on its start side: a reading further beyond it than this share of the
# range is no place the sled can be (a calibration a few per cent off, a knee locked past
# lockout, an unracking push are all well inside it) and is held back like an outlier:
# taken back only if it persists (REACQUIRE_N readings on a line), as after a wrong
# calibration.
BEYOND_START_FRACTION: Final = 0.2
# The rest is judged this long after it is over: a movement that began just before its end
# is confirmed only once it has left the stop by 5 % of the range (0.26 s into a 1.5 s
# minimum-jerk push) and the smoother has caught up (0.15 s at 20 Hz).
REST_GRACE_S: Final = 0.5


class TempoEngine:
    """Pure and deterministic: the same samples in give the same events out."""

    def __init__(self, settings: EngineSettings) -> None:
        rom = settings.rom_mm
        self._rom = rom
        self._from_bottom = settings.start == "bottom"
        if self._from_bottom:
            self._start_mm = settings.bottom_mm
            self._sign = float(settings.direction)
        else:
            self._start_mm = settings.lockout_mm
            self._sign = float(-settings.direction)
        self._rest_wait_s = settings.rest_s + REST_GRACE_S
        self._filter = RobustFilter(
            gate_base_mm=max(40.0, 0.12 * rom), beyond_mm=-BEYOND_START_FRACTION * rom
        )
        self._smooth = self._filter.smoother
        self._seg = Segmenter(rom, self._filter, lockout_out=self._from_bottom)
        self._machine = RepMachine(
            settings,
            self._seg,
            self._faults_until,
            self._reading_noise,
            self._filter.reach_without_burst,
            at_burst=self._filter.at_burst,
            readings_reached=self._filter.readings_reached,
            readings_about=self._filter.readings_about,
        )
        self._seg.listener = self._machine
        self._step = self._seg.step
        self._last_valid_t = 0.0
        self._news_t = 0.0  # last reading that said something new
        self._last_reading: int | None = None
        self._faults: list[tuple[float, float]] = []

    @property
    def phase(self) -> Phase:
        """Current phase as last confirmed (for the live state topic)."""
        return self._machine.phase

    @property
    def position_fraction(self) -> float | None:
        """Filtered position, 0 at bottom_mm and 1 at lockout_mm; None before any."""
        y = self._seg.y
        if y is None:
            return None
        f = y / self._rom
        return f if self._from_bottom else 1.0 - f

    def feed(self, t_s: float, distance_mm: int | None) -> list[Event]:
        """One sample; missing readings (None, near-zero, out-of-range codes) are skipped."""
        out: list[Event] = []
        m = self._machine
        m.events = out
        m.now = t_s
        if distance_mm is not None and MIN_VALID_MM <= distance_mm < OUT_OF_RANGE_MM:
            if t_s - self._last_valid_t > FAULT_GAP_S and self._seg.n:
                self._after_fault_gap()
            self._last_valid_t = t_s
            f = self._filter
            if distance_mm != self._last_reading or not (f.repeats_are_stuck or f.stuck):
                if t_s - self._news_t >= FAULT_MIN_S and self._seg.n:
                    faults = self._faults
                    faults.append((self._news_t, t_s))
                    if len(faults) > FAULTS_KEPT:
                        del faults[0]
                self._news_t = t_s
                self._last_reading = distance_mm
            elif self._news_t > f.stuck_since:
                # A quiet sensor's repeats, found stuck only now, were no news after all.
                self._news_t = f.stuck_since
            got = f.push(t_s, self._sign * (distance_mm - self._start_mm))
            backlog = self._smooth.backlog
            if backlog:
                for t_b, y_b in backlog:
                    self._step(t_b, y_b)
                backlog.clear()
            if got is not None:
                self._step(got[0], got[1])
        if t_s >= self._smooth.idle_after and self._seg.n:
            # No reading accepted for a while (a gap, a stuck sensor): what the filter
            # still owes is known now, not only when the next reading arrives.
            self._seg.step_owed(self._filter.idle(t_s))
        if t_s - m.rest_from >= self._rest_wait_s:
            m.rest_over(t_s, self._seg.moving_since)
        return out

    def end_set(self, t_s: float) -> list[Event]:
        """Close the set now (the user said so); a rep on its way back is finished first."""
        out: list[Event] = []
        m = self._machine
        m.events = out
        m.now = t_s
        self._close_set(t_s, "ended")
        return out

    def finish(self) -> list[Event]:
        """End of stream: finish a rep on its way back and close the open set."""
        out: list[Event] = []
        m = self._machine
        m.events = out
        for t_b, y_b in self._filter.flush():
            self._step(t_b, y_b)
        self._close_set(m.now, "end_of_stream")
        return out

    def _close_set(self, t: float, reason: str) -> None:
        m = self._machine
        seg = self._seg
        # a rep still moving on its way back ends where the sled got to: its extreme
        at_extreme = seg.stop_at_extreme() if m.coming_back else None
        m.close_set(t, reason, at_extreme, seg.y)

    def _after_fault_gap(self) -> None:
        """No reading for longer than a glitch: whatever the sled did then is unknown.

        A rep in progress is dropped rather than completed with made-up times, and the
        segmenter starts afresh from where the sled is found.
        """
        for t_b, y_b in self._filter.flush():
            self._step(t_b, y_b)
        self._machine.sensor_lost()
        self._seg.restart()

    def _reading_noise(self) -> float:
        return self._filter.reading_noise_mm

    def _faults_until(self, now: float) -> list[tuple[float, float]]:
        """The sensor faults (FAULT_MIN_S without news) noted so far, one going on included."""
        faults = list(self._faults)
        if now - self._news_t >= FAULT_MIN_S or self._filter.stuck:
            # One going on now; a stuck sensor is one before FAULT_MIN_S has passed, as the
            # filter already drops its repeats: a stop confirmed on its first repeats must
            # not carry a boundary placed as it stuck (accuracy seed 900217: a lowering's
            # end read 0.6 s early, and `fast_eccentric`).
            faults.append((self._news_t, now))
        return faults
