"""Sensor specs: real or fake, the clock for --speed, one-line errors for bad specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware import config as config_mod
from firmware.clock import FakeClock, ScaledClock, SystemClock
from firmware.config import ConfigError
from firmware.station.sensors import (
    FakeSensor,
    fake_trace_path,
    make_clock,
    open_source,
    resolve_spec,
    start_early,
    trace_origin_s,
)
from sensor.source import SensorError
from sensor.trace import TraceWriter
from sensor.vl53l0x import VL53L0XSource

OPTS = {"bus": 3, "address": 0x30, "timing_budget_ms": 50, "io_timeout_s": 0.25}


def small_trace(path: Path) -> Path:
    with TraceWriter(path, {"sensor": "test"}) as w:
        for i in range(30):
            w.write(i * 0.033, 150 + i)
    return path


def test_real_spec_builds_the_vl53l0x_source_unstarted() -> None:
    source = open_source("vl53l0x", clock=SystemClock(), **OPTS)
    assert isinstance(source, VL53L0XSource)
    assert (source.bus, source.address, source.timing_budget_ms, source.io_timeout_s) == (
        3,
        0x30,
        50,
        0.25,
    )


def test_fake_spec_plays_the_trace_through_the_real_driver(tmp_path: Path) -> None:
    trace = small_trace(tmp_path / "in.csv")
    clock = FakeClock(10.0)
    source = open_source(f"fake:{trace}", clock=clock, **{**OPTS, "bus": 1, "address": 0x29})
    assert isinstance(source, FakeSensor)
    assert isinstance(source.source, VL53L0XSource)
    assert trace_origin_s(source) == 10.0
    assert source.model_id() == 0xEE
    source.start()
    try:
        readings = [source.read_mm() for _ in range(5)]
    finally:
        source.close()
    # Sample-and-hold of the trace at each measurement's completion (every 50 ms budget).
    assert readings[0] in (151, 152)
    assert readings == sorted(readings)
    assert trace_origin_s(open_source("vl53l0x", clock=clock, **OPTS)) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("vl53l1x", "unknown sensor"),
        ("fake:", "needs a trace file"),
        ("", "unknown sensor"),
    ],
)
def test_bad_specs_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        open_source(spec, clock=FakeClock(), **OPTS)
    assert "\n" not in str(err.value)


def test_missing_trace_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ConfigError, match=r"nope\.csv: no such trace file"):
        open_source(f"fake:{missing}", clock=FakeClock(), **OPTS)


def test_speed_only_for_fakes(tmp_path: Path) -> None:
    assert isinstance(make_clock("vl53l0x"), SystemClock)
    assert isinstance(make_clock("fake:x.csv", 20), ScaledClock)
    with pytest.raises(ConfigError, match="only a fake sensor"):
        make_clock("vl53l0x", 2)
    with pytest.raises(ConfigError, match="must be positive"):
        make_clock("fake:x.csv", 0)
    with pytest.raises(ConfigError, match="only a fake sensor"):
        open_source("vl53l0x", clock=SystemClock(), speed=2, **OPTS)


def test_spec_from_cli_or_config(tmp_path: Path) -> None:
    cfg_path = tmp_path / "cfg" / "repsled.toml"
    cfg_path.parent.mkdir()
    cfg_path.write_text('version = 1\n[sensor]\nkind = "fake:traces/a.csv"\n', encoding="utf-8")
    cfg = config_mod.load(cfg_path)
    # A relative trace in the config is relative to the config file, not to the cwd.
    expected = f"fake:{cfg_path.parent / 'traces' / 'a.csv'}"
    assert resolve_spec(None, cfg.sensor, cfg.path) == expected
    assert resolve_spec("vl53l0x", cfg.sensor, cfg.path) == "vl53l0x"
    assert resolve_spec(None, config_mod.load(None).sensor, None) == "vl53l0x"
    assert fake_trace_path("vl53l0x") is None

    cfg_path.write_text('version = 1\n[sensor]\nkind = "sonar"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"repsled\.toml: \[sensor\] kind: .*unknown sensor"):
        resolve_spec(None, config_mod.load(cfg_path).sensor, cfg_path)


class StartingSource:
    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")
        if self.fails:
            raise SensorError("no_device", "nothing answers at 0x29")

    def read_mm(self) -> int:
        return 150

    def close(self) -> None:
        self.calls.append("close")


def test_start_early_starts_or_leaves_a_closed_sensor_to_the_loop() -> None:
    good, bad = StartingSource(fails=False), StartingSource(fails=True)
    assert start_early(good) is True and good.calls == ["start"]
    # The loop starts it again and reports, retries or gives up as for any start.
    assert start_early(bad) is False and bad.calls == ["start", "close"]
