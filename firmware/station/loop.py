"""The sampling loop: sensor readings in, engine events and status changes out.

Time comes from the injected clock only, read right after each reading, so a fake sensor on a
fake clock runs the same code as the device. The schedule is deadline-based: each deadline is
the previous one plus the period, so the loop's own delays never accumulate; when it falls
more than a period behind (a stalled bus, a slow SD card) it skips the missed deadlines and
counts them. A chip whose period is a little longer than nominal sets the pace instead.

A read error is written to the trace and fed to the engine as a None sample, exactly as a
replay of that trace would feed it, so live and replayed sessions agree. A run of errors, or
a chip repeating one value, is a fault: the sensor is closed and started again with
exponential backoff, and the status callback hears `sensor_fault` then `sensor_ok`. While it
backs off the loop probes the chip (one register read) four times a second, so a chip that
answers again after a loose wire is restarted at once instead of at the end of a long delay.
A run of out-of-range readings is reported the same way (the chip works, nothing is in front
of it). The watchdog hook hears from the loop while it is alive, faults included: it guards
against a hung loop, not a broken sensor. See docs/sensor-loop.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from firmware.clock import Clock
from sensor.source import DistanceSource, SensorError
from tempo.engine import MIN_VALID_MM, OUT_OF_RANGE_MM
from tempo.events import Event

END_OF_TRACE = "end_of_trace"
"""SensorError reason a fake source gives when its trace has no more samples."""

# Start failures no retry can fix: the bus device is missing or not ours to open, or the
# configured data-ready GPIO cannot be watched. Reported at
# once (raised) when the very first start fails, instead of retrying forever.
FATAL_AT_START = ("no_bus", "permission", "ready_pin")

# Longest single sleep while backing off, so that stop() is honoured promptly, the watchdog
# is pinged, and a chip that answers again is noticed within this long.
_SLEEP_SLICE_S = 0.25

# Failures that mean nothing acknowledged on the bus: a probe that answers after one of these
# means the chip is back.
SILENT_REASONS = ("nack", "no_device")

State = Literal["sensor_ok", "sensor_fault"]


@dataclass(frozen=True, slots=True)
class SensorStatus:
    """A change of sensor health; `reason` is the SensorError reason, or started/recovered."""

    t_s: float
    state: State
    reason: str
    errors_total: int


@dataclass(slots=True)
class LoopStats:
    """Counters for logs, the check command and the benchmark."""

    samples: int = 0  # successful readings
    errors_total: int = 0  # failed reads and failed starts
    faults: int = 0  # sensor_fault episodes
    restarts: int = 0  # successful re-initialisations after a fault
    overruns: int = 0  # deadlines skipped because the loop fell behind
    probes_answered: int = 0  # backoffs cut short because the chip acknowledged again
    ended_by: str = ""  # "stop", "duration" or "end_of_trace"


class Engine(Protocol):
    """What the loop needs of tempo.engine.TempoEngine."""

    def feed(self, t_s: float, distance_mm: int | None) -> list[Event]: ...

    def finish(self) -> list[Event]: ...


class Probe(Protocol):
    """Optional on a source: does the chip acknowledge at all? One register read, no re-init."""

    def __call__(self) -> bool: ...


class SampleSink(Protocol):
    """Where raw samples are teed: sensor.trace.TraceWriter."""

    def write(self, t_s: float, distance_mm: int | None) -> None: ...


def _nothing(*_args: object) -> None:
    return None


class SamplingLoop:
    """Continuous ranging on a deadline schedule; never blocks longer than a read timeout."""

    def __init__(
        self,
        source: DistanceSource,
        clock: Clock,
        *,
        period_s: float,
        engine: Engine | None = None,
        trace: SampleSink | None = None,
        on_sample: Callable[[float, int | None], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_status: Callable[[SensorStatus], None] | None = None,
        watchdog: Callable[[], object] | None = None,
        source_started: bool = False,
        should_stop: Callable[[], bool] | None = None,
        t0_s: float | None = None,
        fault_after_errors: int = 3,
        backoff_min_s: float = 0.1,
        backoff_max_s: float = 5.0,
        finish_engine: bool = True,
        fatal_at_start: tuple[str, ...] = FATAL_AT_START,
        out_of_range_fault_s: float = 1.0,
        stuck_after_s: float | None = 5.0,
    ) -> None:
        if period_s <= 0:
            raise ValueError("period_s must be positive")
        if fault_after_errors < 1:
            raise ValueError("fault_after_errors must be at least 1")
        if not 0 < backoff_min_s <= backoff_max_s:
            raise ValueError("need 0 < backoff_min_s <= backoff_max_s")
        self.source = source
        self.clock = clock
        self.period_s = period_s
        self.engine = engine
        self.trace = trace
        self.on_sample = on_sample or _nothing
        self.on_event = on_event or _nothing
        self.on_status = on_status or _nothing
        self.watchdog = watchdog or _nothing
        # The caller started the source already (`repsled run` does, so the chip measures
        # while the station is built): the first start is skipped, a restart is as usual.
        self._source_started = source_started
        self._should_stop = should_stop or (lambda: False)
        self.t0_s = t0_s
        self.fault_after_errors = fault_after_errors
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.finish_engine = finish_engine
        self.fatal_at_start = fatal_at_start
        self.out_of_range_fault_s = out_of_range_fault_s
        self.stuck_after_s = stuck_after_s
        self._invalid_since_s: float | None = None
        self._same_mm = -1
        self._same_since_s = 0.0
        self.stats = LoopStats()
        self.state: State | None = None
        self.last_reason = ""
        self._status_reason = ""
        self._backoff_s = backoff_min_s
        self._stop = False
        self._consecutive_errors = 0
        self._end_s = math.inf

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the current reading; safe from a signal handler."""
        self._stop = True

    def should_stop(self) -> bool:
        """True once stop() was called, the caller's predicate says so, or time is up."""
        if self._stop or self._should_stop():
            return True
        return self.now_s() >= self._end_s

    def now_s(self) -> float:
        """Trace time: seconds since the loop started (or since `t0_s`)."""
        return self.clock.monotonic() - (self.t0_s or 0.0)

    # -- main loop ---------------------------------------------------------------------------

    def run(self, duration_s: float | None = None) -> LoopStats:
        """Sample until stop(), `duration_s` of clock time, or the end of a fake trace.

        Raises SensorError only when the very first start fails for a reason in
        `fatal_at_start` (no I2C bus, no permission): nothing to wait for then.
        """
        if self.t0_s is None:
            self.t0_s = self.clock.monotonic()
        self._end_s = math.inf if duration_s is None else self.now_s() + duration_s
        try:
            if self._source_started:
                self._source_started = False
                self._sample_until_stopped()
            elif self._start_with_backoff():
                self._sample_until_stopped()
        finally:
            self.source.close()
            if self.engine is not None and self.finish_engine:
                self._emit(self.engine.finish())
        if not self.stats.ended_by:
            self.stats.ended_by = "stop" if self._stop or self._should_stop() else "duration"
        return self.stats

    def _sample_until_stopped(self) -> None:
        clock = self.clock
        period = self.period_s
        next_deadline = clock.monotonic()
        # A source that sleeps until its next measurement is due (VL53L0XSource) is called at
        # once: one wake-up per reading instead of two. The deadlines still count overruns.
        paced_by_source = bool(getattr(self.source, "paces_itself", False))
        while not self.should_stop():
            wait = next_deadline - clock.monotonic()
            if wait > 0 and not paced_by_source:
                clock.sleep(wait)
                if self.should_stop():
                    return
            elif wait > 0 and next_deadline - (self.t0_s or 0.0) >= self._end_s:
                return  # the reading would come after the end, as if the loop had slept to it
            self.watchdog()
            try:
                distance_mm: int | None = self.source.read_mm()
                reason = ""
            except SensorError as exc:
                if exc.reason == END_OF_TRACE:
                    self.stats.ended_by = END_OF_TRACE
                    return
                distance_mm, reason = None, exc.reason
            read_at = clock.monotonic()
            t_s = self.now_s()
            restarts = self.stats.restarts
            if distance_mm is not None:
                if not self._good_reading(t_s, distance_mm):
                    return
            elif not self._failed_read(t_s, reason):
                return
            if self.stats.restarts != restarts:
                next_deadline = clock.monotonic()  # a fresh start: a fresh schedule
                continue
            next_deadline += period
            late_s = clock.monotonic() - next_deadline
            if late_s > period:
                missed = math.floor(late_s / period)
                self.stats.overruns += missed
                next_deadline += missed * period
            # A read that blocked until the chip had a measurement lets the chip set the pace:
            # the next read starts no sooner than half a period after this reading, so the
            # loop follows the chip's own clock instead of falling behind its grid.
            next_deadline = max(next_deadline, read_at + period / 2)

    def _good_reading(self, t_s: float, distance_mm: int) -> bool:
        """A reading came back; watch for out-of-range runs and a stuck chip. False: stop."""
        self.stats.samples += 1
        self._consecutive_errors = 0
        if self.state is None:
            self._set_state(t_s, "sensor_ok", "started")
        if not MIN_VALID_MM <= distance_mm < OUT_OF_RANGE_MM:
            self._same_mm = -1
            self._record(t_s, distance_mm)
            if self._invalid_since_s is None:
                self._invalid_since_s = t_s
            elif t_s - self._invalid_since_s >= self.out_of_range_fault_s:
                self._enter_fault(t_s, "out_of_range")
            return True
        self._invalid_since_s = None
        if distance_mm != self._same_mm:
            self._same_mm, self._same_since_s = distance_mm, t_s
        elif self.stuck_after_s is not None and t_s - self._same_since_s >= self.stuck_after_s:
            # The chip keeps repeating one value: a real sled at rest still shows noise.
            self._record(t_s, None)
            self._enter_fault(t_s, "stuck")
            self._same_since_s = math.inf  # wait for the value to change before trying again
            self.source.close()
            return self._start_with_backoff(after_fault=True)
        if self.state == "sensor_fault":
            if not math.isfinite(self._same_since_s):
                self._record(t_s, None)  # still the stuck value: no reading, for the engine too
                return True
            self._backoff_s = self.backoff_min_s
            self._set_state(t_s, "sensor_ok", "recovered")
        self._record(t_s, distance_mm)
        return True

    def _failed_read(self, t_s: float, reason: str) -> bool:
        """Count the error; after enough in a row re-initialise. False when told to stop."""
        self.stats.errors_total += 1
        self._consecutive_errors += 1
        self._same_mm = -1
        self.last_reason = reason
        self._record(t_s, None)
        if self._consecutive_errors < self.fault_after_errors and reason != "not_started":
            return True
        self._enter_fault(t_s, reason)
        self.source.close()
        return self._start_with_backoff(after_fault=True)

    def _record(self, t_s: float, distance_mm: int | None) -> None:
        if self.trace is not None:
            self.trace.write(t_s, distance_mm)
        self.on_sample(t_s, distance_mm)
        if self.engine is not None:
            self._emit(self.engine.feed(t_s, distance_mm))

    def _emit(self, events: list[Event]) -> None:
        for event in events:
            self.on_event(event)

    # -- faults ------------------------------------------------------------------------------

    def _enter_fault(self, t_s: float, reason: str) -> None:
        """Report a fault once per episode, and again only if its reason changes."""
        if self.state != "sensor_fault":
            self.stats.faults += 1
        elif reason == self._status_reason:
            return
        self._set_state(t_s, "sensor_fault", reason)

    def _set_state(self, t_s: float, state: State, reason: str) -> None:
        self.state = state
        self._status_reason = reason
        self.on_status(SensorStatus(t_s, state, reason, self.stats.errors_total))

    def _start_with_backoff(self, after_fault: bool = False) -> bool:
        """Start the sensor, retrying with doubling delays; False if told to stop first.

        The delay keeps doubling across restarts that are followed by failed reads again, and
        only resets on a good reading, so a dead sensor is not hammered.
        """
        if after_fault and not self._backoff():
            return False
        while True:
            try:
                self.source.start()
            except SensorError as exc:
                if self.state is None and exc.reason in self.fatal_at_start:
                    raise
                t_s = self.now_s()
                self.stats.errors_total += 1
                self.last_reason = exc.reason
                self.watchdog()
                self._record(t_s, None)
                self._enter_fault(t_s, exc.reason)
                self.source.close()
                if not self._backoff():
                    return False
                continue
            if self.state == "sensor_fault":
                self.stats.restarts += 1
            self._consecutive_errors = 0
            return True

    def _backoff(self) -> bool:
        delay = self._backoff_s
        self._backoff_s = min(delay * 2, self.backoff_max_s)
        return self._sleep(delay, until_answer=True)

    def _sleep(self, seconds: float, *, until_answer: bool = False) -> bool:
        """Sleep in short slices, pinging the watchdog; False when told to stop.

        With `until_answer` (a backoff after a fault) each slice ends with a probe of the chip,
        when the source has one, and the sleep ends early once a chip that did not acknowledge
        does again (a wire back in place, power back): that is worth a restart now. A chip
        that answered all along (it acknowledges but will not measure) waits the full delay.
        """
        end = self.clock.monotonic() + seconds
        probe: Probe | None = getattr(self.source, "probe", None) if until_answer else None
        was_silent = self.last_reason in SILENT_REASONS
        while not self.should_stop():
            self.watchdog()
            left = end - self.clock.monotonic()
            if left <= 0:
                return True
            self.clock.sleep(min(left, _SLEEP_SLICE_S))
            if probe is not None:
                if not probe():
                    was_silent = True
                elif was_silent:
                    # A chip that is back is a fresh start: the first start may still fail
                    # (ranging left running), and the retry after it should not wait long.
                    self.stats.probes_answered += 1
                    self._backoff_s = self.backoff_min_s
                    return not self.should_stop()
        return False
