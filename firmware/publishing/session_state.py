"""The station's current session as retained MQTT messages: a page or Home Assistant opened
late sees what happened so far without a history hub.

`SessionState` keeps the session's finished set payloads and the latest set's rep payloads,
exactly as published, and builds the session document (docs/mqtt.md, schema 1; the hub's
`GET /api/v1/live` serves the same shape). `RetainedState` pairs it with the Home Assistant
summary (firmware.publishing.discovery) so the station hands both to the publisher at start,
after every rep and after every set. Pure bookkeeping: no I/O but the totals file.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from firmware.config import ConfigError
from firmware.publishing.discovery import Summary, Totals
from firmware.state_dir import state_dir

log = logging.getLogger(__name__)

SESSION_SCHEMA = 1
# A station left running for weeks keeps one session: bound what the retained message holds.
MAX_SETS = 50  # finished sets kept in the document (the oldest are dropped past it)
MAX_REPS = 500  # reps of the latest set kept in the document


TOTALS_FILENAME = "totals.json"


def session_topic(prefix: str, station: str) -> str:
    return f"{prefix}/{station}/session"


def totals_for(storage: Mapping[str, Any]) -> Totals:
    """The all-time counters, kept beside the outbox; in memory only if that has no home."""
    try:
        return Totals(state_dir(storage.get("state_dir")) / TOTALS_FILENAME)
    except ConfigError as exc:
        log.warning("%s; the all-time rep and set counters are not kept across restarts", exc)
        return Totals()


class SessionState:
    """Finished sets and the latest set's reps of one session, for the retained document."""

    def __init__(self, station: str, session: str) -> None:
        self.station = station
        self.session = session
        self._sets: deque[dict[str, Any]] = deque(maxlen=MAX_SETS)
        self._reps: deque[dict[str, Any]] = deque(maxlen=MAX_REPS)

    def add_rep(self, rep: dict[str, Any]) -> None:
        """A rep of a new set replaces the reps kept: the document holds the latest set's."""
        if self._reps and self._reps[-1]["set"] != rep["set"]:
            self._reps.clear()
        self._reps.append(rep)

    def revise_rep(self, rep: dict[str, Any]) -> None:
        """A revised rep replaces the one with its id, if it is still kept."""
        for i, kept in enumerate(self._reps):
            if kept["id"] == rep["id"]:
                self._reps[i] = rep
                return

    def add_set(self, done: dict[str, Any]) -> None:
        self._sets.append(done)

    def document(self) -> dict[str, Any]:
        return {
            "type": "session",
            "schema": SESSION_SCHEMA,
            "station": self.station,
            "session": self.session,
            "sets": list(self._sets),
            "reps": list(self._reps),
        }

    def text(self) -> str:
        return json.dumps(self.document(), separators=(",", ":"), ensure_ascii=False)


class RetainedState:
    """Everything a station keeps retained about its session: the session document for pages
    and the summary for Home Assistant. `messages()` gives (topic kind, text) to publish."""

    def __init__(
        self,
        station: str,
        session: str,
        *,
        totals: Totals | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = SessionState(station, session)
        self.summary = Summary(station, session, totals=totals or Totals())
        self._wall_clock = wall_clock

    def add_rep(self, rep: dict[str, Any]) -> None:
        self.session.add_rep(rep)
        self.summary.update_rep(rep, at_s=self._wall_clock())

    def revise_rep(self, rep: dict[str, Any]) -> None:
        self.session.revise_rep(rep)
        self.summary.revise_rep(rep)

    def add_set(self, done: dict[str, Any]) -> None:
        self.session.add_set(done)
        self.summary.update_set(done)

    def flush(self, timeout_s: float = 2.0) -> bool:
        """Wait for the all-time counters to reach the disk (at the end of a run)."""
        return self.summary.totals.flush(timeout_s)

    def messages(self) -> list[tuple[str, str]]:
        """(kind, text): publish each retained on PREFIX/STATION/kind."""
        return [("session", self.session.text()), ("summary", self.summary.payload())]
