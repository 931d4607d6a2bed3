"""The GPIO pin factory, chosen as gpiozero would choose it but without importlib.metadata.

gpiozero looks up `GPIOZERO_PIN_FACTORY` (the systemd unit sets `lgpio`) among its entry
points, which loads importlib.metadata with email and zipfile: about 1.5 MB of a Pi Zero 2 W's
memory and 15 ms, for a table that ships with gpiozero itself. Its own factories are taken
from the same table here; any other name (a third-party factory) is left to gpiozero.
"""

from __future__ import annotations

import importlib
import os

GPIOZERO_FACTORIES = {
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
    "pigpio": "gpiozero.pins.pigpio:PiGPIOFactory",
    "native": "gpiozero.pins.native:NativeFactory",
    "mock": "gpiozero.pins.mock:MockFactory",
}
"""gpiozero's `gpiozero_pin_factories` entry points (names are case-insensitive there too)."""


def choose_pin_factory() -> None:
    """Set gpiozero's default pin factory from `GPIOZERO_PIN_FACTORY` if it names one of
    gpiozero's own; otherwise (unset, a third party's, or one that fails to load here)
    gpiozero chooses as usual, and reports a failure as usual when a device is built."""
    from gpiozero import Device  # noqa: PLC0415 - gpiozero only where pins are used

    name = os.environ.get("GPIOZERO_PIN_FACTORY")
    target = GPIOZERO_FACTORIES.get(name.lower()) if name else None
    if Device.pin_factory is not None or target is None:
        return
    module, _, cls = target.partition(":")
    try:
        Device.pin_factory = getattr(importlib.import_module(module), cls)()
    except Exception:  # gpiozero tries again, and says why
        return
