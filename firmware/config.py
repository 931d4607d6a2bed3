"""The config file (TOML): one schema, strict loading, one-line errors naming the key.

Every key, its type and its default live in `SCHEMA`; docs/config.md documents each and a
test keeps the two in step. Unknown keys are errors, so a typo never silently does nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware.station.set_limits import MAX_ATHLETE_CHARS, MAX_LOAD_KG
from firmware.vbt import DEFAULT_MVT_M_S

if TYPE_CHECKING:
    from firmware.station.next_set import NextSet
    from tempo.settings import EngineSettings

CONFIG_VERSION = 1

# Physical and protocol limits behind the plausible ranges below.
MIN_TIMING_BUDGET_MS = 20  # the VL53L0X refuses a shorter ranging budget
MAX_TIMING_BUDGET_MS = 500  # 2 Hz: slower cannot time a lowering of a few seconds
MAX_SENSOR_READING_MM = 2000  # the VL53L0X's long-range limit; farther is "out of range"
MAX_BCM_GPIO = 27  # the highest GPIO on the Raspberry Pi's 40-pin header
I2C_FIRST_ADDRESS, I2C_LAST_ADDRESS = 0x08, 0x77  # 7-bit addresses outside the reserved ones
MAX_TCP_PORT = 65535
MAX_TOPIC_LEVEL_CHARS = 64  # a station name: short enough to read on the dashboard
MAX_TOPIC_CHARS = 128
MAX_HOST_CHARS = 253  # the DNS limit of a host name
MAX_TEXT_CHARS = 4096  # file paths and the like; Linux's PATH_MAX
MAX_CONFIG_BYTES = 1_000_000  # a real config is a few kB
SHOWN_CHARS = 40  # how much of a bad value or key an error line repeats

MAX_TARGET_VELOCITY_M_S = 3.0  # the largest [vbt] target_velocity_m_s: no leg press set aims faster


class ConfigError(Exception):
    """One line: `FILE: [section] key: problem`."""


Number = int | float


@dataclass(frozen=True, slots=True)
class Key:
    """One config key. `range` (inclusive) bounds a number to what is physically plausible;
    strings are at most `max_chars` long and never hold control characters; `form` asks more
    of some: "level" (one MQTT topic level), "levels" (levels joined by '/'), "host" (a
    host name or address: no spaces)."""

    types: tuple[type, ...]
    default: Any
    doc: str
    choices: tuple[Any, ...] = ()
    range: tuple[Number, Number] | None = None
    max_chars: int = MAX_TEXT_CHARS
    form: str = ""


_NUM = (int, float)
_OPT_STR = (str, type(None))
_GPIO = (0, MAX_BCM_GPIO)

SCHEMA: dict[str, dict[str, Key]] = {
    "": {
        "version": Key(
            (int,), CONFIG_VERSION, "config format version", range=(CONFIG_VERSION, CONFIG_VERSION)
        )
    },
    "sled": {
        "bottom_mm": Key(
            _NUM,
            150,
            "reading at the bottom of a full rep, knees bent",
            range=(0, MAX_SENSOR_READING_MM),
        ),
        "lockout_mm": Key(
            _NUM,
            520,
            "reading at full knee extension, knees locked",
            range=(0, MAX_SENSOR_READING_MM),
        ),
        "start": Key(
            (str,), "bottom", "side where reps start and the sled parks", ("bottom", "top")
        ),
    },
    "tempo": {
        "target_eccentric_s": Key(_NUM, 3.0, "target duration of the lowering", range=(0.5, 20)),
        "fast_margin_s": Key(
            _NUM, 1.0, "eccentric shorter than target minus this is too fast", range=(0, 20)
        ),
    },
    "lockout": {
        "partial_below": Key(
            _NUM, 0.80, "rep travel under this fraction of the ROM is partial", range=(0.1, 0.99)
        ),
        "locked_above": Key(
            _NUM, 0.97, "lockout-side turning point past this fraction locked", range=(0.5, 1.2)
        ),
    },
    "sets": {
        "rest_s": Key(_NUM, 8.0, "rest on the start side that ends a set", range=(1, 600)),
    },
    "sensor": {
        "kind": Key((str,), "vl53l0x", 'real "vl53l0x" or "fake:TRACE.csv"'),
        "bus": Key((int,), 1, "I2C bus number (/dev/i2c-N)", range=(0, 255)),
        "address": Key(
            (int,), 0x29, "I2C address of the sensor", range=(I2C_FIRST_ADDRESS, I2C_LAST_ADDRESS)
        ),
        "timing_budget_ms": Key(
            _NUM,
            33,
            "ranging timing budget: longer is less noisy but slower",
            range=(MIN_TIMING_BUDGET_MS, MAX_TIMING_BUDGET_MS),
        ),
        "io_timeout_s": Key(
            _NUM,
            0.5,
            "longest wait for one reading before it counts as a fault",
            range=(0.05, 10),
        ),
        "ready_pin": Key(
            (int, type(None)),
            None,
            "GPIO (BCM) pin wired to the sensor's GPIO1 (data ready)",
            range=_GPIO,
        ),
    },
    "cues": {
        "buzzer": Key((str,), "active", "buzzer kind", ("active", "tonal", "none")),
        "pin": Key((int,), 17, "GPIO (BCM) pin of the buzzer", range=_GPIO),
        "quiet": Key((bool,), False, "no sound at all"),
        "rep": Key((bool,), True, "short beep when a rep is counted"),
        "fast_eccentric": Key((bool,), True, "warning when the lowering was too fast"),
        "locked_knees": Key((bool,), True, "warning when the knees locked"),
        "partial": Key((bool,), True, "signal for a partial rep"),
        "set_done": Key((bool,), True, "signal when a set ends"),
        "metronome": Key((bool,), False, "tick each second of the lowering"),
        "velocity_loss": Key((bool,), True, "signal when velocity loss passes the threshold"),
        "velocity_loss_pct": Key(
            (int, float, type(None)),
            None,
            "old spelling of [vbt] stop_at_velocity_loss_pct",
            range=(1, 99),
        ),
        "short_pause": Key((bool,), True, "warning when a prescribed pause was cut short"),
        "load_too_light": Key((bool,), True, "first rep faster than [vbt] target_velocity_m_s"),
        "load_too_heavy": Key((bool,), True, "first rep slower than [vbt] target_velocity_m_s"),
        "sensor_fault": Key((bool,), True, "signal when the sensor fails"),
    },
    "button": {
        "pin": Key(
            (int, type(None)), None, "GPIO (BCM) pin of the optional push button", range=_GPIO
        ),
        "long_press_s": Key(_NUM, 1.0, "hold this long to end the set now", range=(0.2, 10)),
    },
    "mqtt": {
        "host": Key(
            _OPT_STR, None, "broker host; absent: no MQTT", max_chars=MAX_HOST_CHARS, form="host"
        ),
        "port": Key((int,), 1883, "broker port", range=(1, MAX_TCP_PORT)),
        "station": Key(
            _OPT_STR,
            None,
            "station name in topics; default: the host name",
            max_chars=MAX_TOPIC_LEVEL_CHARS,
            form="level",
        ),
        "topic_prefix": Key(
            (str,), "repsled", "first topic level", max_chars=MAX_TOPIC_CHARS, form="levels"
        ),
        "protocol": Key((str,), "3.1.1", "MQTT protocol version", ("3.1.1", "5")),
        "username": Key(_OPT_STR, None, "user name", max_chars=MAX_TOPIC_CHARS),
        "password_file": Key(_OPT_STR, None, "file holding the password (never in this file)"),
        "ca_file": Key(_OPT_STR, None, "CA certificate: setting it turns TLS on"),
        "cert_file": Key(_OPT_STR, None, "client certificate for TLS"),
        "key_file": Key(_OPT_STR, None, "client key for TLS"),
        "keepalive": Key((int,), 60, "keepalive seconds", range=(5, 3600)),
        "discovery": Key((bool,), True, "publish Home Assistant discovery configs"),
        "discovery_prefix": Key(
            (str,),
            "homeassistant",
            "Home Assistant discovery prefix",
            max_chars=MAX_TOPIC_CHARS,
            form="levels",
        ),
        "dashboard_url": Key(
            _OPT_STR, None, "dashboard or hub URL shown in Home Assistant", max_chars=2048
        ),
    },
    "athlete": {
        "name": Key(
            _OPT_STR,
            None,
            "who lifts when no next-set message says otherwise",
            max_chars=MAX_ATHLETE_CHARS,
        ),
        "load_kg": Key(
            (int, float, type(None)),
            None,
            "load on the sled (plates plus the sled itself)",
            range=(0, MAX_LOAD_KG),
        ),
    },
    "vbt": {
        "mvt_m_s": Key(
            _NUM,
            DEFAULT_MVT_M_S,
            "mean velocity at a one-rep maximum, for e1RM",
            range=(0.01, 0.99),
        ),
        "target_velocity_m_s": Key(
            (int, float, type(None)),
            None,
            "mean velocity today's sets aim for, if any",
            range=(0.01, MAX_TARGET_VELOCITY_M_S),
        ),
        "stop_at_velocity_loss_pct": Key(
            _NUM, 20.0, "velocity loss that means stop the set", range=(1, 99)
        ),
    },
    "storage": {
        "state_dir": Key(_OPT_STR, None, "outbox directory; default $STATE_DIRECTORY or XDG"),
        "outbox_max": Key(
            (int,),
            200_000,
            "messages kept unsent at most; oldest dropped past it",
            range=(100, 2_000_000),
        ),
    },
    "hub": {
        "db": Key(_OPT_STR, None, "history database URL; absent: SQLite in the state directory"),
        "broker": Key((str,), "mqtt://127.0.0.1:1883", "broker the hub subscribes to"),
        "broker_ws": Key(_OPT_STR, None, "broker WebSockets URL for the live page"),
        "bind": Key((str,), "127.0.0.1", "address the hub's web pages listen on", form="host"),
        "port": Key((int,), 8080, "HTTP port of the hub's web pages", range=(1, MAX_TCP_PORT)),
        "client_id": Key(
            (str,),
            "repsled-hub",
            "MQTT client id: one per hub, fixed",
            max_chars=MAX_TOPIC_LEVEL_CHARS,
        ),
        "username": Key(_OPT_STR, None, "MQTT user name of the hub", max_chars=MAX_TOPIC_CHARS),
        "password_file": Key(_OPT_STR, None, "file holding the hub's MQTT password"),
        "page_user": Key(
            _OPT_STR,
            None,
            "broker user the live page logs in as (dashboard)",
            max_chars=MAX_TOPIC_CHARS,
        ),
        "page_password_file": Key(_OPT_STR, None, "file holding that user's password"),
    },
}


def _no_next_set() -> NextSet:
    from firmware.station.next_set import NextSet  # noqa: PLC0415 (see parse)

    return NextSet()


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
    vbt: dict[str, Any] = field(default_factory=lambda: _defaults("vbt"))
    # The `[athlete]` table as a next set: what a station follows until a message says more.
    next_set_defaults: NextSet = field(default_factory=_no_next_set)

    @property
    def station(self) -> str:
        if self.mqtt["station"]:
            return str(self.mqtt["station"])
        import socket  # noqa: PLC0415 - only when no station name is set

        return socket.gethostname()


def shown(value: Any) -> str:
    """A value or key as an error line repeats it: escaped, cut, never a whole document."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a huge integer"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def range_text(spec: Key) -> str:
    """The plausible range as docs/config.md prints it, e.g. "1 to 65535"."""
    if spec.range is None:
        return ""
    lo, hi = spec.range
    return _number(lo) if lo == hi else f"{_number(lo)} to {_number(hi)}"


