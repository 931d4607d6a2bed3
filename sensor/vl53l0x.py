"""The VL53L0X as a DistanceSource: Adafruit's driver, unchanged, over smbus2.

Every failure becomes a SensorError with one of these reasons, so the sampling loop and
`repsled check` can react without knowing about OSErrors or driver messages:

- "no_bus": the I2C bus device does not exist (I2C not enabled, wrong bus number)
- "permission": the bus exists but this user may not open it (not in the i2c group)
- "no_device": nothing answers at the address when the driver probes it
- "wrong_model": something answers but its ID registers are not a VL53L0X's
- "nack": the chip stopped acknowledging mid-session (errno 121: loose wire, brown-out)
- "timeout": the chip answers but no measurement came within io_timeout_s (data-ready never set)
- "io_error": any other bus or driver failure
- "not_started": read_mm before start()
- "ready_pin": the data-ready GPIO could not be opened (wrong pin, no GPIO on this machine)

After any SensorError call start() again: it closes what is left and re-initialises the chip,
which is what a chip that lost power (and all its registers) needs.

The driver does the register work (initialisation, calibration, starting and stopping), but
not the wait for a measurement: its `range` polls the chip over I2C without pausing, a busy
loop costing a good part of a Pi Zero's core. read_mm sleeps instead until just before the
next measurement is due (the chip measures every timing budget), then polls with short sleeps,
each poll one combined I2C transfer that brings the data-ready flag and the result together;
with the chip's GPIO1 data-ready line wired (`ready_pin`) it sleeps until the line's edge.
See docs/sensor-loop.md.
"""

from __future__ import annotations

import contextlib
import errno
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import Protocol

import smbus2

from sensor.i2c import SMBusI2C, SMBusLike
from sensor.source import SensorError

MODEL_ID_REGISTER = 0xC0
VL53L0X_MODEL_ID = 0xEE
MIN_TIMING_BUDGET_MS = 20  # the driver refuses less
INTERRUPT_STATUS_REGISTER = 0x13  # bits 2:0 non-zero: a new measurement is ready
RESULT_BLOCK_LENGTH = 13  # 0x13 to 0x1F: interrupt status, range status ... range in mm
RESULT_MM_OFFSET = 0x1E - INTERRUPT_STATUS_REGISTER  # big-endian millimetres at 0x1E, 0x1F
INTERRUPT_CLEAR = bytes([0x0B, 0x01])  # SYSTEM_INTERRUPT_CLEAR: ready for the next one
WAKE_EARLY_FRACTION = 0.05
"""Wake this fraction of a period before the measurement is due, then poll: the chip's own
oscillator may run a few percent fast, and an early poll keeps the wait locked to it."""
MIN_POLL_INTERVAL_S = 0.0005  # shortest pause between two polls while a measurement is due
OVERDUE_POLL_FRACTION = 0.25  # once a period overdue (a chip that stopped), poll 4 times per period
REASONS = (
    "no_bus",
    "permission",
    "no_device",
    "wrong_model",
    "nack",
    "timeout",
    "io_error",
    "not_started",
    "ready_pin",
)


