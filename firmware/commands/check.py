"""`repsled check`: a hardware self-test printed as a table, one row per part.

Each row says ok, FAIL, warn or skip, with the measurement or a hint to fix it; the exit
status is 1 when any row failed, so scripts and the installer can rely on it.
"""

from __future__ import annotations

import argparse
import errno
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RANGES = 50
MAX_FAILED_RANGES = 2
MIN_RATE_FRACTION = 0.7  # of the rate the timing budget promises
NOISY_MM = 10.0
OUT_OF_RANGE_MM = 8000
EXPECTED_MODEL_ID = 0xEE
CLICK_S = 0.05
BROKER_TIMEOUT_S = 3.0

I2C_HINT = "enable I2C with `sudo raspi-config nonint do_i2c 0` and reboot"
SENSOR_HINTS = {
    "no_bus": I2C_HINT,
    "permission": "add the user to the i2c group: `sudo adduser $USER i2c`, then log in again",
    "no_device": "check wiring (SDA GPIO2, SCL GPIO3, 3.3 V, GND) and [sensor] address",
    "nack": "the device stopped answering: check wiring and power",
    "timeout": "the sensor never finished a measurement: power-cycle it",
    "wrong_model": "the device at that address is not a VL53L0X",
    "io_error": "I2C error: check wiring, pull-ups and cable length",
}


@dataclass(frozen=True, slots=True)
class Row:
    part: str
    result: str  # "ok", "FAIL", "warn", "skip"
    detail: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="config TOML")
    parser.add_argument(
        "--sensor", metavar="SPEC", help='"vl53l0x" or "fake:TRACE.csv" (default: [sensor] kind)'
    )
    parser.add_argument(
        "--i2c-device",
        type=Path,
        metavar="PATH",
        help="I2C bus device to check (default: /dev/i2c-N for [sensor] bus; "
        "not checked for a fake sensor unless given)",
    )


def check_bus(device: Path) -> Row:
    """The kernel exposes the bus and we may open it (i2c group)."""
    if not device.exists():
        return Row("I2C bus", "FAIL", f"{device} missing: {I2C_HINT}")
    try:
        fd = os.open(device, os.O_RDWR)
    except OSError as exc:
        hint = SENSOR_HINTS["permission"] if exc.errno == errno.EACCES else I2C_HINT
        return Row("I2C bus", "FAIL", f"{device}: {exc.strerror}: {hint}")
    os.close(fd)
    return Row("I2C bus", "ok", f"{device} present and readable")


def check_sensor(source: Any, address: int) -> Row:
    """The model ID register must read 0xEE, then the chip must initialise and start ranging."""
    from sensor.source import SensorError

    try:
        model = int(source.model_id())
        if model != EXPECTED_MODEL_ID:
            return Row(
                "sensor",
                "FAIL",
                f"model ID 0x{model:02X} at 0x{address:02X}, expected "
                f"0x{EXPECTED_MODEL_ID:02X}: {SENSOR_HINTS['wrong_model']}",
            )
        source.start()
    except SensorError as exc:
        hint = SENSOR_HINTS.get(exc.reason, "")
        return Row("sensor", "FAIL", f"{exc}" + (f": {hint}" if hint else ""))
    return Row("sensor", "ok", f"VL53L0X (model ID 0x{model:02X}) at 0x{address:02X}")


def check_ranging(source: Any, clock: Any, timing_budget_ms: float) -> Row:
    """RANGES readings back to back: rate against the timing budget, noise as std dev."""
    from sensor.source import SensorError

    readings: list[int] = []
    failures: dict[str, int] = {}
    out_of_range = 0
    t_first = t_last = clock.monotonic()
    for _ in range(RANGES):
        try:
            distance_mm = source.read_mm()
        except SensorError as exc:
            failures[exc.reason] = failures.get(exc.reason, 0) + 1
            continue
        t_last = clock.monotonic()
        if distance_mm >= OUT_OF_RANGE_MM:
            out_of_range += 1
        else:
            readings.append(distance_mm)
    elapsed_s = t_last - t_first
    good = len(readings) + out_of_range
    rate_hz = good / elapsed_s if elapsed_s > 0 else 0.0
    expected_hz = 1000.0 / timing_budget_ms
    failed = sum(failures.values())
    if failed > MAX_FAILED_RANGES:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(failures.items()))
        return Row("ranging", "FAIL", f"{failed} of {RANGES} reads failed ({reasons})")
    if not readings:
        return Row("ranging", "FAIL", "always out of range: nothing within 2 m of the sensor")
    noise_mm = statistics.pstdev(readings) if len(readings) > 1 else 0.0
    detail = (
        f"{RANGES} ranges, {rate_hz:.1f} Hz, noise {noise_mm:.1f} mm, "
        f"median {statistics.median(readings):.0f} mm"
    )
    if failed or out_of_range:
        detail += f", {failed} failed, {out_of_range} out of range"
    if rate_hz < MIN_RATE_FRACTION * expected_hz:
        return Row("ranging", "FAIL", f"{detail}: slower than {expected_hz:.0f} Hz expected")
    if noise_mm > NOISY_MM:
        return Row("ranging", "warn", f"{detail}: noisy; keep the sled still while checking")
    return Row("ranging", "ok", detail)


