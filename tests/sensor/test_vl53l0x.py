"""VL53L0XSource: the real Adafruit driver over SMBusI2C, every failure a SensorError reason."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from firmware.clock import FakeClock
from sensor.fake_vl53l0x import FakeBusFactory, FakeVL53L0X, fake_source
from sensor.source import DistanceSource, SensorError
from sensor.vl53l0x import VL53L0XSource

REPO = Path(__file__).resolve().parents[2]
FAST_TIMEOUT_S = 0.02  # the driver waits in real time; keep fault tests short


def ramp(t_s: float) -> int:
    return 100 + int(t_s * 1000)


def _reason(call) -> str:
    with pytest.raises(SensorError) as info:
        call()
    return info.value.reason


def test_is_a_distance_source() -> None:
    source: DistanceSource = VL53L0XSource()
    assert source.address == 0x29  # type: ignore[attr-defined]


def test_continuous_readings_follow_the_signal_every_budget() -> None:
    clock = FakeClock()
    source, chip = fake_source(ramp, clock)
    source.start()
    assert chip.mode == "continuous"
    period_s = chip.measurement_period_s
    readings = []
    for _ in range(4):
        readings.append(source.read_mm())
    # Reads block until the next measurement: on a fake clock that is a jump of one period.
    assert clock.now == pytest.approx(4 * period_s)
    assert readings == [ramp(k * period_s) for k in range(1, 5)]
    source.close()


def test_a_slow_reader_gets_the_newest_measurement() -> None:
    clock = FakeClock()
    source, chip = fake_source(ramp, clock)
    source.start()
    clock.advance(10.5 * chip.measurement_period_s)
    assert source.read_mm() == ramp(10 * chip.measurement_period_s)
    assert source.read_mm() == ramp(11 * chip.measurement_period_s)
    source.close()


@pytest.mark.parametrize("budget_ms", [20, 33, 50, 100, 200])
def test_timing_budget_sets_the_measurement_period(budget_ms: int) -> None:
    source, chip = fake_source(ramp, FakeClock(), timing_budget_ms=budget_ms)
    source.start()
    driver_us = source._driver.measurement_timing_budget
    assert chip.timing_budget_us() == int(driver_us)
    # The driver's getter adds 590 us of start overhead its setter leaves out (as ST's API),
    # and the timeout encoding (mantissa * 2^exponent) rounds long budgets.
    assert chip.measurement_period_s * 1000 == pytest.approx(budget_ms, abs=0.7)
    source.close()


def test_out_of_range_codes_pass_through() -> None:
    source, _chip = fake_source(lambda t: 8191, FakeClock())
    source.start()
    assert source.read_mm() == 8191
    source.close()


def test_read_before_start() -> None:
    assert _reason(VL53L0XSource().read_mm) == "not_started"


def test_no_bus() -> None:
    chip = FakeVL53L0X(ramp, FakeClock())
    source = VL53L0XSource(bus=4, smbus_factory=FakeBusFactory(chip, bus=1))
    assert _reason(source.start) == "no_bus"
    assert _reason(source.model_id) == "no_bus"


def test_permission_denied() -> None:
    def refuse(bus: int):
        raise PermissionError(errno.EACCES, "Permission denied")

    assert _reason(VL53L0XSource(smbus_factory=refuse).start) == "permission"


def test_no_device() -> None:
    factory = FakeBusFactory({})
    source = VL53L0XSource(smbus_factory=factory)
    assert _reason(source.start) == "no_device"
    assert _reason(source.model_id) == "no_device"
    assert all(bus.closed for bus in factory.opened)


def test_wrong_model() -> None:
    chip = FakeVL53L0X(ramp, FakeClock(), model_id=0xEA)
    source = VL53L0XSource(smbus_factory=FakeBusFactory(chip))
    assert _reason(source.start) == "wrong_model"
    assert source.model_id() == 0xEA


def test_model_id_without_start_and_while_running() -> None:
    source, _chip = fake_source(ramp, FakeClock())
    assert source.model_id() == 0xEE
    source.start()
    assert source.model_id() == 0xEE
    assert source.read_mm() > 0
    source.close()


def test_nack_then_recovery_without_restart() -> None:
    clock = FakeClock()
    source, chip = fake_source(ramp, clock)
    source.start()
    source.read_mm()
    chip.inject("nack")
    assert _reason(source.read_mm) == "nack"
    chip.clear("nack")
    assert source.read_mm() > 0  # registers survived: still ranging
    source.close()


def test_data_never_ready_times_out_then_restart_recovers() -> None:
    source, chip = fake_source(ramp, FakeClock(), io_timeout_s=FAST_TIMEOUT_S)
    source.start()
    chip.inject("never_ready")
    assert _reason(source.read_mm) == "timeout"
    assert _reason(source.start) == "timeout"  # the reference calibration waits too
    chip.clear()
    source.start()
    assert source.read_mm() > 0
    source.close()


def test_vanished_chip_comes_back_reset_and_needs_a_restart() -> None:
    clock = FakeClock()
    source, chip = fake_source(ramp, clock, io_timeout_s=FAST_TIMEOUT_S)
    source.start()
    source.read_mm()
    chip.inject("vanish", for_s=1.0)
    assert _reason(source.read_mm) == "nack"
    clock.advance(1.0)
    # Back, but power-cycled: no longer ranging, so the old session just times out.
    assert _reason(source.read_mm) == "timeout"
    assert chip.resets == 1
    assert chip.mode == "idle"
    source.start()
    assert source.read_mm() == ramp(clock.now)
    source.close()


def test_start_while_the_chip_is_gone() -> None:
    clock = FakeClock()
    source, chip = fake_source(ramp, clock)
    chip.inject("vanish", until_s=2.0)
    assert _reason(source.start) == "no_device"
    assert _reason(source.read_mm) == "not_started"
    clock.advance(2.0)
    source.start()
    assert source.read_mm() == ramp(clock.now)
    source.close()


def test_close_never_raises_and_releases_the_bus() -> None:
    chip = FakeVL53L0X(ramp, FakeClock())
    factory = FakeBusFactory(chip)
    source = VL53L0XSource(smbus_factory=factory)
    source.close()  # before start: nothing to do
    source.start()
    chip.inject("nack")
    source.close()
    source.close()
    assert [bus.closed for bus in factory.opened] == [True]


def test_close_stops_continuous_ranging() -> None:
    source, chip = fake_source(ramp, FakeClock())
    with source:
        assert chip.mode == "continuous"
    assert chip.mode == "single"  # the driver leaves a single-shot measurement behind


def test_start_twice_reinitialises() -> None:
    source, chip = fake_source(ramp, FakeClock())
    source.start()
    source.start()
    assert chip.mode == "continuous"
    assert source.read_mm() > 0
    source.close()


def test_other_bus_errors_are_io_errors() -> None:
    def broken(bus: int):
        raise OSError(errno.EIO, "Input/output error")

    assert _reason(VL53L0XSource(smbus_factory=broken).start) == "io_error"

    source, chip = fake_source(ramp, FakeClock())
    source.start()
    chip.signal = lambda t: 1 // 0
    with pytest.raises(SensorError) as info:
        source.read_mm()
    assert info.value.reason == "io_error"
    assert "ZeroDivisionError" in info.value.detail
    source.close()


def test_bad_settings_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match="timing_budget_ms"):
        VL53L0XSource(timing_budget_ms=19)
    with pytest.raises(ValueError, match="io_timeout_s"):
        VL53L0XSource(io_timeout_s=0)


def test_two_sources_do_not_share_the_drivers_buffer() -> None:
    first, _ = fake_source(lambda t: 111, FakeClock())
    second, _ = fake_source(lambda t: 222, FakeClock())
    first.start()
    second.start()
    assert first._driver._BUFFER is not second._driver._BUFFER
    assert (first.read_mm(), second.read_mm()) == (111, 222)


BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("board", "busio", "adafruit_blinka",
                                      "adafruit_platformdetect"):
                raise ImportError("blocked: " + name)
            return None

    sys.meta_path.insert(0, Block())
    from sensor.fake_vl53l0x import fake_source
    from sensor.vl53l0x import VL53L0XSource

    now = [0.0]
    source, chip = fake_source(lambda t: 321, lambda: now[0])
    source.start()
    now[0] += 1.0
    print(source.read_mm())
    source.close()
    print(sorted(m for m in sys.modules if m.split(".")[0] in
          ("board", "busio", "adafruit_blinka", "adafruit_platformdetect")))
    """
)


def test_imports_and_runs_without_blinka_board_detection() -> None:
    """Blinka's board, busio and platform detection are made unimportable: all still works."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["321", "[]"]


def test_importing_leaves_no_stand_in_behind_and_skips_typing_packages() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, sensor.vl53l0x, sensor.fake_vl53l0x; "
            "print('busio' in sys.modules, 'adafruit_platformdetect' in sys.modules, "
            "'circuitpython_typing' in sys.modules, 'typing_extensions' in sys.modules)",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # No stand-in left behind, and the annotation-only typing package never loaded (2 MB).
    assert done.stdout.strip() == "False False False False"
