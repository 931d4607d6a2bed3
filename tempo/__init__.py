"""The pure tempo engine: (t_s, distance_mm) samples in, events out. Standard library only.

The names below are loaded on first use (PEP 562): the config's validation imports
`tempo.settings` alone, so the device's start-up reaches its first reading without
loading the engine first; the engine loads while the chip takes that reading.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tempo.engine import TempoEngine
    from tempo.events import (
        BOUNCE,
        FAST_ECCENTRIC,
        LOCKED_KNEES,
        PARTIAL,
        TIMES_UNKNOWN,
        Event,
        Phase,
        PhaseChanged,
        Rep,
        RepRevised,
        SetDone,
        latest_reps,
    )
    from tempo.settings import EngineSettings, SettingsError

_HOME = {
    "TempoEngine": "tempo.engine",
    "BOUNCE": "tempo.events",
    "FAST_ECCENTRIC": "tempo.events",
    "LOCKED_KNEES": "tempo.events",
    "PARTIAL": "tempo.events",
    "TIMES_UNKNOWN": "tempo.events",
    "Event": "tempo.events",
    "Phase": "tempo.events",
    "PhaseChanged": "tempo.events",
    "Rep": "tempo.events",
    "RepRevised": "tempo.events",
    "SetDone": "tempo.events",
    "latest_reps": "tempo.events",
    "EngineSettings": "tempo.settings",
    "SettingsError": "tempo.settings",
}

__all__ = [
    "BOUNCE",
    "FAST_ECCENTRIC",
    "LOCKED_KNEES",
    "PARTIAL",
    "TIMES_UNKNOWN",
    "EngineSettings",
    "Event",
    "Phase",
    "PhaseChanged",
    "Rep",
    "RepRevised",
    "SetDone",
    "SettingsError",
    "TempoEngine",
    "latest_reps",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'tempo' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
