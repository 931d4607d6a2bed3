"""Durable outbox: every rep and set is on disk before it is published, and leaves only when
the broker has shown it took it.

SQLite in WAL mode with `synchronous=FULL`: each commit fsyncs the write-ahead log, so a rep
the lifter heard beep survives a power cut a moment later. `synchronous=NORMAL` in WAL mode
stays consistent but may roll back the last commits on power loss, which is exactly the gym
case (the power strip switched off after the last set). A rep every few seconds makes one
fsync per message cheap even on an SD card, and the commit runs on the publisher's worker
thread, never on the sampling thread (firmware.publishing.mqtt).

When the outbox holds `max_messages`, `put` drops the oldest unsent messages and logs a
warning with the count: the broker may be gone for weeks, the lifter must still be able to
train, and the newest sessions are the ones worth keeping.

The file carries a schema version (`PRAGMA user_version`), checked on open. A row that cannot
be read back (a flipped byte, a BLOB where text belongs, JSON that no longer parses) is moved to
the `quarantine` table, counted and logged once, so one bad row never blocks the rows after it.
A file that is not a usable outbox is reported as `OutboxDamaged`; the caller moves it aside
(`move_aside`, never deleted) and starts a fresh one (firmware.publishing.store).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.state_dir import state_dir

log = logging.getLogger(__name__)

OUTBOX_FILENAME = "outbox.sqlite3"
OUTBOX_SCHEMA = 1  # PRAGMA user_version of the file; 0 is the same layout from before versions
DAMAGED_SUFFIX = ".damaged-"
SQLITE_SIDE_FILES = ("-wal", "-shm")

_TABLES = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    qos INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    topic BLOB,
    payload BLOB,
    qos,
    reason TEXT NOT NULL
);
"""
_OUTBOX_COLUMNS = ["id", "topic", "payload", "qos"]


class OutboxError(Exception):
    """The outbox file cannot be opened or written; one line naming the file.

    `kind` says what is wrong, for the status and the retry policy: "full" (disk full),
    "readonly" (file or directory not writable), "damaged" (not a usable outbox) or "io".
    """

    def __init__(self, message: str, kind: str = "io") -> None:
        super().__init__(message)
        self.kind = kind


class OutboxDamaged(OutboxError):
    """The file is not an outbox this version can use: to be moved aside, never deleted."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "damaged")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message waiting for the broker's acknowledgement."""

    row_id: int  # 0 for a message kept in memory only (firmware.publishing.store)
    topic: str
    payload: str
    qos: int


