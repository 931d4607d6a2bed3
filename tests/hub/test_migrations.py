"""Migrations: from empty, from the previous revision with data, and a newer database refused."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from firmware.cli import main
from firmware.hub import schema
from firmware.hub.records import classify
from firmware.hub.store import HubDatabaseError, Store, create_engine, head_revision, migrate
from tests.hub.helpers import PREFIX, session_messages


def _tables(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {
        name: {c["name"] for c in inspector.get_columns(name)}
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


def _revision(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one())


def test_from_empty_matches_the_schema_module(db_url):
    store = Store.open(db_url)
    try:
        assert _revision(store.engine) == head_revision()
        expected = {t.name: {c.name for c in t.columns} for t in schema.metadata.sorted_tables}
        assert _tables(store.engine) == expected
    finally:
        store.close()
    Store.open(db_url).close()  # opening again changes nothing


def test_from_the_previous_revision_keeps_the_history(db_url):
    """A revision-0001 database with reps and sets: 0002 fills sessions and fields from them."""
    engine = create_engine(db_url)
    migrate(engine, "0001")
    assert _revision(engine) == "0001"
    messages = session_messages("legpress-1", session="20261130T180000Z", sets=2)
    records = [classify(t, p.encode(), PREFIX) for t, p in messages]
    received = time.time()
    with engine.begin() as conn:
        for r in records:
            p = r.payload  # type: ignore[union-attr]
            row = {
                "id": p["id"],
                "station": p["station"],
                "session": p["session"],
                "set_no": p["set"],
                "received_at": received,
                "payload": r.raw,  # type: ignore[union-attr]
            }
            if p["type"] == "rep":
                row.update(
                    rep_no=p["rep"],
                    set_id=p["id"].rsplit("/", 1)[0],
                    leg=p["leg"],
                    lockout=p["lockout"],
                    eccentric_s=p["eccentric_s"],
                    mean_velocity_m_s=p["mean_concentric_velocity_m_s"],
                    tut_s=3.0,
                )
                conn.execute(sa.text(_insert("reps", row)), row)
            else:
                conn.execute(sa.text(_insert("sets", row)), row)
    engine.dispose()

    store = Store.open(db_url)
    try:
        assert _revision(store.engine) == head_revision()
        from firmware.hub.store import Filters

        sessions = store.sessions(Filters(), 10)
        assert sessions == [
            {
                "station": "legpress-1",
                "session": "20261130T180000Z",
                "started_at": "2026-11-30T18:00:00Z",
                "sets": 2,
                "reps": 10,
                "athletes": [],
            }
        ]
        assert "eccentric_score" in store.fields("rep")
        assert "velocity_loss_pct" in store.fields("set")
    finally:
        store.close()


def _insert(table: str, row: dict[str, object]) -> str:
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"


def test_a_newer_database_is_refused_with_one_line_and_left_untouched(db_url, capsys):
    Store.open(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
        conn.execute(sa.text("CREATE TABLE from_the_future (x INTEGER)"))
    before = _tables(engine)
    with pytest.raises(HubDatabaseError, match=r"revision '0099' was made by a newer repsled"):
        Store.open(db_url)
    assert _tables(engine) == before and _revision(engine) == "0099"
    engine.dispose()

    capsys.readouterr()  # the set-up's log lines
    code = main(["history", "export", "--db", db_url])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "newer repsled" in err and "Traceback" not in err


def test_a_bad_db_url_is_one_line(capsys):
    code = main(["history", "export", "--db", "mysql://nope/db"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--db 'mysql://nope/db'" in err


def test_an_unreachable_postgres_is_one_line(capsys):
    from tests.mosquitto import refusing_port

    with refusing_port() as port:
        url = f"postgresql://nobody@127.0.0.1:{port}/none"
        code = main(["history", "export", "--db", url])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "127.0.0.1" in err, err


def test_the_payload_field_names_json_survive(db_url):
    """Field names come from payloads: unusual ones are stored like any other."""
    store = Store.open(db_url)
    try:
        msg = session_messages("legpress-9", sets=1, reps_per_set=1, finish_last=False)[0]
        payload = {**json.loads(msg[1]), "ünïcode field": 1}
        record = classify(msg[0], json.dumps(payload).encode(), PREFIX)
        store.write([record], [], time.time())  # type: ignore[list-item]
        assert "ünïcode field" in store.fields("rep")
    finally:
        store.close()


def test_export_of_a_missing_sqlite_file_is_one_line_and_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "nope.sqlite3"
    assert main(["history", "export", "--db", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"repsled history: error: {missing}: no such database (give the hub's with --db)\n"
    )
    assert not missing.exists()
