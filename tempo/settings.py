"""Engine settings: the calibrated geometry of the sled and the scoring thresholds.

Pure data; `firmware.config` builds it from the TOML file. Validation lives here so that
every caller (config, calibrate, tests) gets the same one-line errors naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Final, Literal

StartSide = Literal["bottom", "top"]

MIN_ROM_MM: Final = 100
# No number here can sensibly be larger: a reading in millimetres, a time in seconds.
MAX_MAGNITUDE: Final = 1e6

# The dotted config key of each numeric field, for the one-line errors.
KEYS: Final = {
    "bottom_mm": "sled.bottom_mm",
    "lockout_mm": "sled.lockout_mm",
    "target_eccentric_s": "tempo.target_eccentric_s",
    "fast_margin_s": "tempo.fast_margin_s",
    "partial_below": "lockout.partial_below",
    "locked_above": "lockout.locked_above",
    "rest_s": "sets.rest_s",
}


class SettingsError(ValueError):
    """A setting is impossible; `key` is its dotted config name (e.g. `sled.bottom_mm`)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Geometry and thresholds; distances in sensor millimetres, times in seconds."""

    bottom_mm: float = 150.0
    lockout_mm: float = 520.0
    start: StartSide = "bottom"
    target_eccentric_s: float = 3.0
    fast_margin_s: float = 1.0
    partial_below: float = 0.80
    locked_above: float = 0.97
    rest_s: float = 8.0

    def __post_init__(self) -> None:
        for f in fields(self):
            key = KEYS.get(f.name)
            if key is None:
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SettingsError(key, f"must be a number, not {type(value).__name__}")
            try:
                number = float(value)
            except OverflowError:
                raise SettingsError(key, "is far too large") from None
            if not math.isfinite(number):
                raise SettingsError(key, f"must be a finite number, not {number}")
            if abs(number) > MAX_MAGNITUDE:
                raise SettingsError(key, f"{number:g} is far too large (at most {MAX_MAGNITUDE:g})")
        if self.start not in ("bottom", "top"):
            raise SettingsError("sled.start", f'must be "bottom" or "top", not {self.start!r}')
        if self.rom_mm < MIN_ROM_MM:
            raise SettingsError(
                "sled.lockout_mm",
                f"range of motion |lockout_mm - bottom_mm| is {self.rom_mm:g} mm, "
                f"under the minimum of {MIN_ROM_MM} mm",
            )
        if not 0 < self.partial_below < 1:
            raise SettingsError("lockout.partial_below", "must be between 0 and 1")
        if not 0 < self.locked_above <= 1.2:
            raise SettingsError("lockout.locked_above", "must be between 0 and 1.2")
        if self.partial_below >= self.locked_above:
            raise SettingsError(
                "lockout.partial_below",
                f"({self.partial_below:g}) must be smaller than locked_above "
                f"({self.locked_above:g})",
            )
        if self.target_eccentric_s <= 0:
            raise SettingsError("tempo.target_eccentric_s", "must be positive")
        if self.fast_margin_s < 0:
            raise SettingsError("tempo.fast_margin_s", "must not be negative")
        if self.rest_s <= 0:
            raise SettingsError("sets.rest_s", "must be positive")

    @property
    def rom_mm(self) -> float:
        """Calibrated range of motion, whatever way the sensor faces."""
        return abs(self.lockout_mm - self.bottom_mm)

    @property
    def direction(self) -> int:
        """+1 when readings grow towards lockout (concentric), -1 when they shrink."""
        return 1 if self.lockout_mm > self.bottom_mm else -1

    def fraction(self, distance_mm: float) -> float:
        """Position as a fraction of the range of motion: 0 at bottom_mm, 1 at lockout_mm."""
        return (distance_mm - self.bottom_mm) / (self.lockout_mm - self.bottom_mm)
