"""Home Assistant MQTT discovery and the retained summary its sensors read.

Each entity is a retained config under `{discovery_prefix}/{component}/{station}_{key}/config`.
The value sensors read one retained JSON message, `{prefix}/{station}/summary`, rewritten at
start and after every rep and set; each picks its field with a `value_template`. One retained
topic means Home Assistant shows the latest values right after it (or the station) restarts,
and the sensors of one rep change together.

The value sensors have no availability topic, so the last set stays readable after training;
whether the station is up is a `connectivity` binary sensor on the status topic. Two `event`
entities fire on every rep and every set (a repeated value changes no sensor state, an event
always fires). Velocity has no `speed` device class: Home Assistant would convert it to mph.
Only the all-time counters have a `state_class`: Home Assistant averages measurements over
time, which means nothing for "the last rep's eccentric" or "reps in this set".

The next set (athlete, load, tempo, leg; docs/prescriptions.md) is four controls: `text`,
`number` and `select` entities. Home Assistant publishes one plain value per field on
`{prefix}/{station}/next/set/{field}`; the station checks it, applies it to its next set and
publishes the whole retained `{prefix}/{station}/next` message, which is the controls' state.
A field command is not retained: only a running station hears it, so the controls are
unavailable while the station is offline (the dashboard and `repsled next` still work then).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware import __version__
from firmware.station.next_set import LEGS
from firmware.station.set_limits import MAX_ATHLETE_CHARS, MAX_LOAD_KG

log = logging.getLogger(__name__)

SUMMARY_SCHEMA = 1
TOTALS_SCHEMA = 1
MANUFACTURER = "repsled"
MODEL = "leg press rep counter"

# Where a Raspberry Pi says what it is; read at the edge, injectable in tests.
PI_MODEL_PATH = Path("/proc/device-tree/model")
PI_SERIAL_PATH = Path("/proc/device-tree/serial-number")
CPUINFO_PATH = Path("/proc/cpuinfo")
URL_RE = re.compile(r"https?://[^\s/?#]+[^\s]*")


@dataclass(frozen=True, slots=True)
class Entity:
    """One Home Assistant entity of a station; `field` is the summary field it shows."""

    key: str
    name: str
    field: str = ""
    component: str = "sensor"
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    icon: str | None = None
    precision: int | None = None
    options: tuple[str, ...] = ()
    entity_category: str | None = None


SENSORS: tuple[Entity, ...] = (
    Entity("reps", "Reps in set", "reps_in_set", icon="mdi:counter", precision=0),
    Entity("set", "Current set", "set", icon="mdi:numeric", precision=0),
    Entity("sets", "Finished sets", "sets", icon="mdi:format-list-numbered", precision=0),
    Entity(
        "eccentric_s",
        "Last eccentric",
        "last_eccentric_s",
        unit="s",
        device_class="duration",
        precision=1,
    ),
    Entity(
        "eccentric_score",
        "Last eccentric score",
        "last_eccentric_score",
        icon="mdi:bullseye-arrow",
        precision=0,
    ),
    Entity(
        "lockout",
        "Last lockout",
        "last_lockout",
        device_class="enum",
        icon="mdi:human-handsdown",
        options=("locked", "full", "partial"),
    ),
    Entity(
        "velocity",
        "Mean concentric velocity",
        "velocity_m_s",
        unit="m/s",
        icon="mdi:speedometer",
        precision=2,
    ),
    Entity(
        "peak_velocity",
        "Peak concentric velocity",
        "peak_velocity_m_s",
        unit="m/s",
        icon="mdi:speedometer",
        precision=2,
    ),
    Entity(
        "velocity_loss",
        "Velocity loss",
        "velocity_loss_pct",
        unit="%",
        icon="mdi:trending-down",
        precision=0,
    ),
    Entity(
        "time_under_tension",
        "Time under tension",
        "time_under_tension_s",
        unit="s",
        device_class="duration",
        precision=0,
    ),
    Entity("session", "Session", "session", icon="mdi:calendar-clock"),
    Entity("last_rep", "Last rep", "last_rep_at", device_class="timestamp"),
    Entity(
        "reps_total",
        "Reps (all time)",
        "reps_total",
        state_class="total_increasing",
        icon="mdi:counter",
        precision=0,
    ),
    Entity(
        "sets_total",
        "Sets (all time)",
        "sets_total",
        state_class="total_increasing",
        icon="mdi:format-list-numbered",
        precision=0,
    ),
)

CONNECTIVITY = Entity(
    "online",
    "Connection",
    component="binary_sensor",
    device_class="connectivity",
    entity_category="diagnostic",
)

# (key, name, topic kind): fired by every message on PREFIX/STATION/kind.
EVENTS: tuple[tuple[str, str, str], ...] = (
    ("rep_event", "Rep", "rep"),
    ("set_event", "Set", "set"),
)
# A rep payload that revises one sent before (its `revision` field, docs/payloads.md) fires
# this event type instead of `rep`, so an automation that counts reps counts each once.
REP_REVISED_EVENT = "rep_revised"


# The next-set controls: (key, component, name, next-set field, icon).
NEXT_CONTROLS: tuple[tuple[str, str, str, str, str], ...] = (
    ("next_athlete", "text", "Next athlete", "athlete", "mdi:account"),
    ("next_load", "number", "Next load", "load_kg", "mdi:weight-kilogram"),
    ("next_tempo", "text", "Next tempo", "tempo", "mdi:metronome"),
    ("next_leg", "select", "Next leg", "leg", "mdi:shoe-print"),
)
NEXT_FIELDS: tuple[str, ...] = tuple(field for _, _, _, field, _ in NEXT_CONTROLS)
# The dashboard's and Home Assistant's load steps: the smallest plates are 1.25 kg a side.
LOAD_STEP_KG = 2.5
# The tempo's shape (E-B-C-T or the compact 31X0, or empty for none), for Home Assistant's
# `pattern`; the station checks the rest (30 s maximum, X only for moving phases).
TEMPO_PART = r"([0-9]{1,2}(\.[0-9])?|[Xx])"
TEMPO_PATTERN = rf"^\s*$|^\s*{TEMPO_PART}\s*(-\s*{TEMPO_PART}\s*){{3}}$|^\s*[0-9Xx]{{4}}\s*$"
# Longest tempo text a control sends: four parts of "30.0" and spaces around the dashes.
MAX_TEMPO_CHARS = 32


def object_id(station: str) -> str:
    """The station as Home Assistant accepts it in topics and ids: [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", station)


def summary_topic(prefix: str, station: str) -> str:
    return f"{prefix}/{station}/summary"


def status_topic(prefix: str, station: str) -> str:
    return f"{prefix}/{station}/status"


def next_topic(prefix: str, station: str) -> str:
    """The retained next-set message (docs/prescriptions.md)."""
    return f"{prefix}/{station}/next"


def next_command_topic(prefix: str, station: str, field: str) -> str:
    """Where a Home Assistant control sends one next-set field as plain text."""
    return f"{prefix}/{station}/next/set/{field}"


def _next_control(prefix: str, station: str, component: str, field: str) -> dict[str, Any]:
    """State from the retained next message (null shows as empty or unknown), commands to the
    field's own topic, available while the station is online."""
    cfg: dict[str, Any] = {
        "state_topic": next_topic(prefix, station),
        "command_topic": next_command_topic(prefix, station, field),
        "qos": 1,
        "retain": False,
        "availability_topic": status_topic(prefix, station),
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    # `value_json is defined`: a cleared retained message (empty payload) is not JSON; the
    # station is then back to its config defaults, shown as empty, unknown and both legs.
    if component == "text":
        # A text entity has no "unknown": nobody and no tempo are the empty text, which the
        # station takes as null.
        cfg["value_template"] = (
            f"{{{{ value_json.{field} if value_json is defined "
            f"and value_json.{field} is not none else '' }}}}"
        )
        cfg["min"] = 0
        if field == "tempo":
            cfg["max"] = MAX_TEMPO_CHARS
            cfg["pattern"] = TEMPO_PATTERN
        else:
            cfg["max"] = MAX_ATHLETE_CHARS
    elif component == "number":
        # null renders "None", the number's default payload_reset: the value becomes unknown.
        # No device_class: Home Assistant would show (and send) pounds on some installations.
        cfg["value_template"] = f"{{{{ value_json.{field} if value_json is defined else None }}}}"
        cfg.update(min=0, max=MAX_LOAD_KG, step=LOAD_STEP_KG, mode="box", unit_of_measurement="kg")
    else:
        cfg["value_template"] = f"{{{{ value_json.{field} if value_json is defined else 'both' }}}}"
        cfg["options"] = list(LEGS)
    return cfg


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "replace").replace("\x00", "").strip() or None
    except OSError:
        return None


def hardware_info(
    model_path: Path = PI_MODEL_PATH,
    serial_path: Path = PI_SERIAL_PATH,
    cpuinfo_path: Path = CPUINFO_PATH,
) -> dict[str, str]:
    """`hw_version` (the Pi model) and `serial_number` where readable; {} elsewhere."""
    info: dict[str, str] = {}
    model = _read_text(model_path)
    if model:
        info["hw_version"] = model
    serial = _read_text(serial_path)
    if not serial:
        for line in (_read_text(cpuinfo_path) or "").splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "serial" and value.strip():
                serial = value.strip()
                break
    if serial:
        info["serial_number"] = serial
    return info


def device(
    station: str,
    sw_version: str = __version__,
    *,
    configuration_url: str | None = None,
    hardware: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    dev: dict[str, Any] = {
        "identifiers": [f"repsled_{object_id(station)}"],
        "name": f"repsled {station}",
        "model": MODEL,
        "manufacturer": MANUFACTURER,
        "sw_version": sw_version,
    }
    for key in ("hw_version", "serial_number"):
        if hardware and hardware.get(key):
            dev[key] = hardware[key]
    if configuration_url:
        # Home Assistant refuses the whole config for a malformed URL: leave it out instead.
        if URL_RE.fullmatch(configuration_url):
            dev["configuration_url"] = configuration_url
        else:
            log.warning(
                "[mqtt] dashboard_url: %r is not an http(s) URL; not announced",
                configuration_url[:200],
            )
    return dev


def config_messages(
    *,
    prefix: str,
    station: str,
    discovery_prefix: str,
    sw_version: str = __version__,
    configuration_url: str | None = None,
    hardware: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(topic, JSON) of every retained discovery config for this station.

    `hardware` defaults to what this machine says (hardware_info())."""
    oid = object_id(station)
    dev = device(
        station,
        sw_version,
        configuration_url=configuration_url,
        hardware=hardware_info() if hardware is None else hardware,
    )
    common = {"device": dev, "origin": {"name": "repsled", "sw_version": sw_version}}
    configs: list[tuple[str, str, dict[str, Any]]] = []
    for spec in SENSORS:
        cfg: dict[str, Any] = {
            "name": spec.name,
            "unique_id": f"repsled_{oid}_{spec.key}",
            "state_topic": summary_topic(prefix, station),
            "value_template": f"{{{{ value_json.{spec.field} }}}}",
        }
        configs.append(("sensor", spec.key, {**cfg, **_extras(spec), **common}))
    conn = {
        "name": CONNECTIVITY.name,
        "unique_id": f"repsled_{oid}_{CONNECTIVITY.key}",
        "state_topic": status_topic(prefix, station),
        "payload_on": "online",
        "payload_off": "offline",
    }
    configs.append(("binary_sensor", CONNECTIVITY.key, {**conn, **_extras(CONNECTIVITY), **common}))
    for key, name, kind in EVENTS:
        # Home Assistant wants `event_type`; every other field becomes an attribute.
        event_type = f"'{kind}'"
        event_types = [kind]
        if kind == "rep":
            event_type = f"('{REP_REVISED_EVENT}' if value_json.revision is defined else '{kind}')"
            event_types.append(REP_REVISED_EVENT)
        event = {
            "name": name,
            "unique_id": f"repsled_{oid}_{key}",
            "state_topic": f"{prefix}/{station}/{kind}",
            "event_types": event_types,
            "value_template": f"{{{{ dict(value_json, event_type={event_type}) | tojson }}}}",
            "icon": "mdi:weight-lifter",
        }
        configs.append(("event", key, {**event, **common}))
    for key, component, name, field, icon in NEXT_CONTROLS:
        control = {
            "name": name,
            "unique_id": f"repsled_{oid}_{key}",
            **_next_control(prefix, station, component, field),
            "icon": icon,
        }
        configs.append((component, key, {**control, **common}))
    return [
        (f"{discovery_prefix}/{component}/{oid}_{key}/config", _dumps(cfg))
        for component, key, cfg in configs
    ]


def _extras(spec: Entity) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.unit:
        out["unit_of_measurement"] = spec.unit
    if spec.device_class:
        out["device_class"] = spec.device_class
    if spec.state_class:
        out["state_class"] = spec.state_class
    if spec.precision is not None:
        out["suggested_display_precision"] = spec.precision
    if spec.icon:
        out["icon"] = spec.icon
    if spec.options:
        out["options"] = list(spec.options)
    if spec.entity_category:
        out["entity_category"] = spec.entity_category
    return out


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class Totals:
    """Reps and sets ever counted by this station, for the `total_increasing` sensors.

    Kept in a small JSON file when given a path (the station's state directory), so the
    counters survive restarts. `add` runs on the sampling thread and never touches the disk:
    a background thread writes the latest values (replacing the file atomically, without
    fsync). A power cut may lose the last increments or, at worst, reset the counters, which
    Home Assistant's `total_increasing` takes as a meter reset. A disk error is logged once
    and never stops counting.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.reps = 0
        self.sets = 0
        self._warned = False
        self._lock = threading.Lock()
        self._pending = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        if path is not None:
            self._load(path)
            threading.Thread(target=self._writer, name="repsled-totals", daemon=True).start()

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable (%s); the all-time counters start at 0", path, exc)
            return
        if isinstance(data, dict):
            for key in ("reps", "sets"):
                value = data.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    setattr(self, key, value)

    def add(self, *, reps: int = 0, sets: int = 0) -> None:
        with self._lock:
            self.reps += reps
            self.sets += sets
            if self.path is not None:
                self._idle.clear()
                self._pending.set()

    def flush(self, timeout_s: float = 2.0) -> bool:
        """Wait until the latest values are written (or could not be); False on timeout."""
        return self._idle.wait(timeout_s)

    def _writer(self) -> None:
        assert self.path is not None
        while True:
            self._pending.wait()
            with self._lock:
                self._pending.clear()
                body = {"schema": TOTALS_SCHEMA, "reps": self.reps, "sets": self.sets}
            self._save(self.path, body)
            with self._lock:
                if not self._pending.is_set():
                    self._idle.set()

    def _save(self, path: Path, body: dict[str, int]) -> None:
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            if not self._warned:
                log.warning("%s: cannot save the all-time counters: %s", path, exc)
                self._warned = True


def iso_utc(wall_time_s: float) -> str:
    """A wall-clock time as Home Assistant's timestamp sensors want it (ISO 8601, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(wall_time_s))


class Summary:
    """The latest numbers of a station's session, built from the payloads it publishes.

    Present from the session's start (counts 0, per-rep values null), so Home Assistant never
    shows the previous session's numbers as current.
    """

    def __init__(self, station: str, session: str, *, totals: Totals | None = None) -> None:
        self.station = station
        self.session = session
        self.totals = totals or Totals()
        self._sets = 0
        self._set_reps: list[dict[str, Any]] = []
        self._data: dict[str, Any] = {
            "schema": SUMMARY_SCHEMA,
            "station": station,
            "session": session,
            "set": 1,
            "reps_in_set": 0,
            "sets": 0,
            "last_eccentric_s": None,
            "last_eccentric_score": None,
            "last_lockout": None,
            "velocity_m_s": None,
            "peak_velocity_m_s": None,
            "velocity_loss_pct": None,
            "time_under_tension_s": None,
            "last_rep_at": None,
            "reps_total": self.totals.reps,
            "sets_total": self.totals.sets,
            "last_id": None,
        }

    def update_rep(self, rep: dict[str, Any], *, at_s: float | None = None) -> None:
        """Fold in a rep; `at_s` is the wall-clock time it was counted (default now)."""
        if self._set_reps and self._set_reps[-1]["set"] != rep["set"]:
            self._set_reps = []
        self._set_reps.append(rep)
        self.totals.add(reps=1)
        self._data.update(
            set=rep["set"],
            reps_in_set=rep["rep"],
            last_eccentric_s=rep["eccentric_s"],
            last_eccentric_score=rep["eccentric_score"],
            last_lockout=rep["lockout"],
            velocity_m_s=rep["mean_concentric_velocity_m_s"],
            peak_velocity_m_s=rep.get("peak_concentric_velocity_m_s"),
            velocity_loss_pct=_velocity_loss_pct(self._set_reps),
            time_under_tension_s=round(sum(_tension_s(r) for r in self._set_reps), 4),
            last_rep_at=iso_utc(time.time() if at_s is None else at_s),
            reps_total=self.totals.reps,
            last_id=rep["id"],
        )

    def revise_rep(self, rep: dict[str, Any]) -> None:
        """A rep sent before, revised (docs/payloads.md, `revision`): it replaces that rep
        in the set's figures, and the last rep's fields if it is the last; no rep more."""
        for i, kept in enumerate(self._set_reps):
            if kept["id"] == rep["id"]:
                self._set_reps[i] = rep
                break
        else:
            return  # a rep of a set already done: the set's own figures stand
        self._data.update(
            velocity_loss_pct=_velocity_loss_pct(self._set_reps),
            time_under_tension_s=round(sum(_tension_s(r) for r in self._set_reps), 4),
        )
        if self._data.get("last_id") == rep["id"]:
            self._data.update(
                last_eccentric_s=rep["eccentric_s"],
                last_eccentric_score=rep["eccentric_score"],
                last_lockout=rep["lockout"],
                velocity_m_s=rep["mean_concentric_velocity_m_s"],
                peak_velocity_m_s=rep.get("peak_concentric_velocity_m_s"),
            )

    def update_set(self, done: dict[str, Any]) -> None:
        """The set's own figures replace the running ones; its reps are the set's count."""
        self._sets = max(self._sets, int(done["set"]))
        self.totals.add(sets=1)
        self._data.update(
            set=done["set"],
            reps_in_set=done["reps"],
            sets=self._sets,
            velocity_loss_pct=done.get("velocity_loss_pct"),
            time_under_tension_s=done.get("time_under_tension_s"),
            sets_total=self.totals.sets,
            last_id=done["id"],
        )

    def data(self) -> dict[str, Any]:
        return dict(self._data)

    def payload(self) -> str:
        """The retained JSON."""
        return _dumps(self._data)


def _tension_s(rep: dict[str, Any]) -> float:
    """The engine's rule (docs/engine.md): a rep's whole span, pauses inside it included."""
    start, end = rep.get("t_start"), rep.get("t_end")
    if isinstance(start, int | float) and isinstance(end, int | float) and end > start:
        return float(end - start)
    return 0.0


def _velocity_loss_pct(reps: list[dict[str, Any]]) -> float | None:
    """Best to last rep of the set so far, as the engine reports it at the set's end."""
    vels = [r.get("mean_concentric_velocity_m_s") for r in reps]
    nums = [v for v in vels if isinstance(v, int | float)]
    if len(nums) < 2 or max(nums) <= 0:
        return None
    return round(100.0 * (max(nums) - nums[-1]) / max(nums), 1)
