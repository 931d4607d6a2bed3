"""What waiting for the sensor costs: 60 s of sampling at 50 Hz on the timed fake bus.

The fake bus charges every I2C transaction its transfer time at the bus speed (9 bit times
per byte plus a per-transaction overhead) by sleeping on the clock, and the fake chip
completes a measurement every timing budget without sleeping for the host. So a read that
busy-polls the chip pays the Python work of every poll in CPU, and a read that sleeps pays
nothing for the sleep, as on the device. The clock is a FakeClock (simulated time, so 60 s
run in a few seconds); `--real-time` runs on the system clock instead.

Printed per bus speed, for the sampling loop and engine as `repsled run` drives them:
CPU seconds per second of sampling (this machine's CPU: a Pi Zero 2 W's core is several
times slower), I2C transactions and bytes per sample in steady state (start excluded), and
the median time spent inside one read (asleep or polling), and the age of the reading when
read_mm returns it (from the end of the chip's measurement: the latency the wait adds).
"driver busy wait" is the Adafruit driver's own read (`range`), which repsled used before;
"repsled wait" is today's read_mm, "+ ready pin" the same with GPIO1 wired (`ready_pin`).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from typing import Any

from firmware.clock import Clock, FakeClock, SystemClock
from firmware.station.loop import SamplingLoop
from sensor.fake_vl53l0x import BusTiming, FakeBusFactory, FakeVL53L0X, fake_source
from sensor.source import SensorError
from sensor.vl53l0x import VL53L0XSource
from tempo.engine import TempoEngine
from tempo.settings import EngineSettings

RATE_HZ = 50
TIMING_BUDGET_MS = 1000 / RATE_HZ  # 20 ms, the chip's minimum
SECONDS = 60.0
BUS_SPEEDS_HZ = (100_000, 400_000)


def sled_mm(t_s: float) -> int:
    """Reps every 5 s between 150 and 520 mm, plus a little deterministic wobble."""
    phase = (t_s % 5.0) / 5.0
    wobble = 1.5 * math.sin(t_s * 37.0)
    return round(335 - 185 * math.cos(2 * math.pi * phase) + wobble)


class DriverBusyWait(VL53L0XSource):
    """The read repsled used first: the driver's `range`, which polls the chip without pause.

    The sampling loop slept until its own deadline before each such read, as it did then.
    """

    paces_itself = False

    def read_mm(self) -> int:
        driver = self._driver
        if driver is None:
            raise SensorError("not_started", "read_mm() before start()")
        try:
            return int(driver.range)
        except Exception as exc:
            raise SensorError("timeout", str(exc)) from exc


class Measured:
    """Wraps a source: clock time spent in read_mm, and bus traffic after the first start."""

    def __init__(self, source: VL53L0XSource, chip: FakeVL53L0X, clock: Clock) -> None:
        self.source = source
        self.chip = chip
        self.clock = clock
        self.ages_s: list[float] = []
        self.factory: Any = source.smbus_factory
        self.waits_s: list[float] = []
        self.after_start: tuple[int, int] | None = None

    def start(self) -> None:
        self.source.start()
        if self.after_start is None:
            self.after_start = (self.factory.transactions, self.factory.wire_bytes)

    def read_mm(self) -> int:
        before = self.clock.monotonic()
        try:
            return self.source.read_mm()
        finally:
            self.waits_s.append(self.clock.monotonic() - before)
            self.ages_s.append(self.chip.now_s() - self.chip.result_completed_s)

    def close(self) -> None:
        self.source.close()

    @property
    def paces_itself(self) -> bool:
        return self.source.paces_itself


def measure(
    label: str,
    kind: type[VL53L0XSource],
    bus_hz: int,
    real_time: bool,
    seconds: float,
    *,
    ready_pin: bool = False,
) -> None:
    clock: Clock = SystemClock() if real_time else FakeClock()
    source, chip = fake_source(
        sled_mm,
        clock,
        timing_budget_ms=TIMING_BUDGET_MS,
        bus_timing=BusTiming(bus_hz),
        ready_pin=ready_pin,
    )
    source.__class__ = kind  # same chip, bus and settings; only the read differs
    measured = Measured(source, chip, clock)
    loop = SamplingLoop(
        measured,
        clock,
        period_s=TIMING_BUDGET_MS / 1000,
        engine=TempoEngine(EngineSettings()),
    )
    cpu0 = time.process_time()
    stats = loop.run(seconds)
    cpu_s = time.process_time() - cpu0
    factory: FakeBusFactory = measured.factory
    start_transactions, start_bytes = measured.after_start or (0, 0)
    samples = max(stats.samples, 1)
    waits_ms = sorted(w * 1e3 for w in measured.waits_s) or [math.nan]
    ages_ms = sorted(a * 1e3 for a in measured.ages_s) or [math.nan]
    print(
        f"{bus_hz // 1000:>3} kHz  {label:<17} {stats.samples:>5} samples  "
        f"CPU {cpu_s / seconds:.4f} s/s ({cpu_s / seconds * 100:5.2f} % of a core)  "
        f"{(factory.transactions - start_transactions) / samples:5.1f} transactions "
        f"{(factory.wire_bytes - start_bytes) / samples:6.1f} bytes per sample  "
        f"wait per read median {statistics.median(waits_ms):5.2f} ms  reading age median "
        f"{statistics.median(ages_ms):4.2f} ms p95 {ages_ms[round(0.95 * (len(ages_ms) - 1))]:4.2f}"
        f" ms  errors {stats.errors_total}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-time", action="store_true", help="sample on the system clock")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    opts = parser.parse_args()
    clock = "system clock" if opts.real_time else "simulated clock"
    print(
        f"{opts.seconds:g} s of sampling at {RATE_HZ} Hz on the timed fake bus ({clock}, timing "
        f"budget {TIMING_BUDGET_MS:g} ms, {BusTiming().transaction_overhead_s * 1e6:g} µs "
        "per transaction besides the bits)"
    )
    for bus_hz in BUS_SPEEDS_HZ:
        measure("driver busy wait", DriverBusyWait, bus_hz, opts.real_time, opts.seconds)
        measure("repsled wait", VL53L0XSource, bus_hz, opts.real_time, opts.seconds)
        measure("+ ready pin", VL53L0XSource, bus_hz, opts.real_time, opts.seconds, ready_pin=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