def _number(value: Number) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _shown_key(key: str) -> str:
    """A key from the file as written when it is plain, else escaped and cut."""
    plain = key and key.isprintable() and key.strip() == key and len(key) <= SHOWN_CHARS
    return key if plain else shown(key)


def _text_problem(spec: Key, value: str) -> str | None:
    if len(value) > spec.max_chars:
        return f"is {len(value)} characters long, more than {spec.max_chars}"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return f"must not hold control characters, not {shown(value)}"
    if spec.form == "level":
        if not value or any(c in value for c in "/+#") or any(c.isspace() for c in value):
            return f"{shown(value)} cannot be a topic level (no '/', '+', '#' or spaces)"
    elif spec.form == "levels":
        levels = value.split("/")
        if any(not lv or "+" in lv or "#" in lv or lv.strip() != lv for lv in levels):
            return (
                f"{shown(value)} cannot start MQTT topics (no empty levels, no '+' or '#', "
                "no spaces around a level)"
            )
    elif spec.form == "host" and (not value or any(c.isspace() for c in value)):
        return f"{shown(value)} is not a host name or address"
    return None


def _defaults(section: str) -> dict[str, Any]:
    return {key: spec.default for key, spec in SCHEMA[section].items()}


def _check_vbt(
    source: str, vbt: dict[str, Any], cues: dict[str, Any], given: dict[str, Any]
) -> None:
    """`[vbt]` rules between keys; `[cues] velocity_loss_pct`, the old spelling, sets the stop."""
    mvt = vbt["mvt_m_s"]
    target = vbt["target_velocity_m_s"]
    if target is not None and target <= mvt:
        raise ConfigError(
            f"{source}: [vbt] target_velocity_m_s: {target!r} m/s: must be above mvt_m_s ({mvt:g})"
        )
    old = cues["velocity_loss_pct"]
    new = given.get("vbt", {}).get("stop_at_velocity_loss_pct")
    if old is not None and new is not None and old != new:
        raise ConfigError(
            f"{source}: [cues] velocity_loss_pct ({old:g}) and [vbt] stop_at_velocity_loss_pct "
            f"({new:g}) disagree: keep only the [vbt] one"
        )
    if old is not None and new is None:
        vbt["stop_at_velocity_loss_pct"] = old
    cues["velocity_loss_pct"] = vbt["stop_at_velocity_loss_pct"]  # the cue player reads it there


