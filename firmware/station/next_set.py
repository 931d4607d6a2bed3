"""The station's "next set": who lifts, what load, which leg, what tempo (docs/prescriptions.md).

It arrives as a retained JSON message on `PREFIX/STATION/next` (from the dashboard, Home
Assistant or `repsled next`). A message is either valid as a whole or ignored with a reason:
the previous next set stays. What the station received last is kept in the state directory,
so a restart without a broker still knows it.

It applies from the next rep that starts a set, never halfway through one: `NextSetTracker`
binds each set number to the next set current at its first rep, as `LegTracker` does for
the button's leg.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from firmware.publishing.payloads import Leg, dumps
from firmware.station.set_limits import MAX_ATHLETE_CHARS, MAX_LOAD_KG
from tempo.prescription import TempoError, TempoPrescription, parse_tempo

log = logging.getLogger(__name__)

NEXT_SCHEMA = 1
MESSAGE_TYPE = "next"
STATE_FILENAME = "next_set.json"
LEGS: tuple[Leg, ...] = ("both", "left", "right")
FIELDS = ("type", "schema", "athlete", "load_kg", "leg", "tempo")

# A next-set message is a few dozen bytes; anything much larger is not one of ours.
MAX_MESSAGE_BYTES = 1024
# Besides letters (any script) and digits, names may use these: "Ana-Lu", "J. O'Neil", "bob_2".
ATHLETE_PUNCTUATION = " .'-_"
LOAD_DECIMALS = 2


class NextSetError(ValueError):
    """Why a next-set message was ignored: one line naming the field."""


@dataclass(frozen=True, slots=True)
class NextSet:
    """The prescription for the sets to come; None means not given (no athlete, no tempo)."""

    athlete: str | None = None
    load_kg: float | None = None
    leg: Leg = "both"
    tempo: TempoPrescription | None = None

    def to_message(self) -> dict[str, Any]:
        """The JSON object published on `PREFIX/STATION/next` and kept on disk."""
        return {
            "type": MESSAGE_TYPE,
            "schema": NEXT_SCHEMA,
            "athlete": self.athlete,
            "load_kg": self.load_kg,
            "leg": self.leg,
            "tempo": None if self.tempo is None else self.tempo.text,
        }

    def stamp(self) -> dict[str, Any]:
        """The fields every rep and set payload of a set carries."""
        return {
            "athlete": self.athlete,
            "load_kg": self.load_kg,
            "tempo": None if self.tempo is None else self.tempo.text,
        }

    def with_field(self, name: str, value: object) -> NextSet:
        """A copy with one field changed and checked, as a Home Assistant `select`, `number`
        or `text` entity sets one value at a time; NextSetError for a bad name or value."""
        checks: dict[str, Callable[[object], Any]] = {
            "athlete": check_athlete,
            "load_kg": check_load_kg,
            "leg": check_leg,
            "tempo": check_tempo,
        }
        if name not in checks:
            raise NextSetError(f"{name!r} is not a next-set field (athlete, load_kg, leg, tempo)")
        return replace(self, **{name: checks[name](value)})

    def describe(self) -> str:
        """Short text for log lines."""
        tempo = self.tempo.text if self.tempo else "none"
        load = "unknown" if self.load_kg is None else f"{self.load_kg:g} kg"
        return f"athlete {self.athlete or 'none'}, load {load}, leg {self.leg}, tempo {tempo}"


def check_athlete(value: object) -> str | None:
    """A display name (NFC-normalised, outer spaces dropped) or None; NextSetError otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise NextSetError(f"athlete: expected a name or null, got {type(value).__name__}")
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise NextSetError("athlete: empty name (use null for nobody)")
    if len(name) > MAX_ATHLETE_CHARS:
        raise NextSetError(f"athlete: {len(name)} characters, at most {MAX_ATHLETE_CHARS}")
    bad = sorted({c for c in name if not (c.isalnum() or c in ATHLETE_PUNCTUATION)})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise NextSetError(
            f"athlete: {name!r} has characters not allowed in a name: {shown} "
            "(letters, digits, space and . ' - _ are)"
        )
    return name


