"""I2C for Adafruit drivers on plain Linux: smbus2 underneath, no Blinka board detection.

adafruit_bus_device's I2CDevice only needs a handful of busio.I2C methods. Implementing them on
smbus2's combined transfers (i2c_rdwr) keeps the real driver code path while the bus itself stays
injectable: the fake chip plugs in as another SMBus-like object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from smbus2 import SMBus, i2c_msg

SCAN_FIRST = 0x08
SCAN_LAST = 0x77  # 7-bit addresses outside this range are reserved


class SMBusLike(Protocol):
    """The part of smbus2.SMBus this adapter uses."""

    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None: ...

    def close(self) -> None: ...


def _span(buffer: Any, start: int, end: int | None) -> memoryview:
    view = memoryview(buffer)
    return view[start : len(view) if end is None else end]


class SMBusI2C:
    """busio.I2C look-alike over one Linux I2C bus (/dev/i2c-N).

    Errors are the bus's own OSErrors (errno 121 for a NACK), so callers see what the kernel
    said. A zero-length write is sent as such: controllers that refuse it (the Pi 5's) raise,
    and I2CDevice's probe then falls back to a one-byte read.
    """

    def __init__(self, bus: int = 1, smbus_factory: Callable[[int], SMBusLike] = SMBus) -> None:
        self.bus_number = bus
        self._bus: SMBusLike | None = smbus_factory(bus)
        self._lock = threading.Lock()

    @property
    def _smbus(self) -> SMBusLike:
        if self._bus is None:
            raise OSError(f"I2C bus {self.bus_number} is closed")
        return self._bus

    def try_lock(self) -> bool:
        """Non-blocking: I2CDevice spins on this around every transaction."""
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        self._lock.release()

    def writeto(self, address: int, buffer: Any, *, start: int = 0, end: int | None = None) -> None:
        """Write buffer[start:end] and stop."""
        data = bytes(_span(buffer, start, end))
        self._smbus.i2c_rdwr(i2c_msg.write(address, data))

    def readfrom_into(
        self, address: int, buffer: Any, *, start: int = 0, end: int | None = None
    ) -> None:
        """Read len(buffer[start:end]) bytes into that slice."""
        target = _span(buffer, start, end)
        msg = i2c_msg.read(address, len(target))
        self._smbus.i2c_rdwr(msg)
        target[:] = bytes(msg)

    def writeto_then_readfrom(
        self,
        address: int,
        out_buffer: Any,
        in_buffer: Any,
        *,
        out_start: int = 0,
        out_end: int | None = None,
        in_start: int = 0,
        in_end: int | None = None,
    ) -> None:
        """Write then read with a repeated start (one combined transfer, no stop between)."""
        data = bytes(_span(out_buffer, out_start, out_end))
        target = _span(in_buffer, in_start, in_end)
        read = i2c_msg.read(address, len(target))
        self._smbus.i2c_rdwr(i2c_msg.write(address, data), read)
        target[:] = bytes(read)

    def scan(self) -> list[int]:
        """Addresses that acknowledge a one-byte read (safe for write-sensitive devices)."""
        found = []
        for address in range(SCAN_FIRST, SCAN_LAST + 1):
            try:
                self._smbus.i2c_rdwr(i2c_msg.read(address, 1))
            except OSError:
                continue
            found.append(address)
        return found

    def deinit(self) -> None:
        """Close the bus; busio's name for it. Safe to call twice."""
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.close()

    close = deinit

    def __enter__(self) -> SMBusI2C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()
