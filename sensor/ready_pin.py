"""The VL53L0X's GPIO1 data-ready output on a Raspberry Pi GPIO, through gpiozero.

The driver configures GPIO1 as "new sample ready", active low: the chip pulls the line low
when a measurement is ready and releases it when the host clears the interrupt. GPIO1 is an
open-drain output, so the Pi's internal pull-up holds the line high otherwise. gpiozero
watches the line for edges in its own thread, so waiting for one is a sleep, not a poll.
Wiring: docs/sensor-loop.md.
"""

from __future__ import annotations

import contextlib
from typing import Any


class GpioReadyPin:
    """sensor.vl53l0x.ReadyPin on a BCM pin; gpiozero is imported only when one is wired."""

    def __init__(self, pin: int, *, pin_factory: Any = None) -> None:
        from gpiozero import DigitalInputDevice  # noqa: PLC0415 - only stations that wire it

        self.pin = pin
        # pull_up=True: the line is active (a measurement ready) when the chip pulls it low.
        self._device = DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory)

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the line is low (at once if it already is); False after `timeout_s`."""
        return bool(self._device.wait_for_active(timeout=max(0.0, timeout_s)))

    def close(self) -> None:
        """Release the GPIO; never raises."""
        with contextlib.suppress(Exception):
            self._device.close()
