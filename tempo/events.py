"""Events the engine emits. They are the public vocabulary of repsled.

`to_dict()` gives the fields of the JSON payloads (docs/payloads.md); the firmware adds
`type`, `schema`, `id`, `station` and `leg` at the edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Literal

from tempo.flags import BOUNCE, FAST_ECCENTRIC, LOCKED_KNEES, PARTIAL, TIMES_UNKNOWN

__all__ = [
    "BOUNCE",
    "FAST_ECCENTRIC",
    "LOCKED_KNEES",
    "PARTIAL",
    "TIMES_UNKNOWN",
    "Event",
    "Phase",
    "PhaseChanged",
    "Rep",
    "RepRevised",
    "SetDone",
    "latest_reps",
]

Phase = Literal["rest", "concentric", "top_pause", "eccentric", "bottom_pause"]


def _fields_dict(event: Event) -> dict[str, Any]:
    """The event's fields by name: `dataclasses.asdict` without the deep copy that its
    immutable values do not need (a replay builds a payload per rep and set)."""
    return {f.name: getattr(event, f.name) for f in fields(event)}


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    """The sled entered `phase` at `t_s` (backdated to the 2 % boundary, see docs/engine.md)."""

    t_s: float
    phase: Phase

    def to_dict(self) -> dict[str, Any]:
        return _fields_dict(self)


@dataclass(frozen=True, slots=True)
class Rep:
    """One completed repetition; times in trace seconds, velocities in m/s."""

    set: int
    rep: int
    t_start: float
    t_top: float
    t_ecc: float
    t_end: float
    concentric_s: float
    top_pause_s: float
    eccentric_s: float
    bottom_pause_s: float
    rom_mm: float
    rom_fraction: float
    lockout: Literal["locked", "full", "partial"]
    eccentric_score: int
    mean_concentric_velocity_m_s: float
    peak_concentric_velocity_m_s: float
    flags: tuple[str, ...]
    t_confirmed: float  # time of the sample that confirmed the rep's end (emission time)
    stall_s: float = 0.0  # longest sticking point of the rep's two moving phases (tempo.stall)
    stall_fraction: float | None = None  # where it happened: 0 at bottom_mm, 1 at lockout_mm

    def to_dict(self) -> dict[str, Any]:
        d = _fields_dict(self)
        d["flags"] = list(self.flags)
        return d


@dataclass(frozen=True, slots=True)
class RepRevised:
    """A rep already emitted, its end placed again once the hold after it was seen
    (docs/engine.md, "A rep's end placed again"): `rep` replaces the `Rep` with the same
    `set` and `rep` (its `t_confirmed` stays the first emission's); `t_revised` is the time
    of the sample that placed it. A rep is revised at most once."""

    rep: Rep
    t_revised: float

    def to_dict(self) -> dict[str, Any]:
        return self.rep.to_dict()


@dataclass(frozen=True, slots=True)
class SetDone:
    """A set ended: rest on the start side for `rest_s`, an explicit end, or end of stream."""

    set: int
    reps: int
    t_start: float
    t_end: float
    mean_eccentric_s: float
    time_under_tension_s: float
    mean_concentric_velocity_m_s: float
    best_concentric_velocity_m_s: float
    last_concentric_velocity_m_s: float
    velocity_loss_pct: float
    reason: Literal["rest", "ended", "end_of_stream"]

    def to_dict(self) -> dict[str, Any]:
        return _fields_dict(self)


Event = PhaseChanged | Rep | RepRevised | SetDone


def latest_reps(events: Iterable[Event]) -> list[Rep]:
    """Each rep among `events` as last revised (`RepRevised`), in the order first emitted."""
    reps: dict[tuple[int, int], Rep] = {}
    for event in events:
        if isinstance(event, Rep):
            reps[event.set, event.rep] = event
        elif isinstance(event, RepRevised):
            reps[event.rep.set, event.rep.rep] = event.rep
    return list(reps.values())
