"""The config file (TOML): one schema, strict loading, one-line errors naming the key.

Every key, its type and its default live in `SCHEMA`; docs/config.md documents each and a
test keeps the two in step. Unknown keys are errors, so a typo never silently does nothing.
"""

from __future__ import annotations

import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempo.settings import EngineSettings, SettingsError

CONFIG_VERSION = 1
MIN_TIMING_BUDGET_MS = 20


class ConfigError(Exception):
    """One line: `FILE: [section] key: problem`."""


@dataclass(frozen=True, slots=True)
class Key:
    types: tuple[type, ...]
    default: Any
    doc: str
    choices: tuple[Any, ...] = ()


_NUM = (int, float)
_OPT_STR = (str, type(None))

SCHEMA: dict[str, dict[str, Key]] = {
    "": {"version": Key((int,), CONFIG_VERSION, "config format version")},
    "sled": {
        "bottom_mm": Key(_NUM, 150, "reading at the bottom of a full rep, knees bent"),
        "lockout_mm": Key(_NUM, 520, "reading at full knee extension, knees locked"),
        "start": Key(
            (str,), "bottom", "side where reps start and the sled parks", ("bottom", "top")
        ),
    },
    "tempo": {
        "target_eccentric_s": Key(_NUM, 3.0, "target duration of the lowering"),
        "fast_margin_s": Key(_NUM, 1.0, "eccentric shorter than target minus this is too fast"),
    },
    "lockout": {
        "partial_below": Key(_NUM, 0.80, "rep travel under this fraction of the ROM is partial"),
        "locked_above": Key(_NUM, 0.97, "lockout-side turning point past this fraction locked"),
    },
    "sets": {
        "rest_s": Key(_NUM, 8.0, "rest on the start side that ends a set"),
    },
    "sensor": {
        "kind": Key((str,), "vl53l0x", 'real "vl53l0x" or "fake:TRACE.csv"'),
        "bus": Key((int,), 1, "I2C bus number (/dev/i2c-N)"),
        "address": Key((int,), 0x29, "I2C address of the sensor"),
        "timing_budget_ms": Key(_NUM, 33, "ranging timing budget, at least 20 ms"),
        "io_timeout_s": Key(_NUM, 0.5, "longest wait for one reading before it counts as a fault"),
        "ready_pin": Key(
            (int, type(None)), None, "GPIO (BCM) pin wired to the sensor's GPIO1 (data ready)"
        ),
    },
    "cues": {
        "buzzer": Key((str,), "active", "buzzer kind", ("active", "tonal", "none")),
        "pin": Key((int,), 17, "GPIO (BCM) pin of the buzzer"),
        "quiet": Key((bool,), False, "no sound at all"),
        "rep": Key((bool,), True, "short beep when a rep is counted"),
        "fast_eccentric": Key((bool,), True, "warning when the lowering was too fast"),
        "locked_knees": Key((bool,), True, "warning when the knees locked"),
        "partial": Key((bool,), True, "signal for a partial rep"),
        "set_done": Key((bool,), True, "signal when a set ends"),
        "metronome": Key((bool,), False, "tick each second of the lowering"),
        "velocity_loss": Key((bool,), True, "signal when velocity loss passes the threshold"),
        "velocity_loss_pct": Key(_NUM, 20.0, "velocity loss threshold in percent"),
        "sensor_fault": Key((bool,), True, "signal when the sensor fails"),
    },
    "button": {
        "pin": Key((int, type(None)), None, "GPIO (BCM) pin of the optional push button"),
        "long_press_s": Key(_NUM, 1.0, "hold this long to end the set now"),
    },
    "mqtt": {
        "host": Key(_OPT_STR, None, "broker host; absent: no MQTT"),
        "port": Key((int,), 1883, "broker port"),
        "station": Key(_OPT_STR, None, "station name in topics; default: the host name"),
        "topic_prefix": Key((str,), "repsled", "first topic level"),
        "protocol": Key((str,), "3.1.1", "MQTT protocol version", ("3.1.1", "5")),
        "username": Key(_OPT_STR, None, "user name"),
        "password_file": Key(_OPT_STR, None, "file holding the password (never in this file)"),
        "ca_file": Key(_OPT_STR, None, "CA certificate: setting it turns TLS on"),
        "cert_file": Key(_OPT_STR, None, "client certificate for TLS"),
        "key_file": Key(_OPT_STR, None, "client key for TLS"),
        "keepalive": Key((int,), 60, "keepalive seconds"),
        "discovery": Key((bool,), True, "publish Home Assistant discovery configs"),
        "discovery_prefix": Key((str,), "homeassistant", "Home Assistant discovery prefix"),
    },
    "storage": {
        "state_dir": Key(_OPT_STR, None, "outbox directory; default $STATE_DIRECTORY or XDG"),
        "outbox_max": Key((int,), 200_000, "messages kept unsent at most; oldest dropped past it"),
    },
}


