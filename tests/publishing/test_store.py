"""Storage faults never stop the station: full disk, read-only directory, damaged files, bad rows.

A full disk and a read-only directory are real where this runs as root with mount allowed (a
small tmpfs); elsewhere those tests skip and the injected-fault tests below cover the logic.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.publishing import store as store_module
from firmware.publishing.outbox import (
    OUTBOX_FILENAME,
    Outbox,
    OutboxDamaged,
    OutboxError,
    damaged_files,
    inspect,
)
from firmware.publishing.store import MessageStore

TOPIC = "repsled/legpress-1/rep"


def msg(i: int) -> str:
    return f'{{"type":"rep","id":"legpress-1/S/s1/r{i}","rep":{i}}}'


class FakeMonotonic:
    """The store's retry timer, advanced by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def payloads(store: MessageStore) -> list[str]:
    return [i.payload for i in store.pending(1000)]


# ---- damaged files: moved aside, never deleted, a fresh outbox started ----


def test_garbage_outbox_is_moved_aside_and_a_fresh_one_started(tmp_path, caplog):
    path = tmp_path / OUTBOX_FILENAME
    garbage = b"this is not sqlite" * 100
    path.write_bytes(garbage)
    with caplog.at_level(logging.ERROR, logger="firmware.publishing"):
        store = MessageStore(lambda: path, 100)
    [aside] = damaged_files(path)
    assert aside.read_bytes() == garbage
    assert store.put(TOPIC, msg(1)).row_id > 0  # on disk, in the fresh file
    assert store.status()["storage"] == "disk"
    errors = [r.getMessage() for r in caplog.records]
    assert any("moved aside to outbox.sqlite3.damaged-" in e and "kept" in e for e in errors)
    store.close()


def test_truncated_outbox_is_moved_aside_or_read(tmp_path):
    path = tmp_path / OUTBOX_FILENAME
    box = Outbox(path, 1000)
    for i in range(300):
        box.put(TOPIC, msg(i) + " " * 200)
    box.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    store = MessageStore(lambda: path, 1000)
    store.put(TOPIC, msg(1000))
    assert store.status()["storage"] == "disk"
    waiting = payloads(store)
    aside = damaged_files(path)
    assert len(aside) == 1 and aside[0].stat().st_size == len(data) // 2
    # Whatever could still be read (here SQLite reads nothing of a file cut in half) comes
    # first, in order; then the new rep.
    assert waiting[-1] == msg(1000)
    assert waiting[:-1] == [msg(i) + " " * 200 for i in range(len(waiting) - 1)]
    store.close()


def test_rows_before_a_damaged_page_are_read_back_and_sent(tmp_path, caplog):
    path = tmp_path / OUTBOX_FILENAME
    box = Outbox(path, 1000)
    for i in range(300):
        box.put(TOPIC, msg(i) + " " * 200)
    box.close()
    data = bytearray(path.read_bytes())
    page = 4096
    middle = len(data) // page // 2 * page
    data[middle : middle + page] = b"\xde\xad" * (page // 2)  # one page of garbage
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="firmware.publishing.store"):
        store = MessageStore(lambda: path, 1000)
    store.put(TOPIC, msg(1000))
    waiting = payloads(store)
    assert 0 < len(waiting) - 1 < 300
    assert waiting == [msg(i) + " " * 200 for i in range(len(waiting) - 1)] + [msg(1000)]
    assert any("read back from outbox.sqlite3.damaged-" in r.getMessage() for r in caplog.records)
    assert damaged_files(path)[0].read_bytes() == bytes(data)  # kept as it was
    store.close()


def test_an_unknown_schema_version_is_moved_aside(tmp_path):
    path = tmp_path / OUTBOX_FILENAME
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, body BLOB)")
    db.execute("PRAGMA user_version=7")
    db.commit()
    db.close()
    store = MessageStore(lambda: path, 10)
    assert len(damaged_files(path)) == 1
    assert store.put(TOPIC, msg(1)).row_id > 0
    store.close()


def test_an_outbox_from_before_versions_is_upgraded_in_place(tmp_path):
    path = tmp_path / OUTBOX_FILENAME
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
        "payload TEXT NOT NULL, qos INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO outbox (topic, payload, qos) VALUES (?, ?, 1)", (TOPIC, msg(1)))
    db.commit()
    db.close()
    box = Outbox(path, 10)
    assert [i.payload for i in box.pending(5)] == [msg(1)]
    box.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    assert damaged_files(path) == []


class DamagedOutbox(Outbox):
    """An outbox whose file turns out damaged while the station runs (SQLite says so on a
    read or write of a page it had not cached)."""

    damaged = False

    def put(self, topic: str, payload: str, qos: int = 1) -> int:
        if DamagedOutbox.damaged:
            DamagedOutbox.damaged = False
            raise OutboxDamaged(f"{self.path}: cannot store a message: the file is damaged")
        return super().put(topic, payload, qos)