def _check_value(where: str, key: str, spec: Key, value: Any) -> Any:
    if isinstance(value, bool) and bool not in spec.types:
        raise ConfigError(f"{where}{key}: expected a number, got {value!r}")
    if not isinstance(value, spec.types):
        names = " or ".join(t.__name__ for t in spec.types if t is not type(None))
        kind = type(value).__name__
        raise ConfigError(f"{where}{key}: expected {names}, got {kind} {shown(value)}")
    if spec.choices and value not in spec.choices:
        options = ", ".join(repr(c) for c in spec.choices)
        raise ConfigError(f"{where}{key}: must be one of {options}, not {shown(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool) and spec.range:
        lo, hi = spec.range
        if not lo <= value <= hi:  # also refuses nan, inf and 10**400
            raise ConfigError(
                f"{where}{key}: must be between {_number(lo)} and {_number(hi)}, not {shown(value)}"
            )
    if isinstance(value, str):
        problem = _text_problem(spec, value)
        if problem:
            raise ConfigError(f"{where}{key}: {problem}")
    return value


def _check_version(source: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value != CONFIG_VERSION:
        raise ConfigError(
            f"{source}: version: {shown(value)} is not supported "
            f"(this repsled reads version {CONFIG_VERSION})"
        )
    return _check_value(f"{source}: ", "version", SCHEMA[""]["version"], value)


def _check_section(source: str, name: str, value: Any) -> dict[str, Any]:
    """One table of the document, checked key by key, with the defaults for what it omits."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {name}: must be a table ([{name}]), not a value")
    keys = SCHEMA[name]
    section = {k: spec.default for k, spec in keys.items()}
    for key, item in value.items():
        if key not in keys:
            known = ", ".join(keys)
            raise ConfigError(f"{source}: [{name}] {_shown_key(key)}: unknown key (known: {known})")
        section[key] = _check_value(f"{source}: [{name}] ", key, keys[key], item)
    return section


def _check_sensor(source: str, sensor: dict[str, Any]) -> dict[str, Any]:
    if sensor["io_timeout_s"] * 1000 <= sensor["timing_budget_ms"]:
        raise ConfigError(
            f"{source}: [sensor] io_timeout_s: ({sensor['io_timeout_s']:g} s) must be longer "
            f"than timing_budget_ms ({sensor['timing_budget_ms']:g} ms), or every reading "
            "times out"
        )
    return sensor


def sensor_section(data: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """The `[sensor]` table alone, checked as `parse` checks it (with the version).

    `repsled run` starts the chip with it, then checks the rest while the chip takes its
    first measurement; `parse` checks the table again, so nothing is skipped.
    """
    if "version" in data and not isinstance(data["version"], dict):
        _check_version(source, data["version"])
    return _check_sensor(source, _check_section(source, "sensor", data.get("sensor", {})))


def parse(data: dict[str, Any], source: str = "config") -> Config:
    """Validate a parsed TOML document; `source` names the file in errors."""
    # Here, not at the top: `repsled run` starts the sensor (sensor_section) before these
    # load, so that the chip measures while they do.
    from firmware.station.next_set import NextSetError, from_config  # noqa: PLC0415
    from tempo.settings import EngineSettings, SettingsError  # noqa: PLC0415

    sections: dict[str, dict[str, Any]] = {
        name: {k: spec.default for k, spec in keys.items()} for name, keys in SCHEMA.items()
    }
    for name, value in data.items():
        if name in SCHEMA and name != "":
            sections[name] = _check_section(source, name, value)
        elif isinstance(value, dict):
            raise ConfigError(f"{source}: [{_shown_key(name)}]: unknown section")
        elif name == "version":
            sections[""][name] = _check_version(source, value)
        else:
            raise ConfigError(
                f"{source}: {_shown_key(name)}: unknown top-level key (sections: [sled], ...)"
            )
    _check_sensor(source, sections["sensor"])
    _check_vbt(source, sections["vbt"], sections["cues"], data)
    try:
        next_set_defaults = from_config(sections["athlete"])
    except NextSetError as exc:
        raise ConfigError(f"{source}: {exc}") from None
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
        vbt=sections["vbt"],
        next_set_defaults=next_set_defaults,
    )


def read(path: str | Path | None) -> dict[str, Any]:
    """A config file's TOML document, not yet validated; one-line errors naming the file.
    No file (None) is the empty document: the defaults."""
    if path is None:
        return {}
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{p}: larger than {MAX_CONFIG_BYTES} bytes: not a config file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise ConfigError(f"{p}: not valid TOML: {str(exc).split(':', 1)[0]}") from None
    except RecursionError:
        raise ConfigError(f"{p}: not valid TOML: arrays or tables nested too deeply") from None


def source_name(path: Path | None) -> str:
    """What errors call the config `read` from `path`."""
    return "defaults" if path is None else str(path)


def parse_file(data: dict[str, Any], path: Path | None) -> Config:
    """`parse` for a document `read` from `path`: errors name the file, the config knows it."""
    cfg = parse(data, source_name(path))
    return cfg if path is None else replace(cfg, path=path)


def load(path: str | Path | None) -> Config:
    """Read and validate a config file; None gives the defaults."""
    p = None if path is None else Path(path)
    return parse_file(read(p), p)


def choose(explicit: Path | None, trace: Path | None) -> tuple[Path | None, str]:
    """The config a command reads, and why: `--config` if given, else the .toml beside the trace
    being replayed (`replay TRACE`, `run --sensor fake:TRACE`), else the built-in defaults.

    One rule for every command, so a trace counts the same whichever way it is played.
    """
    if explicit is not None:
        return explicit, f"config {explicit} (--config)"
    if trace is not None:
        beside = trace.with_suffix(".toml")
        if beside.is_file():
            return beside, f"config {beside} (beside the trace)"
        return None, f"built-in defaults (no --config, no {beside.name} beside the trace)"
    return None, "built-in defaults (no --config)"
