"""A VL53L0X emulated at register level, and an SMBus to plug it into.

The real Adafruit driver runs unchanged on top (initialisation, single-shot and continuous
ranging), so everything above the I2C bus is exercised exactly as on the device: tests, the
`fake:TRACE.csv` sensor and the demo. What is emulated and how faults are injected is in
docs/fake-chip.md.

Time: the chip lives on an injected clock. Its "chip time" (`now_s()`, the argument given to
`signal`, and the times of scheduled faults) counts seconds since the fake was created, its
power-on. A new measurement completes every timing budget, as decoded from the registers the
driver wrote, and samples `signal` at its completion time.

A None from `signal` is reported the way the chip reports "no target": 8190 (out of range)
with a failing range status. It is fast and deterministic; for read errors inject a fault.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smbus2.smbus2 import I2C_M_RD

from sensor.source import SensorError
from sensor.vl53l0x import VL53L0XSource, WaitClock

Signal = Callable[[float], int | None]

END_OF_TRACE = "end_of_trace"
"""SensorError reason read_mm gives once a played trace (trace_signal, loop=False) is over."""

OUT_OF_RANGE_MM = 8190
FAULTS = ("nack", "never_ready", "out_of_range", "stuck", "vanish")

# Registers (page 0 unless said otherwise).
_SYSRANGE_START = 0x00
_SEQUENCE_CONFIG = 0x01
_INTERRUPT_CLEAR = 0x0B
_INTERRUPT_STATUS = 0x13
_RANGE_STATUS = 0x14
_RESULT_MM_HI = 0x1E  # RESULT_RANGE_STATUS + 10
_RESULT_MM_LO = 0x1F
_MSRC_TIMEOUT = 0x46
_PRE_RANGE_VCSEL = 0x50
_PRE_RANGE_TIMEOUT_HI = 0x51
_FINAL_RANGE_VCSEL = 0x70
_FINAL_RANGE_TIMEOUT_HI = 0x71
_I2C_ADDRESS = 0x8A
_PAGE = 0xFF
_NVM_PAGE = 7
_NVM_CONTROL = 0x83  # page 7: write 0 with 0x94 = 0x6B, poll until non-zero
_NVM_COMMAND = 0x94
_NVM_READ_SPAD_INFO = 0x6B
_NVM_SPAD_INFO = 0x92

_SEQ_FINAL_RANGE = 0x80
_INTERRUPT_NEW_SAMPLE = 0x04
_STATUS_VALID = 11 << 3  # device range status in bits 6:3; 11 = range valid
_STATUS_PHASE_FAIL = 4 << 3  # no target seen
_EPSILON = 1e-9  # float slack when counting measurements completed by a given time

BITS_PER_BYTE_ON_WIRE = 9  # 8 data bits and the acknowledge bit
TRANSACTION_OVERHEAD_S = 60e-6
"""Fixed cost of one i2c_rdwr on a Pi besides the bits: start/stop conditions, the ioctl, the
controller's set-up and its completion interrupt. An estimate, not a measurement on a Pi."""


@dataclass(frozen=True, slots=True)
class BusTiming:
    """How long a transfer takes on the wire: 9 bit times per byte plus a per-call overhead.

    The Linux I2C driver waits for its completion interrupt, so the calling thread sleeps
    through the transfer: a timed fake bus calls the clock's sleep, which costs no CPU, while
    the Python work around each transfer (and any busy loop) costs what it costs.
    """

    speed_hz: int = 400_000
    transaction_overhead_s: float = TRANSACTION_OVERHEAD_S

    def __post_init__(self) -> None:
        if self.speed_hz <= 0 or self.transaction_overhead_s < 0:
            raise ValueError("speed_hz must be positive and the overhead not negative")

    def transfer_s(self, wire_bytes: int) -> float:
        """Seconds for one transaction moving `wire_bytes` (address bytes included)."""
        return wire_bytes * BITS_PER_BYTE_ON_WIRE / self.speed_hz + self.transaction_overhead_s