def _kind(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "full"
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in text:
        return "readonly"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return "damaged"
    if "not a database" in text:
        return "damaged"
    return "io"


def _describe(exc: sqlite3.Error, kind: str) -> str:
    if kind == "full":
        return "the disk is full"
    if kind == "readonly":
        return f"cannot write there (read-only file or directory?): {exc}"
    if kind == "damaged":
        return f"the file is damaged: {exc}"
    return str(exc)


def _error(path: Path, doing: str, exc: sqlite3.Error) -> OutboxError:
    kind = _kind(exc)
    message = f"{path}: {doing}: {_describe(exc, kind)}"
    return OutboxDamaged(message) if kind == "damaged" else OutboxError(message, kind)


def open_outbox(storage: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Outbox:
    """The outbox configured by the [storage] section."""
    return Outbox(state_dir(storage.get("state_dir"), env) / OUTBOX_FILENAME, storage["outbox_max"])


def move_aside(path: Path) -> Path:
    """Rename a damaged outbox (and its WAL files) to PATH.damaged-UTCSTAMP; returns the name.

    Never deletes: the rows in it may still be read by hand (sqlite3 .recover).
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}{stamp}-{n}")
    path.rename(target)
    for side in SQLITE_SIDE_FILES:
        src = path.with_name(path.name + side)
        if src.exists():
            src.rename(target.with_name(target.name + side))
    return target


def salvage(path: Path, limit: int) -> tuple[list[OutboxItem], str | None]:
    """The readable rows of a damaged outbox, oldest first (at most the newest `limit`),
    read until the first error; and that error, if any. Opens the file read-only."""
    rows: deque[OutboxItem] = deque(maxlen=limit)
    error = None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error as exc:
        return [], str(exc)
    try:
        cursor = db.execute(
            "SELECT id, CAST(topic AS BLOB), CAST(payload AS BLOB), qos FROM outbox ORDER BY id"
        )
        for _row_id, topic, payload, qos in cursor:
            row = _unreadable(topic, payload, qos)
            if not isinstance(row, str):
                rows.append(OutboxItem(0, *row))  # no row of the fresh outbox yet
    except sqlite3.Error as exc:
        error = str(exc)
    finally:
        db.close()
    return list(rows), error


def damaged_files(path: Path) -> list[Path]:
    """Outbox files moved aside earlier, oldest first (for `repsled check`)."""
    pattern = f"{path.name}{DAMAGED_SUFFIX}*"
    return sorted(p for p in path.parent.glob(pattern) if not p.name.endswith(SQLITE_SIDE_FILES))


def _unreadable(
    topic: Any, payload: Any, qos: Any, parse: bool = True
) -> tuple[str, str, int] | str:
    """The row as (topic, payload, qos), or why it cannot be sent (JSON checked if `parse`)."""
    if not isinstance(topic, bytes) or not isinstance(payload, bytes):
        return "topic or payload missing"
    try:
        topic_text, payload_text = topic.decode("utf-8"), payload.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    if qos not in (0, 1, 2):
        return f"qos {qos!r}"
    if not parse:
        return topic_text, payload_text, int(qos)
    try:
        body = json.loads(payload_text)
    except ValueError:
        return "payload is not JSON"
    if not isinstance(body, dict) or not topic_text:
        return "payload is not a JSON object"
    return topic_text, payload_text, int(qos)


class Outbox:
    """Messages waiting for the broker, in insertion order; thread-safe."""

    def __init__(self, path: str | os.PathLike[str], max_messages: int) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.path = Path(path)
        self.max_messages = max_messages
        self.dropped_total = 0
        self.quarantined_total = 0  # rows quarantined since open (the table keeps all of them)
        self._parsed_up_to = 0  # row ids up to this one were read back as valid JSON
        self._lock = threading.Lock()
        if not os.access(self.path.parent, os.W_OK):
            raise OutboxError(
                f"{self.path.parent}: the state directory is not writable (read-only?)", "readonly"
            )
        try:
            # Autocommit mode: each statement below is its own durable transaction.
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=5.0
            )
        except sqlite3.Error as exc:
            raise _error(self.path, "cannot open the outbox", exc) from None
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        try:
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise OutboxDamaged(f"{self.path}: the file is damaged: {check}")
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if version == 0 and tables - {"sqlite_sequence"}:
                columns = [r[1] for r in self._db.execute("PRAGMA table_info(outbox)")]
                if columns != _OUTBOX_COLUMNS:
                    raise OutboxDamaged(f"{self.path}: not a repsled outbox (no outbox table)")
            elif version not in (OUTBOX_SCHEMA, 0):
                raise OutboxDamaged(
                    f"{self.path}: outbox schema version {version}, this repsled reads "
                    f"version {OUTBOX_SCHEMA}"
                )
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"{self.path}: cannot switch the outbox to WAL mode ({mode})")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_TABLES)
            if version == 0:
                self._db.execute(f"PRAGMA user_version={OUTBOX_SCHEMA}")
            self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except sqlite3.Error as exc:
            raise _error(self.path, "cannot open the outbox", exc) from None

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
                    # A failed COMMIT (a full disk) may have ended the transaction already:
                    # report the first error, not "cannot rollback".
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise _error(self.path, "cannot store a message", exc) from None
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
        """Up to `limit` waiting messages with row id above `after`, oldest first.

        Unreadable rows met on the way are quarantined (and logged once) instead.
        """
        items: list[OutboxItem] = []
        with self._lock:
            contiguous = after <= self._parsed_up_to  # every row up to `after` was parsed
            while len(items) < limit:
                try:
                    rows = self._db.execute(
                        "SELECT id, CAST(topic AS BLOB), CAST(payload AS BLOB), qos, "
                        "typeof(topic) = 'text' AND typeof(payload) = 'text' "
                        "FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                        (after, limit - len(items)),
                    ).fetchall()
                except sqlite3.Error as exc:
                    raise _error(self.path, "cannot read the outbox", exc) from None
                if not rows:
                    break
                for row_id, topic, payload, qos, is_text in rows:
                    after = int(row_id)
                    # Rows never change once written: parse each one's JSON once per open.
                    parse = not contiguous or after > self._parsed_up_to
                    row = _unreadable(topic, payload, qos, parse) if is_text else "not text"
                    if contiguous:
                        self._parsed_up_to = max(self._parsed_up_to, after)
                    if isinstance(row, str):
                        self._quarantine(after, topic, payload, qos, row)
                    else:
                        items.append(OutboxItem(after, *row))
        return items

    def _quarantine(self, row_id: int, topic: Any, payload: Any, qos: Any, reason: str) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO quarantine (id, topic, payload, qos, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (row_id, topic, payload, qos, reason),
                )
                self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _error(self.path, "cannot quarantine an unreadable row", exc) from None
        self._count -= 1
        self.quarantined_total += 1
        log.error(
            "%s: outbox row %d is unreadable (%s): moved to the quarantine table, "
            "%d quarantined since start",
            self.path,
            row_id,
            reason,
            self.quarantined_total,
        )

    def ack(self, row_id: int) -> None:
        """The broker has the message: forget it (a no-op if already dropped or acked)."""
        with self._lock:
            try:
                cur = self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            except sqlite3.Error as exc:
                raise _error(self.path, "cannot remove a delivered message", exc) from None
            self._count -= max(cur.rowcount, 0)

    def ack_message(self, topic: str, payload: str, row_id: int = 0) -> bool:
        """Forget the row with exactly this topic and payload: by its row id when given (fast,
        and checked against the content), else the oldest such row; False if there is none."""
        with self._lock:
            try:
                cur = self._db.execute(
                    "DELETE FROM outbox WHERE id = ? AND topic = ? AND payload = ?",
                    (row_id, topic, payload),
                )
                if cur.rowcount <= 0:  # no id, or the row was rewritten (a new file)
                    cur = self._db.execute(
                        "DELETE FROM outbox WHERE id = (SELECT MIN(id) FROM outbox "
                        "WHERE topic = ? AND payload = ?)",
                        (topic, payload),
                    )
            except sqlite3.Error as exc:
                raise _error(self.path, "cannot remove a delivered message", exc) from None
            self._count -= max(cur.rowcount, 0)
            return cur.rowcount > 0

    def quarantined(self) -> int:
        """Rows in the quarantine table (kept for a human to look at)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])

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


