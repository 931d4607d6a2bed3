"""The pure tempo engine: (t_s, distance_mm) samples in, events out. Standard library only."""

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
    SetDone,
)
from tempo.settings import EngineSettings, SettingsError

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
    "SetDone",
    "SettingsError",
    "TempoEngine",
]