def _power_on_registers(model_id: int, stop_variable: int) -> dict[tuple[int, int], int]:
    """Power-on values of the registers the driver reads before it writes them."""
    return {
        (0, 0xC0): model_id,
        (0, 0xC1): 0xAA,
        (0, 0xC2): 0x10,
        (0, _SEQUENCE_CONFIG): 0xFF,
        (0, 0x44): 0x00,  # final range min count rate, 9.7 fixed point: 0.25 MCPS
        (0, 0x45): 0x20,
        (0, _MSRC_TIMEOUT): 0x25,
        (0, _PRE_RANGE_VCSEL): 0x06,  # (6 + 1) * 2 = 14 PCLKs
        (0, _PRE_RANGE_TIMEOUT_HI): 0x00,
        (0, _PRE_RANGE_TIMEOUT_HI + 1): 0x96,
        (0, _FINAL_RANGE_VCSEL): 0x04,  # 10 PCLKs
        (0, _FINAL_RANGE_TIMEOUT_HI): 0x01,
        (0, _FINAL_RANGE_TIMEOUT_HI + 1): 0xFE,
        (0, 0x60): 0x00,  # MSRC config control
        (0, 0x84): 0x11,  # GPIO HV mux: active high
        (0, _I2C_ADDRESS): 0x29,
        **{(0, 0xB0 + i): 0xFF for i in range(6)},  # reference SPAD map
        (1, 0x91): stop_variable,
        (_NVM_PAGE, _NVM_SPAD_INFO): 0x00,  # valid only after the NVM handshake
        (6, _NVM_CONTROL): 0x00,
        (_NVM_PAGE, _NVM_CONTROL): 0x00,
    }


def _vcsel_pclks(register_value: int) -> int:
    return ((register_value + 1) & 0xFF) << 1


