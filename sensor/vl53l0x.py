"""The VL53L0X as a DistanceSource: Adafruit's driver, unchanged, over smbus2.

Every failure becomes a SensorError with one of these reasons, so the sampling loop and
`repsled check` can react without knowing about OSErrors or driver messages:

- "no_bus": the I2C bus device does not exist (I2C not enabled, wrong bus number)
- "permission": the bus exists but this user may not open it (not in the i2c group)
- "no_device": nothing answers at the address when the driver probes it
- "wrong_model": something answers but its ID registers are not a VL53L0X's
- "nack": the chip stopped acknowledging mid-session (errno 121: loose wire, brown-out)
- "timeout": the chip answers but no measurement came within io_timeout_s
- "io_error": any other bus or driver failure
- "not_started": read_mm before start()

After any SensorError call start() again: it closes what is left and re-initialises the chip,
which is what a chip that lost power (and all its registers) needs.
"""

from __future__ import annotations

import contextlib
import errno
import sys
import time
import types
from collections.abc import Callable, Iterator

import smbus2

from sensor.i2c import SMBusI2C, SMBusLike
from sensor.source import SensorError

MODEL_ID_REGISTER = 0xC0
VL53L0X_MODEL_ID = 0xEE
MIN_TIMING_BUDGET_MS = 20  # the driver refuses less
REASONS = (
    "no_bus",
    "permission",
    "no_device",
    "wrong_model",
    "nack",
    "timeout",
    "io_error",
    "not_started",
)


def _import_driver() -> type:
    """Import adafruit_vl53l0x without letting it reach Blinka's board detection.

    The driver and adafruit_bus_device import `busio.I2C` only to annotate their parameters,
    but on CPython they need the name: without it the class definitions fail. Blinka's busio
    would detect the board on import (slow, and an error on an unknown machine), so while the
    driver is imported `busio` is a stand-in whose I2C is our adapter; `board` is never needed.
    """
    if "busio" in sys.modules:  # someone already paid for Blinka: nothing to avoid
        import adafruit_vl53l0x  # noqa: PLC0415

        return adafruit_vl53l0x.VL53L0X
    stand_in = types.ModuleType("busio", "type-only stand-in while importing adafruit_vl53l0x")
    stand_in.I2C = SMBusI2C  # type: ignore[attr-defined]
    sys.modules["busio"] = stand_in
    try:
        import adafruit_vl53l0x  # noqa: PLC0415
    finally:
        if sys.modules.get("busio") is stand_in:
            del sys.modules["busio"]
    return adafruit_vl53l0x.VL53L0X


_VL53L0X = _import_driver()


class _Driver(_VL53L0X):  # type: ignore[misc, valid-type]
    """The Adafruit driver with a transfer buffer of its own.

    Upstream keeps one buffer for all instances (class attribute); two sensors used from two
    threads would corrupt each other's transfers.
    """

    def __init__(self, i2c: SMBusI2C, address: int, io_timeout_s: float) -> None:
        self._BUFFER = bytearray(3)
        super().__init__(i2c, address, io_timeout_s)


def _sensor_error(exc: BaseException, address: int) -> SensorError:
    """Map what the bus or the driver raised to a reason the loop can act on."""
    if isinstance(exc, SensorError):
        return exc
    where = f"I2C 0x{address:02x}"
    if isinstance(exc, OSError):
        if exc.errno in (errno.EREMOTEIO, errno.ENXIO):
            return SensorError("nack", f"{where} did not acknowledge ({exc})")
        return SensorError("io_error", f"{where}: {exc}")
    message = str(exc)
    if isinstance(exc, ValueError) and message.startswith("No I2C device"):
        return SensorError("no_device", f"nothing answers at {where}")
    if isinstance(exc, RuntimeError) and "ID register" in message:
        return SensorError("wrong_model", f"{where} is not a VL53L0X (ID registers differ)")
    if isinstance(exc, RuntimeError) and "Timeout" in message:
        return SensorError("timeout", f"{where}: no measurement in time")
    return SensorError("io_error", f"{where}: {type(exc).__name__}: {message}")


