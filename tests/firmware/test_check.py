"""`repsled check`: the table, each row's failure with its hint, and the exit status."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.commands import check
from sensor.trace import TraceWriter
from tests.mosquitto import Mosquitto, refusing_port


@pytest.fixture(autouse=True)
def mock_gpio(monkeypatch: pytest.MonkeyPatch) -> None:
    """gpiozero's own mock pins; a fresh factory per test so pins are never 'in use'."""
    from gpiozero import Device

    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    monkeypatch.setenv("GPIOZERO_MOCK_PIN_CLASS", "mockpwmpin")
    if Device.pin_factory is not None:
        Device.pin_factory.close()
    Device.pin_factory = None
    yield
    if Device.pin_factory is not None:
        Device.pin_factory.close()
    Device.pin_factory = None


def still_trace(path: Path, *, seconds: float = 4.0, noise_mm: float = 1.5) -> Path:
    """A sled at rest: 150 mm with a little sensor noise."""
    rng = random.Random(7)
    with TraceWriter(path, {"sensor": "test"}) as w:
        for i in range(int(seconds / 0.033)):
            w.write(i * 0.033, round(150 + rng.gauss(0, noise_mm)))
    return path


def write_config(path: Path, text: str = "") -> Path:
    path.write_text("version = 1\n" + text, encoding="utf-8")
    return path


def run_check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, str], str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    rows = {}
    for line in out.splitlines()[1:]:
        part = line[:7].strip()
        if part:
            rows[part] = line[9:].strip()
    return code, rows, out + err


def test_all_ok_with_fake_sensor_mock_buzzer_and_real_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = still_trace(tmp_path / "still.csv")
    device = tmp_path / "i2c-1"
    device.write_bytes(b"")
    with Mosquitto(tmp_path / "broker") as broker:
        cfg = write_config(
            tmp_path / "c.toml", f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        )
        code, rows, out = run_check(
            capsys, "--config", str(cfg), "--sensor", f"fake:{trace}", "--i2c-device", str(device)
        )
    assert code == 0, out
    assert rows["I2C bus"].startswith("ok"), out
    assert rows["sensor"] == "ok      VL53L0X (model ID 0xEE) at 0x29", out
    assert rows["ranging"].startswith("ok      50 ranges,"), out
    assert "median 150 mm" in rows["ranging"], out
    assert rows["buzzer"].startswith("ok      active buzzer on GPIO17 clicked"), out
    assert rows["broker"] == f"ok      {broker.host}:{broker.port} accepted MQTT CONNECT", out
    assert "all checks passed" in out


def test_missing_i2c_bus_fails_with_the_raspi_config_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = still_trace(tmp_path / "still.csv", seconds=1)
    code, rows, out = run_check(
        capsys, "--sensor", f"fake:{trace}", "--i2c-device", str(tmp_path / "i2c-9")
    )
    assert code == 1
    assert rows["I2C bus"].startswith("FAIL"), out
    assert "sudo raspi-config nonint do_i2c 0" in rows["I2C bus"]
    assert rows["sensor"].startswith("skip"), out
    assert "FAILED: I2C bus" in out


def test_buzzer_none_is_skipped_and_tonal_clicks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gpiozero import Device

    cfg = write_config(tmp_path / "c.toml", '[cues]\nbuzzer = "none"\n')
    assert check.check_buzzer({"buzzer": "none", "quiet": False, "pin": 17}).result == "skip"
    row = check.check_buzzer({"buzzer": "tonal", "quiet": False, "pin": 18})
    assert row.result == "ok", row
    row = check.check_buzzer({"buzzer": "active", "quiet": False, "pin": 22})
    assert row.result == "ok", row
    pin = Device.pin_factory.pin(22)
    assert [s.state for s in pin.states] == [False, True, False]
    assert check.check_buzzer({"buzzer": "active", "quiet": True, "pin": 22}).result == "skip"
    del cfg


def test_buzzer_failure_is_reported(tmp_path: Path) -> None:
    from gpiozero import LED

    busy = LED(23)  # the buzzer's pin is taken by something else
    try:
        row = check.check_buzzer({"buzzer": "active", "quiet": False, "pin": 23})
    finally:
        busy.close()
    assert row.result == "FAIL"
    assert "GPIO23" in row.detail


def test_unreachable_broker_fails(tmp_path: Path) -> None:
    with refusing_port() as port:
        row = check.check_broker(
            {
                "host": "127.0.0.1",
                "port": port,
                "protocol": "3.1.1",
                "username": None,
                "password_file": None,
                "ca_file": None,
                "cert_file": None,
                "key_file": None,
                "keepalive": 60,
            }
        )
    assert row.result == "FAIL"
    assert "refused" in row.detail.lower()


def test_broker_skipped_without_host() -> None:
    assert check.check_broker({"host": None}).result == "skip"


def test_bus_device_present_or_not_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    device = tmp_path / "i2c-1"
    device.write_bytes(b"")
    assert check.check_bus(device).result == "ok"

    def denied(path: object, flags: int) -> int:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(check.os, "open", denied)
    row = check.check_bus(device)
    assert row.result == "FAIL"
    assert "i2c group" in row.detail


def test_table_format() -> None:
    text = check.format_table(
        [check.Row("I2C bus", "ok", "fine"), check.Row("broker", "skip", "no host")]
    )
    assert text.splitlines() == [
        "part     result  detail",
        "I2C bus  ok      fine",
        "broker   skip    no host",
    ]


def chip_source(chip_address: int = 0x29, model_id: int = 0xEE, source_address: int = 0x29):
    from firmware.clock import FakeClock
    from sensor.fake_vl53l0x import FakeBusFactory, FakeVL53L0X
    from sensor.vl53l0x import VL53L0XSource

    clock = FakeClock()
    rng = random.Random(2)
    chip = FakeVL53L0X(
        lambda t: round(300 + rng.gauss(0, 1)), clock, chip_address, model_id=model_id
    )
    source = VL53L0XSource(
        address=source_address, io_timeout_s=0.01, smbus_factory=FakeBusFactory(chip)
    )
    return source, chip, clock


def test_sensor_row_says_nothing_answers() -> None:
    source, _, _ = chip_source(chip_address=0x29, source_address=0x30)
    row = check.check_sensor(source, 0x30)
    assert row.result == "FAIL"
    assert row.detail.startswith("no_device: nothing answers at I2C 0x30: check wiring")


def test_sensor_row_names_a_wrong_model() -> None:
    source, _, _ = chip_source(model_id=0xAA)
    row = check.check_sensor(source, 0x29)
    assert row.result == "FAIL"
    assert row.detail.startswith("model ID 0xAA at 0x29, expected 0xEE")


def test_ranging_row_rate_noise_and_failures() -> None:
    source, chip, clock = chip_source()
    try:
        assert check.check_sensor(source, 0x29).result == "ok"
        row = check.check_ranging(source, clock, 33)
        assert row.result == "ok", row
        assert row.detail.startswith("50 ranges, 29.7 Hz, noise 1.")  # chip period 33.6 ms
        assert "median 300 mm" in row.detail
        chip.inject("never_ready")
        row = check.check_ranging(source, clock, 33)
        assert row == check.Row("ranging", "FAIL", "50 of 50 reads failed (50 timeout)")
        chip.clear()
        chip.inject("out_of_range")
        source.start()
        row = check.check_ranging(source, clock, 33)
        assert row.result == "FAIL"
        assert "always out of range" in row.detail
    finally:
        source.close()
