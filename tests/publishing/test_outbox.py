"""The disk outbox: order, acks, the bound, durability across reopen, WAL mode, its directory."""

from __future__ import annotations

import logging
import stat
import threading

import pytest

from firmware.config import ConfigError
from firmware.publishing.outbox import OUTBOX_FILENAME, Outbox, OutboxError, open_outbox
from firmware.state_dir import state_dir


def m(i: int) -> str:
    """A message body as the publisher stores them: a JSON object."""
    return f'{{"m":{i}}}'


def test_pending_in_insertion_order_and_ack_removes(tmp_path):
    box = Outbox(tmp_path / "o.db", 100)
    ids = [box.put("t/rep", m(i)) for i in range(5)]
    assert ids == sorted(ids)
    assert [i.payload for i in box.pending(10)] == [m(0), m(1), m(2), m(3), m(4)]
    assert [i.payload for i in box.pending(2)] == [m(0), m(1)]
    assert [i.payload for i in box.pending(10, after=ids[2])] == [m(3), m(4)]
    box.ack(ids[1])
    box.ack(ids[1])  # acking twice is harmless
    assert len(box) == 4
    assert [i.row_id for i in box.pending(10)] == [ids[0], ids[2], ids[3], ids[4]]
    item = box.pending(1)[0]
    assert (item.topic, item.qos) == ("t/rep", 1)
    box.close()


def test_full_outbox_drops_oldest_and_warns_with_count(tmp_path, caplog):
    box = Outbox(tmp_path / "o.db", 3)
    for i in range(3):
        box.put("t", m(i))
    with caplog.at_level(logging.WARNING, logger="firmware.publishing.outbox"):
        box.put("t", m(3))
        box.put("t", m(4))
    assert [i.payload for i in box.pending(10)] == [m(2), m(3), m(4)]
    assert len(box) == 3
    assert box.dropped_total == 2
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert "dropped the 1 oldest" in warnings[0] and "2 dropped since start" in warnings[1]
    box.close()


def test_smaller_bound_on_reopen_drops_down_to_it(tmp_path):
    box = Outbox(tmp_path / "o.db", 10)
    for i in range(6):
        box.put("t", m(i))
    box.close()
    box = Outbox(tmp_path / "o.db", 3)
    box.put("t", m(6))
    assert [i.payload for i in box.pending(10)] == [m(4), m(5), m(6)]
    box.close()


def test_reopen_keeps_pending_rows_and_ids_grow(tmp_path):
    path = tmp_path / "o.db"
    box = Outbox(path, 100)
    first = [box.put("t", m(i)) for i in range(3)]
    box.ack(first[2])
    box.close()
    box = Outbox(path, 100)
    assert [i.payload for i in box.pending(10)] == [m(0), m(1)]
    assert len(box) == 2
    # AUTOINCREMENT: an acked id is never reused, so order stays insertion order.
    assert box.put("t", m(3)) > first[2]
    box.close()


def test_wal_mode_and_full_sync(tmp_path):
    box = Outbox(tmp_path / "o.db", 10)
    assert box.journal_mode() == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    box.close()


def test_put_and_ack_from_two_threads(tmp_path):
    box = Outbox(tmp_path / "o.db", 10_000)
    done = threading.Event()
    acked: list[int] = []

    def acker():
        while not done.is_set() or len(box):
            for item in box.pending(50):
                box.ack(item.row_id)
                acked.append(item.row_id)

    t = threading.Thread(target=acker)
    t.start()
    ids = [box.put("t", m(i)) for i in range(100)]
    done.set()
    t.join(timeout=30)
    assert not t.is_alive()
    assert sorted(acked) == ids and len(box) == 0
    box.close()


def test_not_a_database_names_the_file(tmp_path):
    path = tmp_path / "o.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(OutboxError, match=r"o\.db: cannot open the outbox"):
        Outbox(path, 10)


def test_state_dir_precedence(tmp_path):
    cfg = tmp_path / "cfg"
    env = {
        "STATE_DIRECTORY": f"{tmp_path / 'sd1'}:{tmp_path / 'sd2'}",
        "XDG_STATE_HOME": str(tmp_path / "xdg"),
        "HOME": str(tmp_path / "home"),
    }
    assert state_dir(str(cfg), env) == cfg
    assert state_dir(None, env) == tmp_path / "sd1"
    del env["STATE_DIRECTORY"]
    assert state_dir(None, env) == tmp_path / "xdg" / "repsled"
    del env["XDG_STATE_HOME"]
    home_dir = state_dir(None, env)
    assert home_dir == tmp_path / "home" / ".local" / "state" / "repsled"
    for made in (cfg, home_dir):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert not (tmp_path / "sd2").exists()


def test_state_dir_error_names_the_key(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"\[storage\] state_dir: cannot create .*file/sub"):
        state_dir(str(blocker / "sub"), {})


def test_open_outbox_from_storage_section(tmp_path):
    box = open_outbox({"state_dir": str(tmp_path / "s"), "outbox_max": 5}, {})
    assert box.path == tmp_path / "s" / OUTBOX_FILENAME
    assert box.max_messages == 5
    box.close()