class WaitClock(Protocol):
    """Time for the wait: the system's on the device, a fake clock in tests."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTime:
    """time.monotonic and time.sleep as a WaitClock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ReadyPin(Protocol):
    """The chip's GPIO1 data-ready output as seen by the host (sensor/ready_pin.py)."""

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the line says a measurement is ready; False after `timeout_s`."""

    def close(self) -> None:
        """Release the GPIO; never raises."""


def _type_only_stand_ins() -> dict[str, types.ModuleType]:
    """Modules the driver imports only to annotate parameters, as cheap stand-ins.

    On CPython the annotations are evaluated, so the names must exist. `busio` from Blinka
    would detect the board on import (slow, and an error on an unknown machine): its I2C is
    our adapter instead. `circuitpython_typing` pulls in typing_extensions, about 2 MB of a
    Pi's memory, for two buffer type names.
    """
    busio = types.ModuleType("busio", "type-only stand-in while importing adafruit_vl53l0x")
    busio.I2C = SMBusI2C  # type: ignore[attr-defined]
    typing_ = types.ModuleType(
        "circuitpython_typing", "type-only stand-in while importing adafruit_vl53l0x"
    )
    typing_.ReadableBuffer = bytes  # type: ignore[attr-defined]
    typing_.WriteableBuffer = bytearray  # type: ignore[attr-defined]
    return {"busio": busio, "circuitpython_typing": typing_}


def _import_driver() -> type:
    """Import adafruit_vl53l0x with stand-ins for what it imports only for annotations.

    A module someone already imported (Blinka's busio, say) is used as it is. The stand-ins
    are removed again afterwards, so a later real import is not fooled.
    """
    stand_ins = {
        name: module for name, module in _type_only_stand_ins().items() if name not in sys.modules
    }
    sys.modules.update(stand_ins)
    try:
        import adafruit_vl53l0x  # noqa: PLC0415
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
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

    paces_itself = True
    """read_mm sleeps until the next measurement is due: the sampling loop need not wait."""

    def __init__(
        self,
        bus: int = 1,
        address: int = 0x29,
        timing_budget_ms: float = 33,
        io_timeout_s: float = 0.5,
        smbus_factory: Callable[[int], SMBusLike] = smbus2.SMBus,
        *,
        clock: WaitClock | None = None,
        ready_pin: Callable[[], ReadyPin] | None = None,
    ) -> None:
        """`ready_pin` opens the GPIO1 line at each start (and close releases it)."""
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
        self.clock: WaitClock = clock if clock is not None else SystemTime()
        self.ready_pin_factory = ready_pin
        self._i2c: SMBusI2C | None = None
        self._driver: _Driver | None = None
        self._pin: ReadyPin | None = None
        self.ready_pin_misses = 0  # waits on the data-ready line that ended without an edge
        self._period_s = timing_budget_ms / 1000
        self._due_s = 0.0  # when the next measurement should be ready, on self.clock
        self._block = bytearray(RESULT_BLOCK_LENGTH)

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
            # The chip rounds the budget to its own units: its period is what it reports.
            self._period_s = driver.measurement_timing_budget / 1e6
            driver.start_continuous()
        except Exception as exc:
            self.close()
            raise _sensor_error(exc, self.address) from exc
        self._driver = driver
        self._due_s = self.clock.monotonic() + self._period_s
        if self.ready_pin_factory is not None:
            try:
                self._pin = self.ready_pin_factory()
            except Exception as exc:
                self.close()
                raise SensorError("ready_pin", f"cannot watch the data-ready GPIO: {exc}") from exc

    def read_mm(self) -> int:
        """Next measurement in mm, waiting at most io_timeout_s; 8190/8191 mean out of range."""
        i2c = self._i2c
        if self._driver is None or i2c is None:
            raise SensorError("not_started", "read_mm() before start()")
        try:
            return self._wait_and_read(i2c)
        except Exception as exc:
            raise _sensor_error(exc, self.address) from exc

    def _wait_and_read(self, i2c: SMBusI2C) -> int:
        clock = self.clock
        period_s = self._period_s
        give_up_s = clock.monotonic() + self.io_timeout_s
        if self._pin is not None:
            # Bounded by the measurement after next: a line that never moves (not wired, a
            # broken wire) degrades to polling instead of costing io_timeout_s per reading.
            until_s = min(give_up_s, self._due_s + period_s)
            if not self._pin.wait_ready(max(0.0, until_s - clock.monotonic())):
                self.ready_pin_misses += 1
        else:
            wake_s = min(self._due_s - period_s * WAKE_EARLY_FRACTION, give_up_s)
            if wake_s > clock.monotonic():
                clock.sleep(wake_s - clock.monotonic())
        block = self._block
        while True:
            poll_s = clock.monotonic()
            with _locked(i2c):
                i2c.writeto_then_readfrom(self.address, bytes([INTERRUPT_STATUS_REGISTER]), block)
            if block[0] & 0x07:
                break
            now_s = clock.monotonic()
            if now_s >= give_up_s:
                raise SensorError(
                    "timeout",
                    f"I2C 0x{self.address:02x}: no measurement within {self.io_timeout_s:g} s "
                    "(the chip answers but never reports one ready)",
                )
            overdue = now_s > self._due_s + period_s
            pause_s = period_s * (OVERDUE_POLL_FRACTION if overdue else WAKE_EARLY_FRACTION)
            clock.sleep(min(max(pause_s, MIN_POLL_INTERVAL_S), give_up_s - now_s))
        with _locked(i2c):
            i2c.writeto(self.address, INTERRUPT_CLEAR)
        # The chip measures back to back: the next one is due a period after this one. It was
        # done by the end of the poll that saw it, most likely before its start: anchoring on
        # the start errs early, never late, so the estimate cannot drift later by a transfer
        # time per read (a poll that comes too early just finds nothing and polls again).
        self._due_s = poll_s + period_s
        return (block[RESULT_MM_OFFSET] << 8) | block[RESULT_MM_OFFSET + 1]

    def close(self) -> None:
        """Stop ranging and release the bus; never raises (the chip may be gone)."""
        driver, self._driver = self._driver, None
        i2c, self._i2c = self._i2c, None
        pin, self._pin = self._pin, None
        if pin is not None:
            with contextlib.suppress(Exception):
                pin.close()
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.stop_continuous()
        if i2c is not None:
            with contextlib.suppress(Exception):
                i2c.deinit()

    def probe(self) -> bool:
        """True when the chip acknowledges a register read (no re-initialisation); never raises.

        The sampling loop probes a failed chip between restarts to notice at once that it is
        back (a loose wire, a brown-out).
        """
        try:
            self.model_id()
        except SensorError:
            return False
        return True

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
