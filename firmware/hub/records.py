"""What an incoming MQTT message is: a rep or set to store, kept aside, or malformed.

Pure functions, no I/O: the ingest loop decides what to do with each kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

KNOWN_SCHEMA = 1
KINDS = ("rep", "set")
SESSION_START = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


@dataclass(frozen=True, slots=True)
class Record:
    """A rep or set payload that passed the checks; `raw` is stored exactly as published."""

    kind: str
    payload: dict[str, Any]
    raw: str

    @property
    def id(self) -> str:
        return str(self.payload["id"])

    @property
    def revision(self) -> int:
        """0 for a rep or set as first sent; 1 for a rep revised (it replaces the stored one)."""
        value = self.payload.get("revision", 0)
        return value if _is_int(value) else 0


@dataclass(frozen=True, slots=True)
class Aside:
    """A payload with a schema this hub does not know: kept verbatim, never misread."""

    topic: str
    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class Malformed:
    topic: str
    reason: str


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _one_level(value: object) -> bool:
    return isinstance(value, str) and value != "" and not any(c in value for c in "/+#")


def classify(topic: str, payload: bytes, prefix: str) -> Record | Aside | Malformed:
    """Decide what one message on PREFIX/STATION/rep or PREFIX/STATION/set is."""
    parts = topic.split("/")
    if len(parts) != prefix.count("/") + 3 or "/".join(parts[:-2]) != prefix:
        return Malformed(topic, "not a PREFIX/STATION/rep or PREFIX/STATION/set topic")
    topic_station, kind = parts[-2], parts[-1]
    if kind not in KINDS:
        return Malformed(topic, f"unexpected topic kind {kind!r}")
    try:
        text = payload.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return Malformed(topic, f"not UTF-8 JSON ({str(exc)[:80]})")
    if "\x00" in text:
        return Malformed(topic, "contains a NUL character")
    if not isinstance(data, dict):
        return Malformed(topic, "not a JSON object")
    schema = data.get("schema")
    if schema != KNOWN_SCHEMA:
        if isinstance(schema, int) and not isinstance(schema, bool) and schema > KNOWN_SCHEMA:
            return Aside(topic, text, f"schema {schema} is newer than {KNOWN_SCHEMA}")
        return Malformed(topic, f"schema {schema!r} is not a known version")
    problem = _problem(data, kind, topic_station)
    if problem:
        return Malformed(topic, problem)
    return Record(kind, data, text)


def _problem(data: dict[str, Any], kind: str, topic_station: str) -> str | None:
    if data.get("type") != kind:
        return f"type {data.get('type')!r} on a {kind} topic"
    station, session = data.get("station"), data.get("session")
    if not _one_level(station) or station != topic_station:
        return f"station {station!r} does not match the topic's {topic_station!r}"
    if not _one_level(session):
        return f"session {session!r} is not one topic level"
    if not _is_int(data.get("set")) or data["set"] < 1:
        return f"set {data.get('set')!r} is not a positive integer"
    expected = f"{station}/{session}/s{data['set']}"
    if kind == "rep":
        if not _is_int(data.get("rep")) or data["rep"] < 1:
            return f"rep {data.get('rep')!r} is not a positive integer"
        expected += f"/r{data['rep']}"
        revision = data.get("revision", 0)
        if not _is_int(revision) or revision not in (0, 1):
            return f"revision {revision!r} is not 0 or 1"
    if data.get("id") != expected:
        return f"id {data.get('id')!r} is not {expected!r}"
    return None


def number(value: object) -> float | None:
    """A payload field as a float for the query columns; None when absent or not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def session_started_at(session: str, received_at: float) -> str:
    """The session's start, ISO UTC: from its name when it starts with one, else first seen."""
    match = SESSION_START.match(session)
    if match:
        try:
            year, month, day, hour, minute, second = (int(g) for g in match.groups())
            start = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            start = None
        if start is not None:
            return start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.fromtimestamp(received_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