def test_damage_found_while_running_moves_the_file_aside_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "Outbox", DamagedOutbox)
    path = tmp_path / OUTBOX_FILENAME
    store = MessageStore(lambda: path, 100)
    for i in range(1, 4):
        store.put(TOPIC, msg(i))
    DamagedOutbox.damaged = True
    store.put(TOPIC, msg(4))
    [aside] = damaged_files(path)
    assert aside.exists() and path.exists()
    # The rows read back from the old file come first, then the rep that met the damage.
    assert payloads(store) == [msg(i) for i in range(1, 5)]
    store.maintain()
    assert store.status()["storage"] == "disk"
    store.close()
    box = Outbox(path, 100)
    assert [i.payload for i in box.pending(10)] == [msg(i) for i in range(1, 5)]
    box.close()


# ---- one bad row never blocks the rows after it ----


def _corrupt(path: Path, row_id: int, value: object) -> None:
    db = sqlite3.connect(path)
    db.execute("UPDATE outbox SET payload = ? WHERE id = ?", (value, row_id))
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b'{"type":"rep","id":"x\xff"}', "not text"),  # a BLOB with a flipped byte
        ("{'type':'rep'}", "payload is not JSON"),  # text that no longer parses
    ],
)
def test_an_unreadable_row_is_quarantined_once_and_the_rest_go_on(tmp_path, caplog, value, reason):
    path = tmp_path / OUTBOX_FILENAME
    box = Outbox(path, 100)
    ids = [box.put(TOPIC, msg(i)) for i in range(1, 5)]
    _corrupt(path, ids[1], value)
    with caplog.at_level(logging.ERROR, logger="firmware.publishing.outbox"):
        assert [i.payload for i in box.pending(10)] == [msg(1), msg(3), msg(4)]
        assert [i.payload for i in box.pending(10)] == [msg(1), msg(3), msg(4)]
    [line] = [r.getMessage() for r in caplog.records]
    assert f"row {ids[1]} is unreadable ({reason})" in line and "quarantine" in line
    assert len(box) == 3 and box.quarantined() == 1
    assert inspect(path)[0] == "warn" and "1 quarantined" in inspect(path)[1]
    box.close()


def test_invalid_utf8_text_is_quarantined(tmp_path):
    path = tmp_path / OUTBOX_FILENAME
    box = Outbox(path, 100)
    ids = [box.put(TOPIC, msg(i)) for i in range(1, 4)]
    db = sqlite3.connect(path)
    # Text whose bytes are not UTF-8: what a flipped bit in a stored row looks like.
    db.execute("UPDATE outbox SET payload = CAST(X'7B22FF227D' AS TEXT) WHERE id = ?", (ids[0],))
    db.commit()
    db.close()
    assert [i.payload for i in box.pending(10)] == [msg(2), msg(3)]
    assert box.quarantined() == 1
    box.close()


# ---- full disk and read-only directory: memory, then disk again ----


class FailingOutbox(Outbox):
    """An outbox whose writes fail like a full disk while `full` is set."""

    full = False

    def put(self, topic: str, payload: str, qos: int = 1) -> int:
        if FailingOutbox.full:
            raise OutboxError(f"{self.path}: cannot store a message: the disk is full", "full")
        return super().put(topic, payload, qos)


@pytest.fixture
def failing(monkeypatch) -> Iterator[type[FailingOutbox]]:
    monkeypatch.setattr(store_module, "Outbox", FailingOutbox)
    FailingOutbox.full = False
    yield FailingOutbox
    FailingOutbox.full = False


def test_injected_full_disk_keeps_messages_in_memory_then_writes_them_back(
    tmp_path, failing, caplog
):
    clock = FakeMonotonic()
    path = tmp_path / OUTBOX_FILENAME
    store = MessageStore(lambda: path, 100, monotonic=clock, retry_s=10.0)
    store.put(TOPIC, msg(1))
    failing.full = True
    with caplog.at_level(logging.ERROR, logger="firmware.publishing.store"):
        for i in range(2, 5):
            assert store.put(TOPIC, msg(i)).row_id == 0
    [line] = [r.getMessage() for r in caplog.records]  # said once, not per message
    assert "the disk is full" in line and "keeping messages in memory" in line
    assert payloads(store) == [msg(i) for i in range(1, 5)]  # disk rows, then memory, in order
    status = store.status()
    assert status["storage"] == "memory" and "disk is full" in status["storage_problem"]
    failing.full = False
    clock.now += 5.0
    store.maintain()
    assert store.status()["storage"] == "memory"  # not before the retry time
    clock.now += 5.0
    store.maintain()
    assert store.status() == {
        "storage": "disk",
        "storage_problem": None,
        "in_memory": 0,
        "quarantined": 0,
    }
    store.ack(TOPIC, msg(2))
    store.close()
    box = Outbox(path, 100)
    assert [i.payload for i in box.pending(10)] == [msg(1), msg(3), msg(4)]
    box.close()