def check_load_kg(value: object) -> float | None:
    """Kilograms on the sled (plates plus sled), over 0 and at most MAX_LOAD_KG, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NextSetError(f"load_kg: expected a number of kg or null, got {value!r}")
    load = float(value)
    if not math.isfinite(load):
        raise NextSetError(f"load_kg: {value!r} is not a finite number")
    if load <= 0:
        raise NextSetError(f"load_kg: {load:g} kg: must be more than 0 (the sled itself counts)")
    if load > MAX_LOAD_KG:
        raise NextSetError(f"load_kg: {load:g} kg is over the {MAX_LOAD_KG:g} kg maximum")
    return round(load, LOAD_DECIMALS)


def check_leg(value: object) -> Leg:
    if value not in LEGS:
        raise NextSetError(f"leg: must be one of {', '.join(LEGS)}, not {value!r}")
    return cast(Leg, value)


def check_tempo(value: object) -> TempoPrescription | None:
    if value is None:
        return None
    try:
        return parse_tempo(value)
    except TempoError as exc:
        raise NextSetError(str(exc)) from None


def from_message(data: object) -> NextSet:
    """Validate a decoded message: every field present, none unknown, each checked."""
    if not isinstance(data, dict):
        raise NextSetError(f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        shown = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise NextSetError(f"unknown field(s) {shown} (known: {', '.join(FIELDS)})")
    missing = [f for f in FIELDS if f not in data]
    if missing:
        raise NextSetError(f"missing field(s) {', '.join(missing)}")
    if data["type"] != MESSAGE_TYPE:
        raise NextSetError(f"type: expected {MESSAGE_TYPE!r}, got {data['type']!r}")
    schema = data["schema"]
    if schema != NEXT_SCHEMA or isinstance(schema, bool):
        raise NextSetError(
            f"schema {schema!r} is not supported (this repsled reads schema {NEXT_SCHEMA})"
        )
    return NextSet(
        athlete=check_athlete(data["athlete"]),
        load_kg=check_load_kg(data["load_kg"]),
        leg=check_leg(data["leg"]),
        tempo=check_tempo(data["tempo"]),
    )


def _no_constants(name: str) -> float:
    raise NextSetError(f"not JSON: {name} is not a number in JSON")


def decode(payload: bytes | str) -> NextSet:
    """A next set from message bytes; NextSetError says why not."""
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    if len(raw) > MAX_MESSAGE_BYTES:
        raise NextSetError(f"{len(raw)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NextSetError("not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise NextSetError(f"not JSON: {exc}") from None
    return from_message(data)


def encode(next_set: NextSet) -> str:
    """Compact JSON text of the message."""
    return dumps(next_set.to_message())


def from_config(athlete: Mapping[str, Any]) -> NextSet:
    """The defaults of the `[athlete]` table (`name`, `load_kg`), for a lifter training alone."""
    try:
        return NextSet(
            athlete=check_athlete(athlete.get("name")),
            load_kg=check_load_kg(athlete.get("load_kg")),
        )
    except NextSetError as exc:
        field, _, problem = str(exc).partition(": ")
        key = "name" if field == "athlete" else field
        raise NextSetError(f"[athlete] {key}: {problem}") from None


class NextSetTracker:
    """Which next set each set follows: the one pending when the set's first rep came.

    Pure state, no I/O. `offer` may run on the MQTT thread while the sampling loop calls
    `for_set`: the pending value is one immutable object swapped in a single assignment.
    """

    def __init__(self, pending: NextSet, defaults: NextSet | None = None) -> None:
        self._pending = pending
        self._defaults = defaults if defaults is not None else NextSet()
        self._sets: dict[int, NextSet] = {}

    @property
    def pending(self) -> NextSet:
        """What the next set to start will follow."""
        return self._pending

    def offer(self, next_set: NextSet) -> None:
        """A new next set: applies from the next set that starts, not the one going on."""
        self._pending = next_set

    def receive(self, payload: bytes | str) -> NextSet:
        """Offer a message's next set; an empty payload (retained message cleared) restores
        the config defaults. NextSetError leaves the pending next set as it was."""
        next_set = self._defaults if len(payload) == 0 else decode(payload)
        self.offer(next_set)
        return next_set

    def for_set(self, set_no: int) -> NextSet:
        """The next set that set `set_no` follows; the first call (its first rep) binds it."""
        if set_no not in self._sets:
            self._sets[set_no] = self._pending
        return self._sets[set_no]

    def finish_set(self, set_no: int) -> NextSet:
        """The next set of a set that ended (bound now if it had no rep), then forgotten."""
        bound = self._sets.pop(set_no, None)
        return self._pending if bound is None else bound


class NextSetStore:
    """The last valid next set on disk, replaced atomically; disk errors are logged, not raised.

    Counting never depends on the disk: a failed save costs only the memory across a restart.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def in_dir(cls, directory: str | os.PathLike[str]) -> NextSetStore:
        """The store in a state directory: the station's (`firmware.state_dir`)."""
        return cls(Path(directory) / STATE_FILENAME)

    def load(self) -> NextSet | None:
        """The saved next set; None when there is none or it is unreadable (logged)."""
        try:
            payload = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("%s: cannot read the saved next set: %s", self.path, exc.strerror or exc)
            return None
        try:
            return decode(payload)
        except NextSetError as exc:
            log.warning("%s: ignoring the saved next set: %s", self.path, exc)
            return None

    def save(self, next_set: NextSet) -> bool:
        """Write to a temporary file, fsync, rename over the old one, fsync the folder."""
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{STATE_FILENAME}.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(encode(next_set) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            tmp = None
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            log.error("%s: cannot save the next set: %s", self.path, exc.strerror or exc)
            return False
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return True

    def clear(self) -> None:
        """Forget the saved next set (the retained message was cleared)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("%s: cannot remove the saved next set: %s", self.path, exc.strerror or exc)


# A Home Assistant number sends its value as text: "140.0", "140".
_PLAIN_NUMBER = re.compile(r"[+-]?\d{1,6}(\.\d{1,6})?")


def field_value(name: str, payload: bytes) -> object:
    """The value of one field as a Home Assistant control sends it: plain text, no JSON.

    The empty text clears `athlete`, `tempo` and `load_kg` (null); a load is a plain decimal
    number. NextSetError says why a payload is not a value; the field's own check follows.
    """
    if len(payload) > MAX_MESSAGE_BYTES:
        raise NextSetError(f"{len(payload)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise NextSetError("not UTF-8 text") from None
    if name == "leg":
        return text
    if not text:
        return None
    if name == "load_kg":
        if not _PLAIN_NUMBER.fullmatch(text):
            raise NextSetError(f"load_kg: {text[:40]!r} is not a number of kg")
        return float(text)
    return text


def on_field_command(
    tracker: NextSetTracker, store: NextSetStore | None, field: str, topic: str, payload: bytes
) -> NextSet | None:
    """Handle one `PREFIX/STATION/next/set/FIELD` command: the pending next set with that
    field changed, offered and saved; None (logged with the reason) when it is refused."""
    before = tracker.pending
    try:
        next_set = before.with_field(field, field_value(field, payload))
    except NextSetError as exc:
        log.warning(
            "%s: command ignored: %s; the next set stays: %s", topic, exc, before.describe()
        )
        return None
    tracker.offer(next_set)
    if store is not None:
        store.save(next_set)
    log.info("%s: next set: %s", topic, next_set.describe())
    return next_set


def start_tracker(store: NextSetStore, defaults: NextSet) -> NextSetTracker:
    """At start-up: the saved next set if there is one, else the config defaults."""
    saved = store.load()
    if saved is not None:
        log.info("next set from %s: %s", store.path, saved.describe())
    return NextSetTracker(saved if saved is not None else defaults, defaults)


def on_message(
    tracker: NextSetTracker, store: NextSetStore | None, topic: str, payload: bytes
) -> bool:
    """Handle one `PREFIX/STATION/next` message: apply and save it (with a store), or log why
    it is ignored."""
    try:
        next_set = tracker.receive(payload)
    except NextSetError as exc:
        log.warning(
            "%s: message ignored: %s; the next set stays: %s",
            topic,
            exc,
            tracker.pending.describe(),
        )
        return False
    if store is None:
        log.info("%s: next set: %s", topic, next_set.describe())
    elif len(payload) == 0:
        store.clear()
        log.info("%s: cleared; back to the config defaults: %s", topic, next_set.describe())
    else:
        store.save(next_set)
        log.info("%s: next set: %s", topic, next_set.describe())
    return True