def _open_error(exc: OSError, bus: int) -> SensorError:
    if isinstance(exc, FileNotFoundError):
        return SensorError("no_bus", f"I2C bus {bus} not found (is I2C enabled?)")
    if isinstance(exc, PermissionError):
        return SensorError("permission", f"I2C bus {bus}: permission denied (add to i2c group)")
    return SensorError("io_error", f"I2C bus {bus}: {exc}")


@contextlib.contextmanager
def _locked(i2c: SMBusI2C) -> Iterator[SMBusI2C]:
    while not i2c.try_lock():
        time.sleep(0)
    try:
        yield i2c
    finally:
        i2c.unlock()


class VL53L0XSource:
    """A VL53L0X in continuous ranging mode; the real chip or the fake one on a fake bus."""

    def __init__(
        self,
        bus: int = 1,
        address: int = 0x29,
        timing_budget_ms: float = 33,
        io_timeout_s: float = 0.5,
        smbus_factory: Callable[[int], SMBusLike] = smbus2.SMBus,
    ) -> None:
        if timing_budget_ms < MIN_TIMING_BUDGET_MS:
            raise ValueError(
                f"timing_budget_ms must be at least {MIN_TIMING_BUDGET_MS}, not {timing_budget_ms}"
            )
        if not io_timeout_s > 0:
            raise ValueError(f"io_timeout_s must be positive (0 waits forever), not {io_timeout_s}")
        self.bus = bus
        self.address = address
        self.timing_budget_ms = timing_budget_ms
        self.io_timeout_s = io_timeout_s
        self.smbus_factory = smbus_factory
        self._i2c: SMBusI2C | None = None
        self._driver: _Driver | None = None

    def _open_bus(self) -> SMBusI2C:
        try:
            return SMBusI2C(self.bus, self.smbus_factory)
        except OSError as exc:
            raise _open_error(exc, self.bus) from exc

    def start(self) -> None:
        """(Re-)initialise the chip and start continuous ranging; raises SensorError."""
        self.close()
        self._i2c = self._open_bus()
        try:
            driver = _Driver(self._i2c, self.address, self.io_timeout_s)
            driver.measurement_timing_budget = round(self.timing_budget_ms * 1000)
            driver.start_continuous()
        except Exception as exc:
            self.close()
            raise _sensor_error(exc, self.address) from exc
        self._driver = driver

    def read_mm(self) -> int:
        """Next measurement in mm, waiting at most io_timeout_s; 8190/8191 mean out of range."""
        driver = self._driver
        if driver is None:
            raise SensorError("not_started", "read_mm() before start()")
        try:
            return int(driver.range)
        except Exception as exc:
            raise _sensor_error(exc, self.address) from exc

    def close(self) -> None:
        """Stop ranging and release the bus; never raises (the chip may be gone)."""
        driver, self._driver = self._driver, None
        i2c, self._i2c = self._i2c, None
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.stop_continuous()
        if i2c is not None:
            with contextlib.suppress(Exception):
                i2c.deinit()

    def model_id(self) -> int:
        """Register 0xC0 (0xEE on a VL53L0X), read without initialising the chip.

        `repsled check` uses it to tell "nothing there" from "something else there".
        """
        own = self._i2c is None
        i2c = self._open_bus() if own else self._i2c
        assert i2c is not None
        try:
            with _locked(i2c):
                value = bytearray(1)
                i2c.writeto_then_readfrom(self.address, bytes([MODEL_ID_REGISTER]), value)
            return value[0]
        except Exception as exc:
            error = _sensor_error(exc, self.address)
            if error.reason == "nack":  # no session to lose here: nobody is at that address
                error = SensorError("no_device", f"nothing answers at I2C 0x{self.address:02x}")
            raise error from exc
        finally:
            if own:
                with contextlib.suppress(Exception):
                    i2c.deinit()

    def __enter__(self) -> VL53L0XSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