def inspect(path: Path) -> tuple[str, str]:
    """(result, detail) for `repsled check`: waiting, quarantined and moved-aside files.

    Opens the file read-only (the running station may have it open too) and changes nothing.
    """
    aside = damaged_files(path)
    aside_note = ""
    if aside:
        aside_note = f"; {len(aside)} damaged file(s) moved aside, latest {aside[-1].name}"
    if not path.exists():
        existing = path.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK):
            return "FAIL", f"{path.parent} is not writable: reps would be kept in memory only"
        return ("warn" if aside else "ok"), f"{path}: no outbox yet (nothing waiting){aside_note}"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return "FAIL", f"{path}: cannot open: {exc}{aside_note}"
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version not in (0, OUTBOX_SCHEMA):
            return "FAIL", f"{path}: schema version {version}, this repsled reads {OUTBOX_SCHEMA}"
        waiting = int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        quarantined = (
            int(db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])
            if "quarantine" in tables
            else 0
        )
    except sqlite3.Error as exc:
        reason = _describe(exc, _kind(exc))
        return "FAIL", f"{path}: {reason} (the station moves it aside){aside_note}"
    finally:
        db.close()
    writable = os.access(path.parent, os.W_OK)
    detail = f"{path}: {waiting} message(s) waiting, {quarantined} quarantined{aside_note}"
    if not writable:
        return "FAIL", f"{detail}; {path.parent} is not writable: reps kept in memory only"
    return ("warn" if quarantined or aside else "ok"), detail
