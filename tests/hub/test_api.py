"""The hub's HTTP side: config, live session documents, history API, CSV and JSONL export."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from firmware.cli import main
from firmware.hub.app import create_app
from firmware.hub.export import REP_FIELDS
from firmware.hub.records import Record, classify
from firmware.hub.store import Store
from tests.hub.helpers import PREFIX, Message, session_messages

testclient = pytest.importorskip("starlette.testclient")


def fill(store: Store, messages: list[Message]) -> None:
    records = [classify(t, p.encode(), PREFIX) for t, p in messages]
    assert all(isinstance(r, Record) for r in records)
    store.write(records, [], time.time())  # type: ignore[arg-type]


def payloads(messages: list[Message], kind: str) -> list[dict[str, Any]]:
    return [json.loads(p) for t, p in messages if t.endswith(f"/{kind}")]


OLD = session_messages("legpress-1", session="20261130T180000Z", sets=1, reps_per_set=4)
NEW = session_messages("legpress-1", session="20261201T071500Z-3f2a", sets=2, reps_per_set=5)
# Station 2 is in its second set, not finished yet.
GOING = session_messages("legpress-2", session="20261201T072000Z", sets=2, finish_last=False)


@pytest.fixture
def store(db_url) -> Iterator[Store]:
    s = Store.open(db_url)
    fill(s, OLD + NEW + GOING)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def client(store) -> Iterator[Any]:
    app = create_app(store, broker_ws_url="ws://gym:9001", prefix=PREFIX, target_eccentric_s=3.0)
    with testclient.TestClient(app) as c:
        yield c


def test_config_says_hub(client):
    assert client.get("/config.json").json() == {
        "broker_ws": "ws://gym:9001",
        "prefix": PREFIX,
        "hub": True,
    }


def test_live_is_the_latest_session_of_each_station_as_published(client):
    body = client.get("/api/v1/live").json()
    assert body["schema"] == 1
    by_station = {doc["station"]: doc for doc in body["sessions"]}
    assert set(by_station) == {"legpress-1", "legpress-2"}
    one = by_station["legpress-1"]
    assert one == {
        "type": "session",
        "schema": 1,
        "station": "legpress-1",
        "session": "20261201T071500Z-3f2a",
        "sets": payloads(NEW, "set"),
        "reps": [r for r in payloads(NEW, "rep") if r["set"] == 2],
    }
    two = by_station["legpress-2"]
    assert two["sets"] == [payloads(GOING, "set")[0]]
    assert [r["id"] for r in two["reps"]] == [
        f"legpress-2/20261201T072000Z/s2/r{n}" for n in range(1, 6)
    ]


def test_sessions_filtered_by_station_and_date(client):
    rows = client.get("/api/v1/sessions").json()["sessions"]
    assert [(r["station"], r["session"]) for r in rows] == [
        ("legpress-2", "20261201T072000Z"),
        ("legpress-1", "20261201T071500Z-3f2a"),
        ("legpress-1", "20261130T180000Z"),
    ]
    assert rows[1] == {
        "station": "legpress-1",
        "session": "20261201T071500Z-3f2a",
        "started_at": "2026-12-01T07:15:00Z",
        "sets": 2,
        "reps": 10,
        "athletes": [],
    }
    one_day = client.get("/api/v1/sessions?station=legpress-1&since=2026-11-30&until=2026-11-30")
    assert [r["session"] for r in one_day.json()["sessions"]] == ["20261130T180000Z"]
    bad = client.get("/api/v1/sessions?since=yesterday")
    assert bad.status_code == 400
    assert bad.json() == {"schema": 1, "error": "since 'yesterday': expected a date YYYY-MM-DD"}
    assert client.get("/api/v1/sessions?limit=0").status_code == 400
    assert client.get("/api/v1/sessions?until=9999-12-31").status_code == 400


def test_a_session_page_has_its_sets_and_every_rep_in_order(client):
    body = client.get("/api/v1/sessions/legpress-1/20261201T071500Z-3f2a").json()
    assert body["schema"] == 1 and body["target_eccentric_s"] == 3.0
    assert body["started_at"] == "2026-12-01T07:15:00Z"
    assert body["sets"] == payloads(NEW, "set")
    assert body["reps"] == payloads(NEW, "rep")
    missing = client.get("/api/v1/sessions/legpress-1/nope")
    assert missing.status_code == 404 and "no session 'nope'" in missing.json()["error"]


def test_trends_per_session(client):
    body = client.get("/api/v1/trends?station=legpress-1").json()
    assert body["target_eccentric_s"] == 3.0
    rows = body["sessions"]
    assert [r["session"] for r in rows] == ["20261130T180000Z", "20261201T071500Z-3f2a"]
    reps = payloads(NEW, "rep")
    new = rows[1]
    assert new["reps"] == 10
    assert new["mean_eccentric_s"] == pytest.approx(sum(r["eccentric_s"] for r in reps) / 10)
    assert new["full_lockout_share"] == 1.0
    velocities = [r["mean_concentric_velocity_m_s"] for r in reps]
    assert new["best_concentric_velocity_m_s"] == max(velocities)
    assert new["mean_concentric_velocity_m_s"] == pytest.approx(sum(velocities) / 10, abs=1e-4)
    tut = sum(
        r["concentric_s"] + r["top_pause_s"] + r["eccentric_s"] + r["bottom_pause_s"] for r in reps
    )
    assert new["time_under_tension_s"] == pytest.approx(tut, abs=1e-3)


def test_export_csv_has_every_rep_field_and_its_set(client):
    response = client.get("/export.csv?station=legpress-1&since=2026-12-01")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    reps = payloads(NEW, "rep")
    assert [r["id"] for r in rows] == [r["id"] for r in reps]
    header = response.text.splitlines()[0].split(",")
    assert header[: len(REP_FIELDS)] == list(REP_FIELDS)
    assert header[-1] == "session_started_at"
    first = rows[0]
    assert first["eccentric_s"] == str(reps[0]["eccentric_s"])
    assert first["flags"] == ""
    assert first["set_id"] == "legpress-1/20261201T071500Z-3f2a/s1"
    assert first["set_velocity_loss_pct"] == str(payloads(NEW, "set")[0]["velocity_loss_pct"])
    assert first["session_started_at"] == "2026-12-01T07:15:00Z"


def test_export_of_a_set_still_going_leaves_its_set_columns_empty(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv?station=legpress-2").text)))
    assert len(rows) == 10
    assert rows[0]["set_id"] and rows[-1]["set_id"] == ""


def test_new_payload_fields_are_exported_never_lost(store, client):
    extra = session_messages("legpress-3", session="20261201T090000Z", sets=1, reps_per_set=1)
    rep = {**json.loads(extra[0][1]), "stall_s": 0.4, "stall_fraction": 0.12}
    fill(store, [(extra[0][0], json.dumps(rep))])
    response = client.get("/export.csv?station=legpress-3")
    row = next(csv.DictReader(io.StringIO(response.text)))
    assert row["stall_s"] == "0.4" and row["stall_fraction"] == "0.12"
    line = client.get("/export.jsonl?station=legpress-3").text.splitlines()[0]
    assert json.loads(line)["stall_s"] == 0.4


def test_jsonl_export_matches_the_csv_columns(client):
    lines = client.get("/export.jsonl").text.splitlines()
    header = client.get("/export.csv").text.splitlines()[0].split(",")
    assert len(lines) == 4 + 10 + 10
    assert list(json.loads(lines[0])) == header


def test_history_export_command_writes_the_same_csv(store, client, db_url, tmp_path):
    out = tmp_path / "reps.csv"
    assert main(["history", "export", "--db", db_url, "--station", "legpress-1",
                 "--format", "csv", "-o", str(out)]) == 0  # fmt: skip
    assert out.read_bytes() == client.get("/export.csv?station=legpress-1").content


def test_history_export_to_stdout_jsonl(store, db_url, capsysbinary):
    assert main(["history", "export", "--db", db_url, "--format", "jsonl",
                 "--since", "2026-12-01"]) == 0  # fmt: skip
    lines = capsysbinary.readouterr().out.decode("utf-8").splitlines()
    assert len(lines) == 20


def test_history_export_bad_date_is_one_line(db_url, capsys):
    assert main(["history", "export", "--db", db_url, "--until", "31/12/2026"]) == 2
    assert capsys.readouterr().err == (
        "repsled history: error: --until '31/12/2026': expected a date YYYY-MM-DD\n"
    )


def test_pages_are_served_with_the_dashboard_headers(client):
    for path in ("/", "/history.html", "/session.html", "/history.js", "/style.css"):
        response = client.get(path)
        assert response.status_code == 200, path
    page = client.get("/history.html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/nothing-here").status_code == 404
