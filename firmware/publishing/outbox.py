"""Durable outbox: every rep and set is on disk before it is published, and leaves only on ack.

SQLite in WAL mode with `synchronous=FULL`: each commit fsyncs the write-ahead log, so a rep
the lifter heard beep survives a power cut a moment later. `synchronous=NORMAL` in WAL mode
stays consistent but may roll back the last commits on power loss, which is exactly the gym
case (the power strip switched off after the last set). A rep every few seconds makes one
fsync per message cheap even on an SD card.

When the outbox holds `max_messages`, `put` drops the oldest unsent messages and logs a
warning with the count: the broker may be gone for weeks, the lifter must still be able to
train, and the newest sessions are the ones worth keeping.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.config import ConfigError

log = logging.getLogger(__name__)

OUTBOX_FILENAME = "outbox.sqlite3"
APP_NAME = "repsled"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    qos INTEGER NOT NULL
)
"""


class OutboxError(Exception):
    """The outbox file cannot be opened or written; one line naming the file."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    row_id: int
    topic: str
    payload: str
    qos: int


def state_dir(config_value: str | None, env: Mapping[str, str] | None = None) -> Path:
    """Where the outbox lives: `[storage] state_dir`, else systemd's, else the XDG state dir."""
    environ = os.environ if env is None else env
    if config_value:
        path, source = Path(config_value).expanduser(), "[storage] state_dir"
    elif environ.get("STATE_DIRECTORY"):
        # systemd joins several StateDirectory= entries with colons; ours is the first.
        path, source = Path(environ["STATE_DIRECTORY"].split(":")[0]), "$STATE_DIRECTORY"
    else:
        xdg = environ.get("XDG_STATE_HOME")
        base = Path(xdg) if xdg else Path(environ.get("HOME") or Path.home()) / ".local" / "state"
        path, source = base / APP_NAME, "XDG state directory"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot create {path}: {exc.strerror or exc}") from None
    return path


def open_outbox(storage: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Outbox:
    """The outbox configured by the [storage] section."""
    return Outbox(state_dir(storage.get("state_dir"), env) / OUTBOX_FILENAME, storage["outbox_max"])


class Outbox:
    """Messages waiting for a broker acknowledgement, in insertion order; thread-safe."""

    def __init__(self, path: str | os.PathLike[str], max_messages: int) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.path = Path(path)
        self.max_messages = max_messages
        self.dropped_total = 0
        self._lock = threading.Lock()
        try:
            # Autocommit mode: each statement below is its own durable transaction.
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=5.0
            )
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"{self.path}: cannot switch the outbox to WAL mode ({mode})")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except sqlite3.Error as exc:
            raise OutboxError(f"{self.path}: cannot open the outbox: {exc}") from None

    def put(self, topic: str, payload: str, qos: int = 1) -> int:
        """Store a message durably (committed on return); returns its row id."""
        with self._lock:
            dropped = 0
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    if self._count >= self.max_messages:
                        dropped = self._count - self.max_messages + 1
                        self._db.execute(
                            "DELETE FROM outbox WHERE id IN "
                            "(SELECT id FROM outbox ORDER BY id LIMIT ?)",
                            (dropped,),
                        )
                    cur = self._db.execute(
                        "INSERT INTO outbox (topic, payload, qos) VALUES (?, ?, ?)",
                        (topic, payload, qos),
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise OutboxError(f"{self.path}: cannot store a message: {exc}") from None
            self._count += 1 - dropped
            row_id = int(cur.lastrowid or 0)
        if dropped:
            self.dropped_total += dropped
            log.warning(
                "outbox full (%d messages): dropped the %d oldest unsent message(s), "
                "%d dropped since start",
                self.max_messages,
                dropped,
                self.dropped_total,
            )
        return row_id

    def pending(self, limit: int, after: int = 0) -> list[OutboxItem]:
        """Up to `limit` unacknowledged messages with row id above `after`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [OutboxItem(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def ack(self, row_id: int) -> None:
        """The broker has the message: forget it (a no-op if already dropped or acked)."""
        with self._lock:
            cur = self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            self._count -= max(cur.rowcount, 0)

    def journal_mode(self) -> str:
        """SQLite's journal mode, "wal" once open (checked by the tests)."""
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0]).lower()

    def __len__(self) -> int:
        with self._lock:
            return self._count

    def close(self) -> None:
        """Checkpoint and close; pending rows stay for the next start."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("%s: checkpoint on close failed: %s", self.path, exc)
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
