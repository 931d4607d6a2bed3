"""Waiting for a measurement without a busy loop, through the fake chip on the timed bus.

The timed bus charges each transaction its transfer time on the FakeClock and the chip does not
sleep for the host, so whatever read_mm does between measurements shows in the bus counters:
a busy wait would be dozens of transactions per reading.
"""

from __future__ import annotations

import itertools

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.clock import FakeClock
from firmware.station.loop import SamplingLoop, SensorStatus
from sensor.fake_vl53l0x import BusTiming, FakeBusFactory, FakeReadyPin, FakeVL53L0X, fake_source
from sensor.ready_pin import GpioReadyPin
from sensor.source import SensorError
from sensor.vl53l0x import VL53L0XSource

BUDGET_MS = 20
IO_TIMEOUT_S = 0.5
READS = 200
MAX_TRANSACTIONS_PER_READING = 3


def ramp(t_s: float) -> int:
    return 100 + int(t_s * 100)


def timed(bus_hz: int = 400_000, **kwargs: object) -> tuple[VL53L0XSource, FakeVL53L0X, FakeClock]:
    clock = FakeClock()
    source, chip = fake_source(
        ramp,
        clock,
        timing_budget_ms=BUDGET_MS,
        io_timeout_s=IO_TIMEOUT_S,
        bus_timing=BusTiming(bus_hz),
        **kwargs,  # type: ignore[arg-type]
    )
    return source, chip, clock


def bus(source: VL53L0XSource) -> FakeBusFactory:
    factory = source.smbus_factory
    assert isinstance(factory, FakeBusFactory)
    return factory


@pytest.mark.parametrize("bus_hz", [100_000, 400_000])
def test_steady_state_costs_at_most_three_transactions_and_keeps_every_measurement(
    bus_hz: int,
) -> None:
    source, chip, _clock = timed(bus_hz)
    source.start()
    source.read_mm()  # the first read locks onto the chip's schedule
    before = bus(source).transactions
    seen = []
    for _ in range(READS):
        distance = source.read_mm()
        seen.append(chip.result_completed_s)
        assert distance == ramp(chip.result_completed_s)
        # Read soon after the measurement completed: at most the early wake plus two transfers.
        assert chip.now_s() - chip.result_completed_s < 0.003
    transactions = bus(source).transactions - before
    assert transactions <= MAX_TRANSACTIONS_PER_READING * READS
    period_s = chip.measurement_period_s
    # No measurement skipped, none read twice.
    steps = [round((b - a) / period_s) for a, b in itertools.pairwise(seen)]
    assert steps == [1] * (READS - 1)
    source.close()


def test_the_drivers_own_busy_wait_would_cost_dozens_of_transactions() -> None:
    """The comparison that motivates the wait: the driver polls as fast as the bus allows."""
    source, _chip, _clock = timed(400_000)
    source.start()
    driver = source._driver
    before = bus(source).transactions
    readings = [driver.range for _ in range(20)]
    assert all(r > 0 for r in readings)
    assert (bus(source).transactions - before) / 20 > 30
    source.close()


def test_a_late_reader_gets_the_newest_measurement_and_relocks() -> None:
    source, chip, clock = timed()
    source.start()
    source.read_mm()
    clock.advance(5.5 * chip.measurement_period_s)  # the loop stalled (a slow SD card)
    source.read_mm()
    assert chip.now_s() - chip.result_completed_s < 0.6 * chip.measurement_period_s
    before = bus(source).transactions
    for _ in range(50):
        source.read_mm()
    assert bus(source).transactions - before <= MAX_TRANSACTIONS_PER_READING * 50


def test_never_ready_is_a_bounded_timeout_then_restart_recovers() -> None:
    source, chip, clock = timed()
    source.start()
    source.read_mm()
    chip.inject("never_ready")
    started, before = clock.now, bus(source).transactions
    with pytest.raises(SensorError) as info:
        source.read_mm()
    assert info.value.reason == "timeout"
    assert "no measurement within 0.5 s" in str(info.value)
    waited_s = clock.now - started
    assert IO_TIMEOUT_S <= waited_s < IO_TIMEOUT_S + 0.005
    # Overdue polls come a quarter period apart, not back to back.
    period_s = chip.measurement_period_s
    assert bus(source).transactions - before <= IO_TIMEOUT_S / (0.25 * period_s) + 5
    chip.clear()
    source.start()
    assert source.read_mm() == ramp(chip.result_completed_s)
    source.close()


