"""Home Assistant MQTT discovery and the retained summary its sensors read.

Each sensor is a retained config under `{discovery_prefix}/sensor/{station}_{key}/config`.
Their state is one retained JSON message, `{prefix}/{station}/summary`, rewritten after every
rep and set; each sensor picks its field with a `value_template`. One retained topic means
Home Assistant shows the latest values right after it (or the station) restarts, and the
sensors of one rep always change together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from firmware import __version__

SUMMARY_SCHEMA = 1
MANUFACTURER = "repsled"
MODEL = "leg press rep counter"


@dataclass(frozen=True, slots=True)
class SensorSpec:
    key: str
    name: str
    field: str
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = "measurement"
    icon: str | None = None
    options: tuple[str, ...] = ()


SENSORS: tuple[SensorSpec, ...] = (
    SensorSpec("reps", "Reps in set", "reps_in_set", icon="mdi:counter"),
    SensorSpec("sets", "Sets", "sets", icon="mdi:format-list-numbered"),
    SensorSpec(
        "eccentric_s", "Last eccentric", "last_eccentric_s", unit="s", device_class="duration"
    ),
    SensorSpec("eccentric_score", "Last eccentric score", "last_eccentric_score", icon="mdi:timer"),
    SensorSpec(
        "lockout",
        "Last lockout",
        "last_lockout",
        device_class="enum",
        state_class=None,
        icon="mdi:human-handsdown",
        options=("locked", "full", "partial"),
    ),
    SensorSpec("velocity", "Velocity", "velocity_m_s", unit="m/s", device_class="speed"),
)


def object_id(station: str) -> str:
    """The station as Home Assistant accepts it in topics and ids: [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", station)


def summary_topic(prefix: str, station: str) -> str:
    return f"{prefix}/{station}/summary"


def status_topic(prefix: str, station: str) -> str:
    return f"{prefix}/{station}/status"


def device(station: str, sw_version: str = __version__) -> dict[str, Any]:
    return {
        "identifiers": [f"repsled_{object_id(station)}"],
        "name": f"repsled {station}",
        "model": MODEL,
        "manufacturer": MANUFACTURER,
        "sw_version": sw_version,
    }


def config_messages(
    *, prefix: str, station: str, discovery_prefix: str, sw_version: str = __version__
) -> list[tuple[str, str]]:
    """(topic, JSON) of every retained discovery config for this station."""
    oid = object_id(station)
    out: list[tuple[str, str]] = []
    for spec in SENSORS:
        cfg: dict[str, Any] = {
            "name": spec.name,
            "unique_id": f"repsled_{oid}_{spec.key}",
            "state_topic": summary_topic(prefix, station),
            "value_template": f"{{{{ value_json.{spec.field} }}}}",
            "availability_topic": status_topic(prefix, station),
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": device(station, sw_version),
            "origin": {"name": "repsled", "sw_version": sw_version},
        }
        if spec.unit:
            cfg["unit_of_measurement"] = spec.unit
        if spec.device_class:
            cfg["device_class"] = spec.device_class
        if spec.state_class:
            cfg["state_class"] = spec.state_class
        if spec.icon:
            cfg["icon"] = spec.icon
        if spec.options:
            cfg["options"] = list(spec.options)
        topic = f"{discovery_prefix}/sensor/{oid}_{spec.key}/config"
        out.append((topic, json.dumps(cfg, separators=(",", ":"))))
    return out


class Summary:
    """The latest numbers of a station, built from the rep and set payloads it publishes."""

    def __init__(self, station: str) -> None:
        self.station = station
        self._data: dict[str, Any] | None = None
        self._sets = 0

    def update_rep(self, rep: dict[str, Any]) -> None:
        self._data = {
            "schema": SUMMARY_SCHEMA,
            "station": self.station,
            "session": rep.get("session"),
            "set": rep["set"],
            "reps_in_set": rep["rep"],
            "sets": self._sets,
            "last_eccentric_s": rep["eccentric_s"],
            "last_eccentric_score": rep["eccentric_score"],
            "last_lockout": rep["lockout"],
            "velocity_m_s": rep["mean_concentric_velocity_m_s"],
            "last_id": rep["id"],
        }

    def update_set(self, done: dict[str, Any]) -> None:
        self._sets = max(self._sets, int(done["set"]))
        if self._data is None:
            return  # a set without a rep seen here: nothing to show for the rep sensors
        self._data = {
            **self._data,
            "set": done["set"],
            "reps_in_set": done["reps"],
            "sets": self._sets,
            "last_id": done["id"],
        }

    def payload(self) -> str | None:
        """The retained JSON, or None before the first rep."""
        if self._data is None:
            return None
        return json.dumps(self._data, separators=(",", ":"), ensure_ascii=False)
