"""Where messages wait for the broker: the disk outbox when it works, memory when it does not.

Counting and cues never depend on the disk, so nothing here raises. A full disk, a read-only
state directory or an outbox that cannot be opened turn the store to memory: new messages are
kept there (at most `memory_max`, oldest dropped past it, with a warning), published as usual,
and written to disk once the outbox can be written again (tried every `retry_s`). Rows already
on disk are still read and sent meanwhile; a delivered row that cannot be deleted yet (a full
disk refuses even that) is remembered and deleted later, so it is not sent again and again.
Messages in memory are newer than every row on disk: they are written back, in order, before
any new message, so the order of delivery is kept.

A damaged outbox file (not a database, truncated, an unknown schema version) is moved aside to
`outbox.sqlite3.damaged-UTCSTAMP`, never deleted, and a fresh one is started.

Used by the publisher's worker thread only (the sampling loop never touches it); `status` and
`len` may be read from any thread.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from firmware.config import ConfigError
from firmware.publishing.outbox import (
    OUTBOX_FILENAME,
    Outbox,
    OutboxDamaged,
    OutboxError,
    OutboxItem,
    move_aside,
    salvage,
    state_dir,
)

log = logging.getLogger(__name__)

# About 300 bytes a rep: 5000 messages are some 1.5 MB of RAM and more than a day of training.
MEMORY_MAX = 5000
RETRY_S = 10.0  # how often a failed disk is tried again while messages wait in memory


class MessageStore:
    """The outbox, or memory while the disk cannot take messages; never raises."""

    def __init__(
        self,
        locate: Callable[[], Path],
        max_messages: int,
        *,
        outbox: Outbox | None = None,
        memory_max: int = MEMORY_MAX,
        retry_s: float = RETRY_S,
        monotonic: Callable[[], float] = time.monotonic,
        open_now: bool = True,
    ) -> None:
        """`open_now=False` leaves opening (a file check that reads the whole file) to the
        first use, on the publisher's worker thread, so start-up does not wait for it."""
        self._locate = locate
        self.max_messages = max_messages
        self.memory_max = memory_max
        self.retry_s = retry_s
        self._monotonic = monotonic
        self._outbox = outbox
        self._writable = outbox is not None
        self._memory: deque[OutboxItem] = deque()
        self._acked_unsaved: set[tuple[str, str]] = set()  # delivered, delete failed
        self._lock = threading.RLock()
        self._next_try = -math.inf
        self.problem: str | None = None
        self.memory_dropped = 0
        self.moved_aside: list[Path] = []
        if outbox is None and open_now:
            self._try_open()

    @classmethod
    def for_outbox(cls, outbox: Outbox, **kwargs: Any) -> MessageStore:
        """A store around an open outbox, reopening the same file after a fault."""
        return cls(lambda: outbox.path, outbox.max_messages, outbox=outbox, **kwargs)

    @classmethod
    def from_storage(
        cls, storage: Mapping[str, Any], env: Mapping[str, str] | None = None, **kwargs: Any
    ) -> MessageStore:
        """The store for the config's [storage] section (directory made on first use)."""

        def locate() -> Path:
            return state_dir(storage.get("state_dir"), env) / OUTBOX_FILENAME

        return cls(locate, storage["outbox_max"], **kwargs)

    # ---- the publisher's side ----

    def put(self, topic: str, payload: str, qos: int = 1) -> OutboxItem:
        """Keep a message: on disk (committed on return) if possible, else in memory."""
        with self._lock:
            self._retry_if_due()
            for _attempt in range(2):  # again once if a damaged file was replaced at once
                if self._outbox is None or not self._writable or self._memory:
                    break
                try:
                    row_id = self._outbox.put(topic, payload, qos)
                    return OutboxItem(row_id, topic, payload, qos)
                except OutboxError as exc:
                    self._failed(exc)
            item = OutboxItem(0, topic, payload, qos)
            self._remember(item)
            return item

    def pending(self, limit: int, skip: Collection[tuple[str, str]] = ()) -> list[OutboxItem]:
        """Up to `limit` waiting messages, oldest first, leaving out the (topic, payload)s in
        `skip` (those already handed to the broker)."""
        with self._lock:
            self._retry_if_due()
            rows: list[OutboxItem] = []
            if self._outbox is not None:
                try:
                    rows = self._outbox.pending(limit + len(skip) + len(self._acked_unsaved))
                except OutboxError as exc:
                    self._failed(exc, reading=True)
            gone = self._acked_unsaved
            items = [
                r for r in rows if (key := (r.topic, r.payload)) not in skip and key not in gone
            ]
            for item in self._memory:
                if len(items) >= limit:
                    break
                if (item.topic, item.payload) not in skip:
                    items.append(item)
            return items[:limit]

    def ack(self, topic: str, payload: str, row_id: int = 0) -> None:
        """The broker delivered this message (`row_id` as `pending` gave it): forget it."""
        with self._lock:
            for item in self._memory:
                if item.topic == topic and item.payload == payload:
                    self._memory.remove(item)
                    return
            if self._outbox is not None:
                try:
                    self._outbox.ack_message(topic, payload, row_id)
                except OutboxError as exc:
                    self._acked_unsaved.add((topic, payload))
                    self._failed(exc)

    def maintain(self) -> None:
        """Called now and then: try the disk again while it fails."""
        with self._lock:
            self._retry_if_due()

    def status(self) -> dict[str, Any]:
        """For the health topic, logs and tests."""
        with self._lock:
            on_disk = self._outbox is not None and self._writable and not self._memory
            return {
                "storage": "disk" if on_disk else "memory",
                "storage_problem": self.problem,
                "in_memory": len(self._memory),
                "quarantined": self._outbox.quarantined_total if self._outbox is not None else 0,
            }

    @property
    def path(self) -> Path | None:
        with self._lock:
            return self._outbox.path if self._outbox is not None else None

    def __len__(self) -> int:
        with self._lock:
            on_disk = len(self._outbox) if self._outbox is not None else 0
            return on_disk - len(self._acked_unsaved) + len(self._memory)

    def close(self) -> None:
        """Close the outbox; messages only in memory are lost now, and said so."""
        with self._lock:
            if self._memory or self._acked_unsaved or not self._writable:
                self._next_try = -math.inf
                self._retry_if_due()
            if self._memory:
                log.error(
                    "%d message(s) were kept in memory only and are lost at exit: %s",
                    len(self._memory),
                    self.problem or "the disk could not take them",
                )
            if self._outbox is not None:
                self._outbox.close()
                self._outbox = None

    # ---- internals ----

    def _retry_if_due(self) -> None:
        healthy = self._outbox is not None and self._writable
        if healthy and not self._memory and not self._acked_unsaved:
            return
        if self._monotonic() < self._next_try:
            return
        if self._outbox is None:
            self._try_open()
        else:
            self._next_try = self._monotonic() + self.retry_s
            self._write_back()

    def _remember(self, item: OutboxItem) -> None:
        if len(self._memory) >= self.memory_max:
            self._memory.popleft()
            self.memory_dropped += 1
            if self.memory_dropped == 1 or self.memory_dropped % 100 == 0:
                log.warning(
                    "memory store full (%d messages while the disk fails): dropped the oldest, "
                    "%d dropped so far",
                    self.memory_max,
                    self.memory_dropped,
                )
        self._memory.append(item)

    def _write_back(self) -> None:
        """Deletes that failed, then memory to disk in order; success makes the disk writable."""
        outbox = self._outbox
        assert outbox is not None
        try:
            for topic, payload in list(self._acked_unsaved):
                outbox.ack_message(topic, payload)
                self._acked_unsaved.discard((topic, payload))
            moved = 0
            while self._memory:
                item = self._memory[0]
                outbox.put(item.topic, item.payload, item.qos)
                self._memory.popleft()
                moved += 1
        except OutboxError as exc:
            self._failed(exc)
            return
        if moved:
            log.info("%d message(s) kept in memory are on disk now", moved)
        if self.problem is not None:
            log.info("outbox %s is writable again", outbox.path)
        self.problem = None
        self._writable = True

    def _try_open(self) -> None:
        self._next_try = self._monotonic() + self.retry_s
        try:
            path = self._locate()
        except ConfigError as exc:
            self._set_problem(f"{exc}")
            return
        try:
            outbox = Outbox(path, self.max_messages)
        except OutboxDamaged as exc:
            if not self._move_aside(path, str(exc)):
                return
            try:
                outbox = Outbox(path, self.max_messages)
            except OutboxError as again:
                self._set_problem(str(again))
                return
        except OutboxError as exc:
            self._set_problem(str(exc))
            return
        self._outbox = outbox
        self._writable = False
        self._write_back()

    def _move_aside(self, path: Path, reason: str) -> bool:
        try:
            target = move_aside(path)
        except OSError as exc:
            self._set_problem(f"{reason}; cannot move it aside: {exc.strerror or exc}")
            return False
        self.moved_aside.append(target)
        log.error(
            "%s: moved aside to %s (kept, not deleted); starting a fresh outbox",
            reason,
            target.name,
        )
        rows, error = salvage(target, self.memory_max - len(self._memory))
        if rows:
            # Older than anything in memory: first in line for the fresh outbox.
            self._memory.extendleft(reversed(rows))
            log.warning(
                "%d message(s) read back from %s%s; they are sent as usual",
                len(rows),
                target.name,
                f" (reading stopped at: {error})" if error else "",
            )
        return True

    def _failed(self, exc: OutboxError, *, reading: bool = False) -> None:
        """A write failed: memory until the retry. A read failed or the file is damaged:
        close it (moved aside if damaged) and open it again."""
        self._set_problem(str(exc))
        self._writable = False
        self._next_try = self._monotonic() + self.retry_s
        outbox = self._outbox
        if outbox is None or not (reading or isinstance(exc, OutboxDamaged)):
            return
        self._outbox = None
        self._acked_unsaved.clear()
        try:
            outbox.close()
        except Exception as close_exc:  # a broken connection may not even close
            log.debug("closing the failed outbox: %s", close_exc)
        if not isinstance(exc, OutboxDamaged):
            return
        if os.path.exists(outbox.path) and self._move_aside(outbox.path, str(exc)):
            self._try_open()

    def _set_problem(self, message: str) -> None:
        if message != self.problem:
            log.error(
                "%s; keeping messages in memory (at most %d) and trying the disk again every "
                "%g s; counting goes on",
                message,
                self.memory_max,
                self.retry_s,
            )
        self.problem = message