def _click(kind: str, pin: int) -> None:
    import time

    if kind == "tonal":
        from gpiozero import TonalBuzzer
        from gpiozero.tones import Tone

        tonal = TonalBuzzer(pin)
        try:
            tonal.play(Tone(880.0))
            time.sleep(CLICK_S)
            tonal.stop()
        finally:
            tonal.close()
    else:
        from gpiozero import Buzzer

        buzzer = Buzzer(pin)
        try:
            buzzer.on()
            time.sleep(CLICK_S)
            buzzer.off()
        finally:
            buzzer.close()


def check_buzzer(cues: dict[str, Any]) -> Row:
    """A short click on the configured pin through gpiozero."""
    import warnings

    kind = cues["buzzer"]
    if kind == "none":
        return Row("buzzer", "skip", 'not configured ([cues] buzzer = "none")')
    if cues["quiet"]:
        return Row("buzzer", "skip", "[cues] quiet = true")
    pin = cues["pin"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gpiozero's pin factory fallback chatter
            _click(kind, pin)
    except Exception as exc:  # gpiozero raises many kinds: no pin factory, pin in use, no PWM
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if type(exc).__name__ == "BadPinFactory":
            why += " (not a Raspberry Pi? GPIOZERO_PIN_FACTORY=mock checks without GPIO)"
        return Row("buzzer", "FAIL", f"{kind} buzzer on GPIO{pin}: {why}")
    return Row("buzzer", "ok", f"{kind} buzzer on GPIO{pin} clicked (listen for it)")


def check_broker(mqtt: dict[str, Any]) -> Row:
    """TCP connect and an MQTT CONNECT/CONNACK with the configured credentials and TLS."""
    host = mqtt["host"]
    if not host:
        return Row("broker", "skip", "no [mqtt] host configured")
    import time

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    where = f"{host}:{mqtt['port']}"
    protocol = paho.MQTTv5 if mqtt["protocol"] == "5" else paho.MQTTv311
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="repsled-check", protocol=protocol)
    client.connect_timeout = BROKER_TIMEOUT_S
    result: dict[str, Any] = {}

    def on_connect(_c: object, _u: object, _flags: object, reason: Any, _props: object) -> None:
        result["reason"] = reason

    client.on_connect = on_connect
    try:
        if mqtt["username"]:
            password = None
            if mqtt["password_file"]:
                password = Path(mqtt["password_file"]).read_text(encoding="utf-8").strip()
            client.username_pw_set(mqtt["username"], password)
        if mqtt["ca_file"]:
            client.tls_set(
                ca_certs=mqtt["ca_file"], certfile=mqtt["cert_file"], keyfile=mqtt["key_file"]
            )
        client.connect(host, mqtt["port"], keepalive=mqtt["keepalive"])
        deadline = time.monotonic() + BROKER_TIMEOUT_S
        while "reason" not in result and time.monotonic() < deadline:
            client.loop(timeout=0.1)
    except (OSError, ValueError) as exc:
        return Row("broker", "FAIL", f"{where}: {exc}")
    finally:
        client.disconnect()
        client.loop(timeout=0.05)  # sends DISCONNECT and closes the socket
    reason = result.get("reason")
    if reason is None:
        return Row("broker", "FAIL", f"{where}: no CONNACK within {BROKER_TIMEOUT_S:g} s")
    if reason.is_failure:
        return Row("broker", "FAIL", f"{where}: broker refused: {reason}")
    return Row("broker", "ok", f"{where} accepted MQTT CONNECT")


def check_outbox(storage: dict[str, Any], mqtt: dict[str, Any]) -> Row:
    """Messages waiting, quarantined rows, damaged files moved aside, a writable state dir."""
    if not mqtt["host"]:
        return Row("outbox", "skip", "no [mqtt] host: reps are not published")
    from firmware.publishing.outbox import OUTBOX_FILENAME, inspect
    from firmware.state_dir import state_dir_path

    directory, _ = state_dir_path(storage["state_dir"])
    result, detail = inspect(directory / OUTBOX_FILENAME)
    return Row("outbox", result, detail)


def format_table(rows: list[Row]) -> str:
    width = max(len(r.part) for r in rows)
    lines = [f"{'part':<{width}}  result  detail"]
    lines += [f"{r.part:<{width}}  {r.result:<6}  {r.detail}" for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from firmware import config as config_mod
    from firmware.station.sensors import (
        configured_source,
        fake_trace_path,
        make_clock,
        resolve_spec,
    )

    cfg = config_mod.load(args.config)
    spec = resolve_spec(args.sensor, cfg.sensor, cfg.path)
    sensor = cfg.sensor
    rows: list[Row] = []
    device = args.i2c_device
    if device is None and fake_trace_path(spec) is None:
        device = Path(f"/dev/i2c-{sensor['bus']}")
    if device is not None:
        rows.append(check_bus(device))
    else:
        rows.append(Row("I2C bus", "skip", f"fake sensor {spec}"))
    if rows[-1].result == "FAIL":
        rows.append(Row("sensor", "skip", "no I2C bus"))
        rows.append(Row("ranging", "skip", "no I2C bus"))
    else:
        clock = make_clock(spec)
        source = configured_source(spec, sensor, clock)
        try:
            rows.append(check_sensor(source, sensor["address"]))
            if rows[-1].result == "ok":
                rows.append(check_ranging(source, clock, sensor["timing_budget_ms"]))
            else:
                rows.append(Row("ranging", "skip", "sensor not working"))
        finally:
            source.close()
    rows.append(check_buzzer(cfg.cues))
    rows.append(check_broker(cfg.mqtt))
    rows.append(check_outbox(cfg.storage, cfg.mqtt))
    print(format_table(rows))
    failed = [r.part for r in rows if r.result == "FAIL"]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0
