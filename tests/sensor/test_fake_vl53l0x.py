"""The fake chip at register level, its faults, its bus, and trace playback."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smbus2 import i2c_msg

from firmware.clock import FakeClock
from sensor.fake_vl53l0x import (
    END_OF_TRACE,
    OUT_OF_RANGE_MM,
    FakeBusFactory,
    FakeSMBus,
    FakeVL53L0X,
    fake_source,
    trace_signal,
)
from sensor.i2c import SMBusI2C
from sensor.source import SensorError
from sensor.trace import TraceError, TraceWriter
from sensor.vl53l0x import _Driver

FAST_TIMEOUT_S = 0.02


def ramp(t_s: float) -> int:
    return 100 + int(t_s * 1000)


class Wire:
    """Register reads and writes through FakeSMBus, as a driver would send them."""

    def __init__(self, chip: FakeVL53L0X) -> None:
        self.bus = FakeSMBus(1, {chip.address: chip})
        self.address = chip.address

    def write(self, register: int, *values: int) -> None:
        self.bus.i2c_rdwr(i2c_msg.write(self.address, [register, *values]))

    def read(self, register: int, length: int = 1) -> list[int]:
        read = i2c_msg.read(self.address, length)
        self.bus.i2c_rdwr(i2c_msg.write(self.address, [register]), read)
        return list(read)


def _chip(clock: FakeClock | None = None, signal=ramp) -> FakeVL53L0X:
    return FakeVL53L0X(signal, clock or FakeClock())


# -- registers ---------------------------------------------------------------------------------


def test_identification_registers_auto_increment() -> None:
    assert Wire(_chip()).read(0xC0, 3) == [0xEE, 0xAA, 0x10]


def test_pages_keep_registers_apart() -> None:
    wire = Wire(_chip())
    wire.write(0x91, 0x55)  # page 0
    wire.write(0xFF, 0x01)
    assert wire.read(0xFF) == [0x01]
    assert wire.read(0x91) == [0x3C]  # the stop variable lives on page 1
    wire.write(0x00, 0x00)  # page 1 register 0x00 is not SYSRANGE_START
    wire.write(0xFF, 0x00)
    assert wire.read(0x91) == [0x55]


def test_multi_byte_write_auto_increments() -> None:
    chip = _chip()
    Wire(chip).write(0xB0, 1, 2, 3)
    assert [chip.read_register(r) for r in (0xB0, 0xB1, 0xB2)] == [1, 2, 3]


def test_spad_info_needs_the_nvm_handshake() -> None:
    wire = Wire(_chip())
    wire.write(0xFF, 0x07)
    assert wire.read(0x92) == [0x00]
    wire.write(0x83, 0x00)
    assert wire.read(0x83) == [0x00]  # no command given: nothing happens
    wire.write(0x94, 0x6B)
    wire.write(0x83, 0x00)
    assert wire.read(0x83) != [0x00]
    assert wire.read(0x92) == [0x85]


def test_calibration_completes_at_once_and_clears() -> None:
    wire = Wire(_chip())
    wire.write(0x01, 0x01)  # VHV calibration step only, no final range
    wire.write(0x00, 0x41)
    assert wire.read(0x00) == [0x40]  # the start bit has cleared
    assert wire.read(0x13)[0] & 0x07
    wire.write(0x0B, 0x01)
    assert wire.read(0x13) == [0x00]


def test_power_cycle_restores_power_on_values() -> None:
    chip = _chip()
    wire = Wire(chip)
    wire.write(0x70, 0x07)
    chip.power_cycle()
    assert wire.read(0x70) == [0x04]
    assert chip.resets == 1


# -- ranging through the real driver ------------------------------------------------------------


def _driver(chip: FakeVL53L0X, io_timeout_s: float = 0.5) -> _Driver:
    return _Driver(SMBusI2C(1, FakeBusFactory(chip)), chip.address, io_timeout_s)


def test_driver_initialises_and_reads_the_budget_back() -> None:
    chip = _chip()
    driver = _driver(chip)
    assert chip.read_register(0x01) == 0xE8  # sequence config restored after calibration
    assert chip.mode == "idle"
    driver.measurement_timing_budget = 50_000
    assert driver.measurement_timing_budget == chip.timing_budget_us()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=20_000, max_value=1_000_000))
def test_decoded_budget_matches_the_drivers_getter(budget_us: int) -> None:
    chip = _chip()
    driver = _driver(chip)
    driver.measurement_timing_budget = budget_us
    assert chip.timing_budget_us() == int(driver.measurement_timing_budget)


def test_single_shot_takes_one_budget() -> None:
    clock = FakeClock()
    chip = _chip(clock)
    driver = _driver(chip)
    clock.advance(2.0)
    assert driver.range == ramp(2.0 + chip.measurement_period_s)
    assert clock.now == pytest.approx(2.0 + chip.measurement_period_s)
    assert chip.mode == "single"


def test_without_a_way_to_sleep_the_driver_polls_until_time_passes() -> None:
    now = [0.0]
    chip = FakeVL53L0X(ramp, lambda: now[0])
    driver = _driver(chip, io_timeout_s=FAST_TIMEOUT_S)
    driver.start_continuous()
    with pytest.raises(RuntimeError, match="Timeout"):
        driver.range  # noqa: B018  # a frozen bare clock: no measurement ever completes
    now[0] = 0.05
    assert driver.range == ramp(chip.measurement_period_s)


def test_none_from_the_signal_reads_as_out_of_range() -> None:
    chip = _chip(signal=lambda t: None)
    driver = _driver(chip)
    driver.start_continuous()
    assert driver.range == OUT_OF_RANGE_MM
    assert chip.read_register(0x14) == 0  # raw store untouched; status comes from ranging
    assert Wire(chip).read(0x14) == [4 << 3]


def test_address_change_follows_the_chip_until_power_cycle() -> None:
    chip = _chip()
    factory = FakeBusFactory(chip)
    driver = _Driver(SMBusI2C(1, factory), 0x29, 0.5)
    driver.set_address(0x30)
    assert chip.address == 0x30
    assert driver._read_u8(0xC0) == 0xEE
    chip.power_cycle()
    assert chip.address == 0x29


# -- faults -------------------------------------------------------------------------------------


def test_scheduled_nack_window() -> None:
    clock = FakeClock()
    source, chip = fake_source(ramp, clock)
    source.start()
    chip.inject("nack", at_s=1.0, for_s=0.5)
    assert source.read_mm() > 0
    clock.advance(1.0)
    with pytest.raises(SensorError) as info:
        source.read_mm()
    assert info.value.reason == "nack"
    clock.advance(0.5)
    newest_s = (clock.now // chip.measurement_period_s) * chip.measurement_period_s
    assert source.read_mm() == ramp(newest_s)  # registers kept: still ranging
    assert chip.resets == 0
    source.close()


def test_scheduled_vanish_resets_even_if_nobody_was_talking() -> None:
    clock = FakeClock()
    chip = _chip(clock)
    chip.inject("vanish", at_s=1.0, until_s=2.0)
    wire = Wire(chip)
    wire.write(0x70, 0x07)
    clock.advance(3.0)
    assert wire.read(0x70) == [0x04]
    assert chip.resets == 1
    assert chip.faults == []


def test_clearing_a_vanish_brings_the_chip_back_reset() -> None:
    chip = _chip()
    wire = Wire(chip)
    wire.write(0x70, 0x07)
    chip.inject("vanish")
    with pytest.raises(OSError) as info:
        wire.read(0x70)
    assert info.value.errno == errno.EREMOTEIO
    chip.clear("vanish")
    assert wire.read(0x70) == [0x04]


def test_out_of_range_fault() -> None:
    source, chip = fake_source(ramp, FakeClock())
    source.start()
    chip.inject("out_of_range")
    assert [source.read_mm(), source.read_mm()] == [OUT_OF_RANGE_MM] * 2
    chip.clear()
    assert source.read_mm() < OUT_OF_RANGE_MM
    source.close()


def test_stuck_fault_repeats_the_last_reading() -> None:
    clock = FakeClock()
    source, chip = fake_source(ramp, clock)
    source.start()
    last = source.read_mm()
    chip.inject("stuck")
    assert [source.read_mm() for _ in range(3)] == [last] * 3
    assert clock.now == pytest.approx(4 * chip.measurement_period_s)  # still measuring
    chip.clear("stuck")
    assert source.read_mm() == ramp(clock.now)
    source.close()


def test_never_ready_is_a_timeout() -> None:
    source, chip = fake_source(ramp, FakeClock(), io_timeout_s=FAST_TIMEOUT_S)
    source.start()
    chip.inject("never_ready")
    with pytest.raises(SensorError) as info:
        source.read_mm()
    assert info.value.reason == "timeout"
    source.close()


def test_inject_checks_its_arguments() -> None:
    chip = _chip()
    with pytest.raises(ValueError, match="unknown fault 'smoke'"):
        chip.inject("smoke")
    with pytest.raises(ValueError, match="not both"):
        chip.inject("nack", until_s=1.0, for_s=1.0)


# -- the bus ------------------------------------------------------------------------------------


def test_bus_nacks_absent_addresses_and_refuses_use_after_close() -> None:
    with FakeSMBus(1, {0x29: _chip()}) as bus:
        with pytest.raises(OSError) as info:
            bus.i2c_rdwr(i2c_msg.read(0x30, 1))
        assert info.value.errno == errno.EREMOTEIO
        bus.i2c_rdwr(i2c_msg.write(0x29, b""))  # a quick write is acknowledged
    assert bus.closed
    with pytest.raises(OSError):
        bus.i2c_rdwr(i2c_msg.read(0x29, 1))


def test_factory_only_knows_its_bus() -> None:
    factory = FakeBusFactory(_chip(), bus=1)
    with pytest.raises(FileNotFoundError):
        factory(0)
    assert factory(1).bus == 1
    assert len(factory.opened) == 1


def test_driver_runs_on_a_bus_that_refuses_zero_length_writes() -> None:
    chip = _chip()
    driver = _Driver(SMBusI2C(1, FakeBusFactory(chip, zero_length_write_fails=True)), 0x29, 0.5)
    driver.start_continuous()
    assert driver.range > 0


# -- traces -------------------------------------------------------------------------------------


def _trace(path: Path, samples: list[tuple[float, int | None]]) -> Path:
    with TraceWriter(path) as writer:
        for t_s, distance_mm in samples:
            writer.write(t_s, distance_mm)
    return path


SAMPLES = [(0.0, 150), (0.1, 160), (0.2, None), (0.3, 180)]


def test_trace_signal_samples_and_holds(tmp_path: Path) -> None:
    signal = trace_signal(_trace(tmp_path / "t.csv", SAMPLES))
    times_s = (0.0, 0.05, 0.1, 0.25, 0.3, 0.399)
    assert [signal(t) for t in times_s] == [150, 150, 160, None, 180, 180]
    assert signal(0.12) == 160  # time going back rewinds
    with pytest.raises(SensorError) as info:
        signal(0.41)  # past the last sample plus one interval
    assert info.value.reason == END_OF_TRACE


def test_trace_signal_loops(tmp_path: Path) -> None:
    signal = trace_signal(_trace(tmp_path / "t.csv", SAMPLES), loop=True)
    assert [signal(t) for t in (0.35, 0.45, 0.55, 0.75, 0.95)] == [180, 150, 160, 180, 160]


def test_trace_errors_come_before_playing(tmp_path: Path) -> None:
    empty = _trace(tmp_path / "empty.csv", [])
    with pytest.raises(TraceError, match="no samples"):
        trace_signal(empty)
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,distance_mm\n0.0,150\n0.1,abc\n", encoding="utf-8")
    with pytest.raises(TraceError, match=r"bad\.csv:3"):
        trace_signal(bad)


def test_a_trace_through_the_whole_chain_ends_with_end_of_trace(tmp_path: Path) -> None:
    samples = [(k * 0.0333, 150 + k) for k in range(30)]
    clock = FakeClock()
    source, _chip = fake_source(trace_signal(_trace(tmp_path / "t.csv", samples)), clock)
    source.start()
    readings = []
    with pytest.raises(SensorError) as info:
        while True:
            readings.append(source.read_mm())
    assert info.value.reason == END_OF_TRACE
    assert readings[0] == 151 and readings[-1] == 179
    assert len(readings) == 29  # one per 33.6 ms over one second of trace
    source.close()
