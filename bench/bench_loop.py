"""Sampling loop cost: overhead per sample, and CPU time per second of sampling at 50 Hz.

The fake chip runs under the real Adafruit driver over the fake bus, so the driver's I2C
traffic (register transfers through smbus2 messages) is included. A FakeClock stands in for
time, so the figures are CPU time only: on the device the loop spends the rest asleep.

Run: `make bench` (or python bench/bench_loop.py with the project installed).
"""

from __future__ import annotations

import math
import sys
import time

from firmware.clock import FakeClock
from firmware.station.loop import SamplingLoop
from sensor.fake_vl53l0x import fake_source
from tempo.engine import TempoEngine
from tempo.settings import EngineSettings

RATE_HZ = 50
TIMING_BUDGET_MS = 1000 / RATE_HZ  # 20 ms, the chip's minimum
SECONDS = 120.0


def sled_mm(t_s: float) -> int:
    """Reps every 5 s between 150 and 520 mm, plus a little deterministic wobble."""
    phase = (t_s % 5.0) / 5.0
    wobble = 1.5 * math.sin(t_s * 37.0)
    return round(335 - 185 * math.cos(2 * math.pi * phase) + wobble)


class InstantSource:
    """No sensor at all: what the loop itself costs."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def start(self) -> None:
        pass

    def read_mm(self) -> int:
        return sled_mm(self.clock.monotonic())

    def close(self) -> None:
        pass


def measure(label: str, source: object, clock: FakeClock, engine: bool) -> float:
    loop = SamplingLoop(
        source,  # type: ignore[arg-type]
        clock,
        period_s=TIMING_BUDGET_MS / 1000,
        engine=TempoEngine(EngineSettings()) if engine else None,
        on_sample=lambda t, d: None,
        on_event=lambda e: None,
    )
    cpu0 = time.process_time()
    stats = loop.run(SECONDS)
    cpu_s = time.process_time() - cpu0
    per_sample_us = cpu_s / stats.samples * 1e6
    print(
        f"{label:<34} {stats.samples:>6} samples  {per_sample_us:7.1f} µs/sample  "
        f"{cpu_s / SECONDS * 1000:6.2f} ms CPU per s ({cpu_s / SECONDS * 100:.2f} % of a core)"
    )
    return per_sample_us


def main() -> int:
    print(f"{SECONDS:g} s of sampling at {RATE_HZ} Hz (timing budget {TIMING_BUDGET_MS:g} ms)")
    clock = FakeClock()
    measure("loop only (instant source)", InstantSource(clock), clock, engine=False)
    clock = FakeClock()
    measure("loop + engine (instant source)", InstantSource(clock), clock, engine=True)
    clock = FakeClock()
    source, chip = fake_source(sled_mm, clock, timing_budget_ms=TIMING_BUDGET_MS)
    before = chip.transfers
    measure("loop + fake chip + driver", source, clock, engine=False)
    reads = chip.transfers - before
    clock = FakeClock()
    source, _ = fake_source(sled_mm, clock, timing_budget_ms=TIMING_BUDGET_MS)
    measure("loop + fake chip + driver + engine", source, clock, engine=True)
    print(f"I2C transfers: {reads / (SECONDS * RATE_HZ):.1f} per sample (start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