def _mclks_to_us(mclks: float, vcsel_pclks: int) -> float:
    macro_period_ns = (2304 * vcsel_pclks * 1655 + 500) // 1000
    return (mclks * macro_period_ns + macro_period_ns // 2) // 1000


def _decode_timeout(encoded: int) -> int:
    """(LSB * 2^MSB) + 1, the chip's encoding of a timeout in macro periods."""
    return (encoded & 0xFF) * (1 << ((encoded >> 8) & 0xFF)) + 1


@dataclass(slots=True)
class FaultWindow:
    """One injected fault, active while at_s <= chip time < until_s."""

    fault: str
    at_s: float
    until_s: float

    def active(self, now_s: float) -> bool:
        return self.at_s <= now_s < self.until_s


def _clock_parts(clock: Any) -> tuple[Callable[[], float], Callable[[float], None] | None]:
    """Accept a Clock (monotonic and sleep) or a bare `() -> seconds` callable."""
    monotonic = getattr(clock, "monotonic", None)
    if callable(monotonic):
        sleep = getattr(clock, "sleep", None)
        return monotonic, sleep if callable(sleep) else None
    if callable(clock):
        return clock, None
    raise TypeError(f"clock must be callable or have monotonic(), got {type(clock).__name__}")


class FakeVL53L0X:
    """The chip: paged registers, the NVM and calibration handshakes, and ranging on a clock.

    `clock` is a `() -> seconds` callable or a Clock; with a Clock (or `sleep` given), a poll of
    the interrupt status while a measurement is under way sleeps until it completes, so a fake
    clock simply jumps ahead; without one, or with `block_on_poll=False` (the timed bus, which
    charges each poll its transfer time as the real chip does), the status reads 0 until the
    measurement is done and the host has to wait for it.
    """

    def __init__(
        self,
        signal: Signal,
        clock: Any,
        address: int = 0x29,
        *,
        sleep: Callable[[float], None] | None = None,
        block_on_poll: bool = True,
        model_id: int = 0xEE,
        stop_variable: int = 0x3C,
        spad_info: int = 0x85,  # 5 reference SPADs, aperture type
    ) -> None:
        self.signal = signal
        self._monotonic, clock_sleep = _clock_parts(clock)
        self._sleep = (sleep if sleep is not None else clock_sleep) if block_on_poll else None
        self._t0 = self._monotonic()
        self.power_on_address = address
        self._power_on = _power_on_registers(model_id, stop_variable)
        self._power_on[(0, _I2C_ADDRESS)] = address
        self._spad_info = spad_info
        self.faults: list[FaultWindow] = []
        self.transfers = 0
        self.resets = 0
        self._reset_state()

    # -- time and state ----------------------------------------------------------------------

    def now_s(self) -> float:
        """Chip time: seconds since this fake was created."""
        return self._monotonic() - self._t0

    def _reset_state(self) -> None:
        self._regs = dict(self._power_on)
        self.address = self.power_on_address
        self._page = 0
        self._index = 0
        self._mode = "idle"  # idle, calibration, single, continuous
        self._started_s = 0.0
        self._period_s = 1.0
        self._consumed = 0  # measurements whose interrupt the host cleared
        self._result_index = 0  # measurement the result registers hold
        self._result_mm = 0
        self._range_status = 0

    def power_cycle(self) -> None:
        """Lose power and come back: every register to its power-on value, ranging stopped."""
        self._reset_state()
        self.resets += 1

    @property
    def mode(self) -> str:
        """ "idle", "calibration", "single" or "continuous"."""
        return self._mode

    @property
    def measurement_period_s(self) -> float:
        """Time between measurements of the current (or last) ranging run."""
        return self._period_s

    def timing_budget_us(self) -> int:
        """The measurement timing budget the registers encode (the driver's own arithmetic)."""
        seq = self._regs.get((0, _SEQUENCE_CONFIG), 0)
        tcc, dss, msrc = seq & 0x10, seq & 0x08, seq & 0x04
        pre_range, final_range = seq & 0x40, seq & 0x80
        pre_pclks = _vcsel_pclks(self._regs.get((0, _PRE_RANGE_VCSEL), 0))
        final_pclks = _vcsel_pclks(self._regs.get((0, _FINAL_RANGE_VCSEL), 0))
        msrc_us = _mclks_to_us((self._regs.get((0, _MSRC_TIMEOUT), 0) + 1) & 0xFF, pre_pclks)
        pre_mclks = _decode_timeout(self._u16(_PRE_RANGE_TIMEOUT_HI))
        final_mclks = _decode_timeout(self._u16(_FINAL_RANGE_TIMEOUT_HI))
        if pre_range:
            final_mclks -= pre_mclks
        budget_us = 1910 + 960.0
        if tcc:
            budget_us += msrc_us + 590
        if dss:
            budget_us += 2 * (msrc_us + 690)
        elif msrc:
            budget_us += msrc_us + 660
        if pre_range:
            budget_us += _mclks_to_us(pre_mclks, pre_pclks) + 660
        if final_range:
            budget_us += _mclks_to_us(final_mclks, final_pclks) + 550
        return int(budget_us)

    def _u16(self, register: int) -> int:
        return (self._regs.get((0, register), 0) << 8) | self._regs.get((0, register + 1), 0)

    # -- back door for tests (no side effects, not through the bus) ---------------------------

    def read_register(self, register: int, page: int = 0) -> int:
        return self._regs.get((page, register), 0)

    def write_register(self, register: int, value: int, page: int = 0) -> None:
        self._regs[(page, register)] = value & 0xFF

    # -- faults ------------------------------------------------------------------------------

    def inject(
        self,
        fault: str,
        *,
        at_s: float | None = None,
        until_s: float | None = None,
        for_s: float | None = None,
    ) -> FaultWindow:
        """Start `fault` now (or at chip time `at_s`) until cleared, `until_s` or for `for_s`.

        "nack": every transfer fails with errno 121, registers kept (a loose wire).
        "vanish": the same, and when it ends the chip has been power-cycled (a brown-out).
        "never_ready": the interrupt status stays 0, so the driver times out.
        "out_of_range": measurements report 8190.
        "stuck": the result registers keep their value while measurements go on.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        if until_s is not None and for_s is not None:
            raise ValueError("give until_s or for_s, not both")
        start_s = self.now_s() if at_s is None else at_s
        end_s = math.inf
        if for_s is not None:
            end_s = start_s + for_s
        elif until_s is not None:
            end_s = until_s
        window = FaultWindow(fault, start_s, end_s)
        self.faults.append(window)
        return window

    def clear(self, fault: str | None = None) -> None:
        """End injected faults (all, or those of one kind); a vanished chip comes back reset."""
        now_s = self.now_s()
        kept = []
        came_back = False
        for window in self.faults:
            if fault is None or window.fault == fault:
                came_back |= window.fault == "vanish" and window.at_s <= now_s
            else:
                kept.append(window)
        self.faults = kept
        if came_back:
            self.power_cycle()

    def _active(self, fault: str, now_s: float) -> bool:
        return any(w.fault == fault and w.active(now_s) for w in self.faults)

    def _acknowledge(self) -> None:
        """Called for every transfer addressed to the chip: NACK it or let it through."""
        self.transfers += 1
        now_s = self.now_s()
        ended = [w for w in self.faults if w.fault == "vanish" and w.until_s <= now_s]
        if ended:
            self.faults = [w for w in self.faults if w not in ended]
            self.power_cycle()
        if self._active("nack", now_s) or self._active("vanish", now_s):
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))

    # -- bus side ----------------------------------------------------------------------------

    def i2c_write(self, data: bytes) -> None:
        """A write message: register index, then values written with auto-increment."""
        self._acknowledge()
        if not data:
            return  # a quick write: acknowledged, nothing else
        self._index = data[0]
        for value in data[1:]:
            self._write_register(self._index, value)
            self._index = (self._index + 1) & 0xFF

    def i2c_read(self, length: int) -> bytes:
        """A read message: values from the current index with auto-increment."""
        self._acknowledge()
        out = bytearray(length)
        for i in range(length):
            out[i] = self._read_register(self._index)
            self._index = (self._index + 1) & 0xFF
        return bytes(out)

    def _write_register(self, register: int, value: int) -> None:
        if register == _PAGE:
            self._page = value
            return
        page = self._page
        self._regs[(page, register)] = value
        if page == 0:
            if register == _SYSRANGE_START:
                self._sysrange_start(value)
            elif register == _INTERRUPT_CLEAR and value & 0x01:
                self._consumed = self._completed(self.now_s())
            elif register == _I2C_ADDRESS:
                self.address = value & 0x7F
        elif (page, register, value) == (_NVM_PAGE, _NVM_CONTROL, 0) and (
            self._regs.get((_NVM_PAGE, _NVM_COMMAND)) == _NVM_READ_SPAD_INFO
        ):
            self._regs[(_NVM_PAGE, _NVM_SPAD_INFO)] = self._spad_info
            self._regs[(_NVM_PAGE, _NVM_CONTROL)] = 0x10  # read done

    def _read_register(self, register: int) -> int:
        if register == _PAGE:
            return self._page
        if self._page == 0:
            if register == _SYSRANGE_START:
                return self._regs.get((0, _SYSRANGE_START), 0) & 0xFE  # start bit self-clears
            if register == _INTERRUPT_STATUS:
                return _INTERRUPT_NEW_SAMPLE if self._interrupt_pending() else 0
            if register == _RANGE_STATUS:
                self._update_result()
                return self._range_status
            if register == _RESULT_MM_HI:
                self._update_result()
                return (self._result_mm >> 8) & 0xFF
            if register == _RESULT_MM_LO:
                return self._result_mm & 0xFF
        return self._regs.get((self._page, register), 0)

    # -- ranging -----------------------------------------------------------------------------

    def _sysrange_start(self, value: int) -> None:
        now_s = self.now_s()
        if self._mode == "continuous":
            if value & 0x01:
                self._mode = "idle"  # the start/stop bit stops a running sequence
            return
        if value & 0x06:  # back-to-back or timed: both measure continuously here
            self._begin("continuous", now_s)
        elif value & 0x01:
            final_range = self._regs.get((0, _SEQUENCE_CONFIG), 0) & _SEQ_FINAL_RANGE
            self._begin("single" if final_range else "calibration", now_s)
        elif self._mode == "calibration":
            self._mode = "idle"  # the driver writes 0 once the calibration is acknowledged

    def _begin(self, mode: str, now_s: float) -> None:
        self._mode = mode
        self._started_s = now_s
        self._consumed = 0
        self._result_index = 0
        if mode != "calibration":
            self._period_s = self.timing_budget_us() / 1e6

    def _completed(self, now_s: float) -> int:
        """Measurements of the current run completed by chip time `now_s`."""
        if self._mode == "calibration":
            return 1
        if self._mode == "idle":
            return 0
        done = max(0, math.floor((now_s - self._started_s) / self._period_s + _EPSILON))
        return min(done, 1) if self._mode == "single" else done

    def gpio1_active(self) -> bool:
        """The data-ready output (GPIO1, active low as the driver sets it): True when pulled."""
        now_s = self.now_s()
        return not self._active("never_ready", now_s) and self._completed(now_s) > self._consumed

    def next_ready_in_s(self) -> float | None:
        """Chip seconds until the next measurement completes; None when not ranging."""
        if self._mode not in ("single", "continuous"):
            return None
        now_s = self.now_s()
        done = self._completed(now_s)
        return max(0.0, self._started_s + (done + 1) * self._period_s - now_s)

    @property
    def result_completed_s(self) -> float:
        """Chip time at which the measurement in the result registers completed."""
        return self._started_s + self._result_index * self._period_s

    def _interrupt_pending(self) -> bool:
        now_s = self.now_s()
        if self._active("never_ready", now_s):
            return False
        done = self._completed(now_s)
        if done > self._consumed:
            return True
        waiting = self._mode == "continuous" or (self._mode == "single" and done == 0)
        if self._sleep is None or not waiting:
            return False
        self._sleep(max(0.0, self._started_s + (done + 1) * self._period_s - now_s))
        now_s = self.now_s()
        return not self._active("never_ready", now_s) and self._completed(now_s) > self._consumed

    def _update_result(self) -> None:
        """Latch the newest completed measurement into the result registers."""
        if self._mode not in ("single", "continuous"):
            return
        now_s = self.now_s()
        index = self._completed(now_s)
        if index in (0, self._result_index):
            return
        if self._active("out_of_range", now_s):
            distance_mm: int | None = None
        elif self._active("stuck", now_s):
            self._result_index = index
            return
        else:
            distance_mm = self.signal(self._started_s + index * self._period_s)
        self._result_index = index
        if distance_mm is None:
            self._result_mm, self._range_status = OUT_OF_RANGE_MM, _STATUS_PHASE_FAIL
        else:
            self._result_mm = min(max(int(distance_mm), 0), 0xFFFF)
            self._range_status = _STATUS_VALID


class FakeSMBus:
    """The part of smbus2.SMBus that sensor.i2c uses, with fake chips on it.

    Addresses with no chip NACK (errno 121). `zero_length_write_fails` behaves like a Pi 5,
    whose controller refuses zero-length messages (errno 95) whoever is addressed.

    With `timing` and `sleep` every transaction (one i2c_rdwr call) first sleeps its transfer
    time, so the chip answers as of the end of the transfer. `transactions` and `wire_bytes`
    (address bytes included) count the traffic, timed or not.
    """

    def __init__(
        self,
        bus: int,
        devices: dict[int, FakeVL53L0X],
        *,
        zero_length_write_fails: bool = False,
        timing: BusTiming | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if (timing is None) != (sleep is None):
            raise ValueError("a timed bus needs both timing and sleep")
        self.bus = bus
        self.devices = devices
        self.zero_length_write_fails = zero_length_write_fails
        self.timing = timing
        self._sleep = sleep
        self.closed = False
        self.transactions = 0
        self.wire_bytes = 0

    def _device_at(self, address: int) -> FakeVL53L0X:
        for device in self.devices.values():
            if device.address == address:
                return device
        raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))

    def i2c_rdwr(self, *i2c_msgs: Any) -> None:
        if self.closed:
            raise OSError(errno.EBADF, f"I2C bus {self.bus} is closed")
        wire_bytes = sum(1 + msg.len for msg in i2c_msgs)
        self.transactions += 1
        self.wire_bytes += wire_bytes
        if self.timing is not None and self._sleep is not None:
            self._sleep(self.timing.transfer_s(wire_bytes))
        for msg in i2c_msgs:
            if msg.flags & I2C_M_RD:
                data = self._device_at(msg.addr).i2c_read(msg.len)
                ctypes.memmove(msg.buf, data, msg.len)
            else:
                if msg.len == 0 and self.zero_length_write_fails:
                    raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
                self._device_at(msg.addr).i2c_write(bytes(msg))

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeSMBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeBusFactory:
    """`smbus_factory` for VL53L0XSource: opens FakeSMBus `bus`; other numbers do not exist."""

    def __init__(
        self,
        devices: dict[int, FakeVL53L0X] | FakeVL53L0X,
        *,
        bus: int = 1,
        zero_length_write_fails: bool = False,
        timing: BusTiming | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if isinstance(devices, FakeVL53L0X):
            devices = {devices.address: devices}
        self.devices = devices
        self.bus = bus
        self.zero_length_write_fails = zero_length_write_fails
        self.timing = timing
        self.sleep = sleep
        self.opened: list[FakeSMBus] = []

    def __call__(self, bus: int) -> FakeSMBus:
        if bus != self.bus:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), f"/dev/i2c-{bus}")
        smbus = FakeSMBus(
            bus,
            self.devices,
            zero_length_write_fails=self.zero_length_write_fails,
            timing=self.timing,
            sleep=self.sleep,
        )
        self.opened.append(smbus)
        return smbus

    @property
    def transactions(self) -> int:
        """Transactions on every bus this factory opened."""
        return sum(smbus.transactions for smbus in self.opened)

    @property
    def wire_bytes(self) -> int:
        """Bytes on the wire (address bytes included) on every bus this factory opened."""
        return sum(smbus.wire_bytes for smbus in self.opened)


def fake_source(
    signal: Signal,
    clock: Any,
    *,
    timing_budget_ms: float = 33,
    io_timeout_s: float = 0.5,
    address: int = 0x29,
    bus_timing: BusTiming | None = None,
    ready_pin: bool = False,
) -> tuple[VL53L0XSource, FakeVL53L0X]:
    """The real source and driver over a fake bus with one fake chip; not started yet.

    `clock` is a Clock (its sleep makes reads block in clock time) or a `() -> seconds`.
    With `bus_timing` (needs a Clock) the bus charges every transaction its transfer time and
    the chip no longer sleeps on a poll: waiting for a measurement costs what it costs on the
    device. The bus factory, with its traffic counters, is `source.smbus_factory`.
    `ready_pin` wires the chip's GPIO1 to the source (a FakeReadyPin; needs a Clock).
    """
    monotonic, clock_sleep = _clock_parts(clock)
    if (bus_timing is not None or ready_pin) and clock_sleep is None:
        raise ValueError("a timed bus or a fake data-ready pin needs a clock with sleep()")
    chip = FakeVL53L0X(signal, clock, address, block_on_poll=bus_timing is None)
    # A bare `() -> seconds` cannot sleep: the source then waits in real time.
    wait_clock = _WaitOn(monotonic, clock_sleep) if clock_sleep is not None else None
    source = VL53L0XSource(
        bus=1,
        address=address,
        timing_budget_ms=timing_budget_ms,
        io_timeout_s=io_timeout_s,
        smbus_factory=FakeBusFactory(
            chip, timing=bus_timing, sleep=clock_sleep if bus_timing is not None else None
        ),
        clock=wait_clock,
        ready_pin=_fake_pin_factory(chip, wait_clock) if ready_pin else None,
    )
    return source, chip


@dataclass(slots=True)
class _WaitOn:
    """A WaitClock from a clock's two methods."""

    monotonic: Callable[[], float]
    sleep: Callable[[float], None]


class FakeReadyPin:
    """The fake chip's GPIO1 as the host sees it: waiting sleeps on the clock until it is pulled.

    Stands in for sensor.ready_pin.GpioReadyPin (which waits for the edge through gpiozero),
    so the source's data-ready path runs through the fake chip, never_ready fault included.
    """

    def __init__(self, chip: FakeVL53L0X, clock: WaitClock) -> None:
        self.chip = chip
        self.clock = clock
        self.waits = 0
        self.closed = False

    def wait_ready(self, timeout_s: float) -> bool:
        self.waits += 1
        give_up_s = self.clock.monotonic() + timeout_s
        while not self.chip.gpio1_active():
            left_s = give_up_s - self.clock.monotonic()
            if left_s <= 0:
                return False
            next_s = self.chip.next_ready_in_s()
            self.clock.sleep(left_s if next_s is None else min(left_s, max(next_s, 1e-6)))
        return True

    def close(self) -> None:
        self.closed = True


def _fake_pin_factory(chip: FakeVL53L0X, clock: WaitClock | None) -> Callable[[], FakeReadyPin]:
    assert clock is not None

    def open_pin() -> FakeReadyPin:
        return FakeReadyPin(chip, clock)

    return open_pin


class _TracePlayer:
    """Sample-and-hold over a trace, streamed: a cursor that only rewinds when time does."""

    def __init__(self, path: str | Path, loop: bool) -> None:
        from sensor.trace import TraceError, read_trace  # noqa: PLC0415

        self._read_trace = read_trace
        self.path = Path(path)
        self.loop = loop
        # One pass up front: a bad line is a TraceError now, not a sensor fault mid-session.
        first_s = last_s = previous_s = None
        count = 0
        with read_trace(self.path) as reader:
            for t_s, _ in reader.pairs():
                if first_s is None:
                    first_s = t_s
                previous_s, last_s = last_s, t_s
                count += 1
        if count == 0 or last_s is None:
            raise TraceError(f"{self.path}: the trace has no samples")
        # The last sample holds for one more sample interval; then the trace is over.
        self.end_s = last_s + (last_s - previous_s if previous_s is not None else 0.0)
        self._rewind()

    def _rewind(self) -> None:
        self._reader = self._read_trace(self.path)
        self._samples = iter(self._reader)
        self._current = next(self._samples)
        self._next = next(self._samples, None)

    def __call__(self, t_s: float) -> int | None:
        if t_s > self.end_s:
            if not self.loop:
                raise SensorError(END_OF_TRACE, f"{self.path}: trace over at {self.end_s:g} s")
            if self.end_s <= 0:
                return self._current.distance_mm
            t_s = math.fmod(t_s, self.end_s)
        if t_s < self._current.t_s:
            self._reader.close()
            self._rewind()
        while self._next is not None and self._next.t_s <= t_s:
            self._current = self._next
            self._next = next(self._samples, None)
        return self._current.distance_mm


def trace_signal(path: str | Path, *, loop: bool = False) -> Signal:
    """Play a trace file as a signal: the last sample at or before t (t_s = 0 is the start).

    Past the end (the last sample plus one sample interval) it raises
    SensorError("end_of_trace"), which read_mm passes on; with `loop` it starts over instead.
    A malformed trace raises TraceError here, before anything runs.
    """
    return _TracePlayer(path, loop)
