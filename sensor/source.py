"""What the sampling loop needs from a distance sensor; real and fake chips both provide it."""

from __future__ import annotations

from typing import Protocol


class SensorError(Exception):
    """The sensor did not give a reading; `reason` is a short machine-friendly word."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class DistanceSource(Protocol):
    """A ranging sensor in continuous mode."""

    def start(self) -> None:
        """Initialise the chip and start continuous ranging; raises SensorError."""

    def read_mm(self) -> int:
        """Next reading in mm (8190/8191 = out of range), bounded wait; raises SensorError."""

    def close(self) -> None:
        """Stop ranging and release the bus; never raises."""