def test_memory_is_bounded_and_drops_the_oldest(tmp_path, failing, caplog):
    failing.full = True
    store = MessageStore(lambda: tmp_path / OUTBOX_FILENAME, 100, memory_max=3)
    with caplog.at_level(logging.WARNING, logger="firmware.publishing.store"):
        for i in range(1, 6):
            store.put(TOPIC, msg(i))
    assert payloads(store) == [msg(3), msg(4), msg(5)]
    assert store.memory_dropped == 2
    assert any("memory store full" in r.getMessage() for r in caplog.records)


def test_a_state_dir_that_cannot_be_made_means_memory(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with caplog.at_level(logging.ERROR, logger="firmware.publishing.store"):
        store = MessageStore.from_storage({"state_dir": str(blocker / "sub"), "outbox_max": 10}, {})
    assert store.put(TOPIC, msg(1)).row_id == 0
    assert payloads(store) == [msg(1)]
    assert "[storage] state_dir: cannot create" in caplog.records[0].getMessage()
    store.close()


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    """Fill the filesystem to the last block."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_real_full_disk_keeps_messages_in_memory_then_writes_them_back(tmp_path):
    with mounted_tmpfs(tmp_path / "small", "size=512k") as small:
        clock = FakeMonotonic()
        path = small / OUTBOX_FILENAME
        store = MessageStore(lambda: path, 1000, monotonic=clock, retry_s=10.0)
        store.put(TOPIC, msg(0))
        filler = fill(small)
        for i in range(1, 40):  # fills what SQLite still had in its pages
            store.put(TOPIC, msg(i) + " " * 1000)
        status = store.status()
        assert status["storage"] == "memory"
        assert "the disk is full" in status["storage_problem"]
        assert "rollback" not in status["storage_problem"]
        assert len(payloads(store)) == 40
        filler.unlink()
        clock.now += 10.0
        store.maintain()
        assert store.status()["storage"] == "disk", store.status()
        assert len(store) == 40
        store.close()
        box = Outbox(path, 1000)
        assert len(box) == 40
        box.close()


def test_real_read_only_state_dir_then_writable_again(tmp_path):
    with mounted_tmpfs(tmp_path / "ro", "size=256k,ro") as ro:
        clock = FakeMonotonic()
        store = MessageStore(lambda: ro / OUTBOX_FILENAME, 100, monotonic=clock, retry_s=10.0)
        assert store.put(TOPIC, msg(1)).row_id == 0
        assert "not writable" in store.status()["storage_problem"]
        assert inspect(ro / OUTBOX_FILENAME)[0] == "FAIL"
        subprocess.run(["mount", "-o", "remount,rw", str(ro)], check=True)
        clock.now += 10.0
        store.maintain()
        assert store.status()["storage"] == "disk"
        assert payloads(store) == [msg(1)]
        store.close()


# ---- `repsled check` says what the station would do ----


def test_check_outbox_row(tmp_path):
    from firmware.commands.check import check_outbox

    mqtt = {"host": "127.0.0.1"}
    state = tmp_path / "state"
    storage = {"state_dir": str(state), "outbox_max": 100}
    assert check_outbox(storage, {"host": None}).result == "skip"
    row = check_outbox(storage, mqtt)
    assert (row.result, "no outbox yet" in row.detail) == ("ok", True)
    assert not state.exists()  # check creates nothing

    store = MessageStore.from_storage(storage, {})
    for i in range(3):
        store.put(TOPIC, msg(i))
    row = check_outbox(storage, mqtt)
    assert row.result == "ok" and "3 message(s) waiting, 0 quarantined" in row.detail
    store.close()

    path = state / OUTBOX_FILENAME
    path.write_bytes(b"garbage" * 100)
    row = check_outbox(storage, mqtt)
    assert row.result == "FAIL" and "damaged" in row.detail
    MessageStore.from_storage(storage, {}).close()  # what the station does on start
    row = check_outbox(storage, mqtt)
    assert row.result == "warn" and "1 damaged file(s) moved aside" in row.detail

    blocker = tmp_path / "file"
    blocker.write_text("x")
    row = check_outbox({"state_dir": str(blocker / "sub"), "outbox_max": 10}, mqtt)
    assert row.result == "FAIL" and "not writable" in row.detail


def test_open_now_false_leaves_the_file_check_to_the_first_use(tmp_path):
    path = tmp_path / OUTBOX_FILENAME
    path.write_bytes(b"garbage" * 100)
    store = MessageStore(lambda: path, 10, open_now=False)
    assert damaged_files(path) == [] and len(store) == 0  # nothing touched yet
    assert store.pending(5) == []  # first use, on the worker: checked, moved aside, fresh
    assert len(damaged_files(path)) == 1
    assert store.put(TOPIC, msg(1)).row_id > 0
    store.close()
