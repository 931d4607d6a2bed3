"""Sensor specs ("vl53l0x", "fake:TRACE.csv") to distance sources and the clock to run them on.

One spec string names the sensor everywhere: `--sensor` on the command line and `[sensor] kind`
in the config. A fake plays a recorded trace through the fake chip under the real driver, so
everything above the I2C bus runs exactly as on the device.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware import __version__
from firmware.clock import Clock, ScaledClock, SystemClock
from firmware.config import ConfigError
from sensor.source import DistanceSource, SensorError
from sensor.vl53l0x import ReadyPin, VL53L0XSource

if TYPE_CHECKING:  # the fake chip is imported only for a fake sensor
    from sensor.fake_vl53l0x import FakeVL53L0X

REAL = "vl53l0x"
FAKE_PREFIX = "fake:"


def fake_trace_path(spec: str) -> Path | None:
    """The trace of a "fake:TRACE.csv" spec, None for the real sensor; errors on anything else."""
    if spec == REAL:
        return None
    if spec.startswith(FAKE_PREFIX):
        path_text = spec[len(FAKE_PREFIX) :]
        if not path_text:
            raise ConfigError(f'sensor {spec!r}: "fake:" needs a trace file, e.g. fake:trace.csv')
        return Path(path_text)
    raise ConfigError(f'sensor {spec!r}: unknown sensor (expected "vl53l0x" or "fake:TRACE.csv")')


def resolve_spec(cli_spec: str | None, sensor: Mapping[str, Any], config: Path | None) -> str:
    """--sensor wins over [sensor] kind; a relative fake trace in the config (the file
    `config`) is relative to it."""
    if cli_spec:
        fake_trace_path(cli_spec)
        return cli_spec
    spec = str(sensor["kind"])
    where = f"{config}: [sensor] kind" if config else "[sensor] kind"
    try:
        trace = fake_trace_path(spec)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if trace is not None and not trace.is_absolute() and config is not None:
        return FAKE_PREFIX + str(config.parent / trace)
    return spec


class FakeSensor:
    """The fake chip under the real driver, playing a trace; a DistanceSource.

    `origin_s` is the clock reading at the trace's time zero (the chip's power-on): the loop
    takes it as its own zero, so recorded times are the trace's times.
    """

    def __init__(self, source: VL53L0XSource, chip: FakeVL53L0X, clock: Clock) -> None:
        self.source = source
        self.chip = chip
        self.origin_s = clock.monotonic() - chip.now_s()

    paces_itself = True  # the VL53L0XSource underneath sleeps until a measurement is due

    def start(self) -> None:
        self.source.start()

    def read_mm(self) -> int:
        return self.source.read_mm()

    def close(self) -> None:
        self.source.close()

    def model_id(self) -> int:
        return self.source.model_id()

    def probe(self) -> bool:
        return self.source.probe()


def start_early(source: DistanceSource) -> bool:
    """Start the sensor before the rest of the station is built; True if it started.

    A sensor that does not start is closed and left to the sampling loop, which starts it
    again and reports, retries or gives up exactly as it does for any start.
    """
    try:
        source.start()
    except SensorError:
        source.close()
        return False
    return True


def trace_origin_s(source: object) -> float | None:
    """Clock time of a fake trace's zero, for SamplingLoop(t0_s=...); None for a real sensor."""
    return source.origin_s if isinstance(source, FakeSensor) else None


def make_clock(spec: str, speed: float = 1.0) -> Clock:
    """Real time for the real sensor; a fake may run `speed` times faster."""
    if not speed > 0:
        raise ConfigError(f"--speed: must be positive, not {speed:g}")
    if speed != 1.0:
        if fake_trace_path(spec) is None:
            raise ConfigError("--speed: only a fake sensor (fake:TRACE.csv) can run faster")
        return ScaledClock(speed)
    return SystemClock()


def open_source(
    spec: str,
    *,
    bus: int,
    address: int,
    timing_budget_ms: float,
    io_timeout_s: float,
    clock: Clock,
    speed: float = 1.0,
    loop: bool = False,
    ready_pin: int | None = None,
    pin_factory: Any = None,
) -> DistanceSource:
    """The source a spec names, not started yet; `clock` drives a fake (see make_clock).

    A fake's trace time zero is its creation: pass trace_origin_s(source) to the loop.
    `loop` plays a fake trace over and over (the demo) instead of ending with it.
    `ready_pin` is the GPIO wired to the chip's data-ready output; a fake chip drives its own.
    """
    trace = fake_trace_path(spec)
    if trace is None:
        if speed != 1.0:
            raise ConfigError("--speed: only a fake sensor (fake:TRACE.csv) can run faster")
        return VL53L0XSource(
            bus=bus,
            address=address,
            timing_budget_ms=timing_budget_ms,
            io_timeout_s=io_timeout_s,
            ready_pin=_gpio_ready_pin(ready_pin, pin_factory) if ready_pin is not None else None,
        )
    if not trace.is_file():
        raise ConfigError(f"sensor {spec!r}: {trace}: no such trace file")
    from sensor.fake_vl53l0x import fake_source, trace_signal  # noqa: PLC0415

    source, chip = fake_source(
        trace_signal(trace, loop=loop),
        clock,
        timing_budget_ms=timing_budget_ms,
        io_timeout_s=io_timeout_s,
        address=address,
        ready_pin=ready_pin is not None,
    )
    return FakeSensor(source, chip, clock)


def _gpio_ready_pin(pin: int, pin_factory: Any) -> Callable[[], ReadyPin]:
    def open_pin() -> ReadyPin:
        from firmware.station.pins import choose_pin_factory  # noqa: PLC0415
        from sensor.ready_pin import GpioReadyPin  # noqa: PLC0415 - gpiozero only when wired

        if pin_factory is None:
            choose_pin_factory()
        return GpioReadyPin(pin, pin_factory=pin_factory)

    return open_pin


def configured_source(
    spec: str,
    sensor: Mapping[str, Any],
    clock: Clock,
    *,
    speed: float = 1.0,
    loop: bool = False,
    pin_factory: Any = None,
) -> DistanceSource:
    """open_source with the settings of a [sensor] config section (ready_pin optional)."""
    return open_source(
        spec,
        bus=sensor["bus"],
        address=sensor["address"],
        timing_budget_ms=sensor["timing_budget_ms"],
        io_timeout_s=sensor["io_timeout_s"],
        clock=clock,
        speed=speed,
        loop=loop,
        ready_pin=sensor.get("ready_pin"),
        pin_factory=pin_factory,
    )


def recording_metadata(
    spec: str, sensor: Mapping[str, Any], *, speed: float = 1.0
) -> dict[str, str]:
    """The `# key=value` lines of a recorded trace (docs/trace-format.md)."""
    fake = fake_trace_path(spec)
    metadata = {
        "sensor": f"fake:{fake.name}" if fake is not None else spec,
        "timing_budget_ms": f"{sensor['timing_budget_ms']:g}",
        "start_time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": f"repsled {__version__}",
    }
    if fake is not None and speed != 1.0:
        metadata["speed"] = f"{speed:g}"
    return metadata