@dataclass(frozen=True, slots=True)
class Config:
    """The whole config; sections as plain dicts after validation, the engine's as settings."""

    engine: EngineSettings
    sensor: dict[str, Any]
    cues: dict[str, Any]
    button: dict[str, Any]
    mqtt: dict[str, Any]
    storage: dict[str, Any]
    path: Path | None = None
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def station(self) -> str:
        return self.mqtt["station"] or socket.gethostname()


def _check_value(where: str, key: str, spec: Key, value: Any) -> Any:
    if isinstance(value, bool) and bool not in spec.types:
        raise ConfigError(f"{where}{key}: expected a number, got {value!r}")
    if not isinstance(value, spec.types):
        names = " or ".join(t.__name__ for t in spec.types if t is not type(None))
        raise ConfigError(f"{where}{key}: expected {names}, got {type(value).__name__} {value!r}")
    if spec.choices and value not in spec.choices:
        options = ", ".join(repr(c) for c in spec.choices)
        raise ConfigError(f"{where}{key}: must be one of {options}, not {value!r}")
    return value


def parse(data: dict[str, Any], source: str = "config") -> Config:
    """Validate a parsed TOML document; `source` names the file in errors."""
    sections: dict[str, dict[str, Any]] = {
        name: {k: spec.default for k, spec in keys.items()} for name, keys in SCHEMA.items()
    }
    for name, value in data.items():
        if isinstance(value, dict):
            if name not in SCHEMA or name == "":
                raise ConfigError(f"{source}: [{name}]: unknown section")
            for key, item in value.items():
                if key not in SCHEMA[name]:
                    known = ", ".join(SCHEMA[name])
                    raise ConfigError(f"{source}: [{name}] {key}: unknown key (known: {known})")
                where = f"{source}: [{name}] "
                sections[name][key] = _check_value(where, key, SCHEMA[name][key], item)
        elif name in SCHEMA[""]:
            sections[""][name] = _check_value(f"{source}: ", name, SCHEMA[""][name], value)
        else:
            raise ConfigError(f"{source}: {name}: unknown top-level key (sections: [sled], ...)")
    if sections[""]["version"] != CONFIG_VERSION:
        raise ConfigError(
            f"{source}: version: {sections['']['version']} is not supported "
            f"(this repsled reads version {CONFIG_VERSION})"
        )
    if sections["sensor"]["timing_budget_ms"] < MIN_TIMING_BUDGET_MS:
        raise ConfigError(
            f"{source}: [sensor] timing_budget_ms: {sections['sensor']['timing_budget_ms']} ms "
            f"is under the chip's minimum of {MIN_TIMING_BUDGET_MS} ms"
        )
    if sections["sensor"]["io_timeout_s"] <= 0:
        raise ConfigError(f"{source}: [sensor] io_timeout_s: must be positive (0 waits forever)")
    if sections["storage"]["outbox_max"] < 1:
        raise ConfigError(f"{source}: [storage] outbox_max: must be at least 1")
    try:
        engine = EngineSettings(
            bottom_mm=float(sections["sled"]["bottom_mm"]),
            lockout_mm=float(sections["sled"]["lockout_mm"]),
            start=sections["sled"]["start"],
            target_eccentric_s=float(sections["tempo"]["target_eccentric_s"]),
            fast_margin_s=float(sections["tempo"]["fast_margin_s"]),
            partial_below=float(sections["lockout"]["partial_below"]),
            locked_above=float(sections["lockout"]["locked_above"]),
            rest_s=float(sections["sets"]["rest_s"]),
        )
    except SettingsError as exc:
        section, _, key = exc.key.partition(".")
        raise ConfigError(f"{source}: [{section}] {key}: {str(exc).split(': ', 1)[1]}") from None
    return Config(
        engine=engine,
        sensor=sections["sensor"],
        cues=sections["cues"],
        button=sections["button"],
        mqtt=sections["mqtt"],
        storage=sections["storage"],
        raw=sections,
    )


def load(path: str | Path | None) -> Config:
    """Read and validate a config file; None gives the defaults."""
    if path is None:
        return parse({}, "defaults")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    cfg = parse(data, str(p))
    return Config(
        engine=cfg.engine,
        sensor=cfg.sensor,
        cues=cfg.cues,
        button=cfg.button,
        mqtt=cfg.mqtt,
        storage=cfg.storage,
        path=p,
        raw=cfg.raw,
    )