def test_ready_pin_costs_two_transactions_and_sleeps_until_the_edge() -> None:
    source, chip, _clock = timed(ready_pin=True)
    source.start()
    source.read_mm()
    before = bus(source).transactions
    for _ in range(READS):
        assert source.read_mm() == ramp(chip.result_completed_s)
        assert chip.now_s() - chip.result_completed_s < 0.001
    assert bus(source).transactions - before == 2 * READS
    assert source.ready_pin_misses == 0
    pin = source._pin
    assert isinstance(pin, FakeReadyPin)
    assert pin.waits == READS + 1
    source.close()
    assert pin.closed
    source.start()  # a restart opens the line again
    assert source._pin is not pin


def test_ready_pin_never_ready_times_out_the_same_way() -> None:
    source, chip, clock = timed(ready_pin=True)
    source.start()
    source.read_mm()
    chip.inject("never_ready")
    started = clock.now
    with pytest.raises(SensorError, match="timeout"):
        source.read_mm()
    assert IO_TIMEOUT_S <= clock.now - started < IO_TIMEOUT_S + 0.005


class DeadLine:
    """A data-ready line that never moves (configured but not wired)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def wait_ready(self, timeout_s: float) -> bool:
        self.clock.advance(timeout_s)
        return False

    def close(self) -> None:
        pass


def test_a_dead_ready_line_degrades_to_polling_not_to_timeouts() -> None:
    clock = FakeClock()
    chip = FakeVL53L0X(ramp, clock, block_on_poll=False)
    source = VL53L0XSource(
        timing_budget_ms=BUDGET_MS,
        smbus_factory=FakeBusFactory(chip, timing=BusTiming(), sleep=clock.sleep),
        clock=clock,
        ready_pin=lambda: DeadLine(clock),
    )
    source.start()
    period_s = chip.measurement_period_s
    for _ in range(10):
        before = clock.now
        assert source.read_mm() == ramp(chip.result_completed_s)
        assert clock.now - before < 2.1 * period_s  # not io_timeout_s (0.5 s) per reading
    assert source.ready_pin_misses == 10


def test_gpio_ready_pin_follows_the_line_through_gpiozero() -> None:
    factory = MockFactory()
    try:
        pin = GpioReadyPin(24, pin_factory=factory)
        line = factory.pin(24)
        assert not pin.wait_ready(0)  # pulled up: nothing ready
        line.drive_low()  # the chip pulls GPIO1 low: a measurement is ready
        assert pin.wait_ready(0)
        line.drive_high()
        assert not pin.wait_ready(0)
        pin.close()
        pin.close()
    finally:
        factory.close()


def test_a_ready_pin_that_cannot_be_opened_is_fatal_at_start() -> None:
    def refuse() -> GpioReadyPin:
        raise RuntimeError("GPIO24 is in use")

    clock = FakeClock()
    chip = FakeVL53L0X(ramp, clock)
    source = VL53L0XSource(smbus_factory=FakeBusFactory(chip), clock=clock, ready_pin=refuse)
    with pytest.raises(SensorError) as info:
        SamplingLoop(source, clock, period_s=0.033).run(1.0)
    assert info.value.reason == "ready_pin"
    assert "GPIO24 is in use" in str(info.value)


@pytest.mark.parametrize("ready_pin", [False, True])
def test_loop_reports_never_ready_once_and_recovers(ready_pin: bool) -> None:
    source, chip, clock = timed(ready_pin=ready_pin)
    chip.inject("never_ready", at_s=2.0, until_s=4.0)
    statuses: list[SensorStatus] = []
    samples: list[int | None] = []
    loop = SamplingLoop(
        source,
        clock,
        period_s=BUDGET_MS / 1000,
        on_status=statuses.append,
        on_sample=lambda t, d: samples.append(d),
        backoff_min_s=0.1,
    )
    loop.run(8.0)
    assert [(s.state, s.reason) for s in statuses] == [
        ("sensor_ok", "started"),
        ("sensor_fault", "timeout"),
        ("sensor_ok", "recovered"),
    ]
    assert 2.0 + 2 * IO_TIMEOUT_S <= statuses[1].t_s <= 2.0 + 3 * IO_TIMEOUT_S + 0.1
    assert statuses[2].t_s < 4.0 + 1.0  # back within a second of the chip
    assert samples[-1] is not None
