"""The load-velocity profile from stored sets: the store query, `repsled history profile`."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from firmware.cli import main
from firmware.hub.profiles import ProfileQuery, current_profile, station_message, trend
from firmware.hub.records import Record, classify
from firmware.hub.store import Filters, Store, create_engine, migrate
from firmware.station.zones import decode_profiles
from tests.hub.helpers import PREFIX, Message, athlete_session

NOW = datetime.now(UTC)


def session_name(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y%m%dT%H%M%SZ")


def started_at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


# v = 1.2 - 0.005 × load: e1RM at 0.21 m/s is (0.21 - 1.2) / -0.005 = 198 kg, R² = 1.
ANA = (
    athlete_session("legpress-1", session_name(10), "Ana", [(100.0, 0.7), (140.0, 0.5)])
    # A slower set at 100 kg: the fastest one is the point.
    + athlete_session("legpress-1", session_name(3), "Ana", [(100.0, 0.62), (180.0, 0.3)])
)
# Ben at two loads only, and a long-ago third one outside the 6-week window.
BEN = athlete_session("legpress-1", session_name(5), "Ben", [(80.0, 0.8), (120.0, 0.6)])
BEN_OLD = athlete_session("legpress-1", session_name(60), "Ben", [(160.0, 0.4)])
# Ana elsewhere, with a different line.
ANA_2 = athlete_session(
    "legpress-2", session_name(2), "Ana", [(50.0, 1.0), (60.0, 0.95), (70.0, 0.9)]
)


def fill(store: Store, messages: list[Message]) -> None:
    records = [classify(t, p.encode(), PREFIX) for t, p in messages]
    assert all(isinstance(r, Record) for r in records)
    store.write(records, [], time.time())  # type: ignore[arg-type]


@pytest.fixture
def store(db_url) -> Iterator[Store]:
    s = Store.open(db_url)
    fill(s, ANA + BEN + BEN_OLD)
    try:
        yield s
    finally:
        s.close()


def test_the_profile_of_sets_on_a_known_line(store):
    result = current_profile(store, ProfileQuery("Ana", "legpress-1", now=NOW)).to_dict()
    assert result["status"] == "ok"
    assert [(p["load_kg"], p["velocity_m_s"], p["sets"]) for p in result["points"]] == [
        (100.0, 0.7, 2),
        (140.0, 0.5, 1),
        (180.0, 0.3, 1),
    ]
    assert result["slope_m_s_per_kg"] == pytest.approx(-0.005)
    assert result["intercept_m_s"] == pytest.approx(1.2)
    assert result["r_squared"] == pytest.approx(1.0)
    assert result["e1rm_kg"] == pytest.approx(198.0)


def test_sets_outside_the_window_do_not_count(store):
    short = ProfileQuery("Ben", "legpress-1", now=NOW)
    assert current_profile(store, short).to_dict()["status"] == "not_enough_data"
    long = ProfileQuery("Ben", "legpress-1", window_days=70, now=NOW)
    assert current_profile(store, long).to_dict()["status"] == "ok"


def test_each_station_has_its_own_profile_and_all_stations_pool(store):
    fill(store, ANA_2)
    at_2 = current_profile(store, ProfileQuery("Ana", "legpress-2", now=NOW)).to_dict()
    assert at_2["slope_m_s_per_kg"] == pytest.approx(-0.005)
    assert at_2["e1rm_kg"] == pytest.approx((0.21 - 1.25) / -0.005)
    both = current_profile(store, ProfileQuery("Ana", now=NOW)).to_dict()
    assert len(both["points"]) == 6
    assert store.athletes() == [
        {"athlete": "Ana", "sets": 7, "stations": 2, "last_session_at": started_at(2)},
        {"athlete": "Ben", "sets": 3, "stations": 1, "last_session_at": started_at(5)},
    ]


def test_the_e1rm_trend_has_a_point_once_three_loads_are_in_the_window(store):
    points = trend(store, ProfileQuery("Ana", "legpress-1", now=NOW))
    # Ten days ago two loads: no profile yet; three days ago the third load: 198 kg.
    assert points == [{"at": started_at(3), "e1rm_kg": pytest.approx(198.0)}]


def test_the_station_message_is_what_the_station_accepts(store):
    raw = station_message(store, "legpress-1", ProfileQuery("", now=NOW))
    message = json.loads(raw)
    assert message["type"] == "profile" and message["schema"] == 1
    assert sorted(message["athletes"]) == ["Ana", "Ben"]
    assert message["athletes"]["Ben"]["status"] == "not_enough_data"
    profiles = decode_profiles(raw)
    assert set(profiles) == {"Ana"}
    assert profiles["Ana"].e1rm_kg == pytest.approx(198.0)


def test_history_profile_prints_the_line_and_e1rm(store, db_url, capsys):
    assert main(["history", "profile", "--db", db_url, "--athlete", "Ana"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Ana, sessions since ")
    assert out[1:4] == [
        "  100 kg: best 0.700 m/s (2 set(s))",
        "  140 kg: best 0.500 m/s (1 set(s))",
        "  180 kg: best 0.300 m/s (1 set(s))",
    ]
    assert out[4] == (
        "3 loads (100-180 kg): 1.200 m/s at no load, -0.500 m/s per 100 kg, R² 1.000, "
        "e1RM 198.0 kg at 0.21 m/s"
    )


def test_history_profile_not_enough_data_says_why(store, db_url, capsys):
    assert main(["history", "profile", "--db", db_url, "--athlete", "Ben"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "not enough data: 2 distinct load(s); a profile needs sets at 3 or more different loads"
    )


def test_history_profile_weeks_mvt_and_json(store, db_url, capsys):
    args = ["history", "profile", "--db", db_url, "--athlete", "Ben", "--weeks", "10"]
    assert main([*args, "--mvt", "0.3", "--station", "legpress-1", "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["status"] == "ok" and body["station"] == "legpress-1"
    assert body["mvt_m_s"] == 0.3
    assert body["e1rm_kg"] == pytest.approx(180.0)  # v = 1.2 - 0.005 × load again


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--weeks", "0"], "--weeks 0: expected more than 0 and at most 52"),
        (["--since", "yesterday"], "--since 'yesterday': expected a date YYYY-MM-DD"),
        (["--mvt", "2"], "--mvt 2: expected a velocity in m/s between 0 and 1"),
    ],
)
def test_history_profile_bad_options_are_one_line(db_url, capsys, extra, message):
    assert main(["history", "profile", "--db", db_url, "--athlete", "Ana", *extra]) == 2
    err = capsys.readouterr().err
    assert err == f"repsled history: error: {message}\n"


def test_migration_0003_fills_the_profile_columns_of_stored_sets(db_url):
    url = db_url
    engine = create_engine(url)
    migrate(engine, "0002")
    with engine.begin() as conn:
        for topic, text in ANA:
            if topic.endswith("/set"):
                p = json.loads(text)
                conn.execute(
                    sa.text(
                        "INSERT INTO sets (id, station, session, set_no, received_at, payload) "
                        "VALUES (:id, :station, :session, :set_no, 0, :payload)"
                    ),
                    {
                        "id": p["id"],
                        "station": p["station"],
                        "session": p["session"],
                        "set_no": p["set"],
                        "payload": text,
                    },
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO sessions VALUES (:station, :session, :at) "
                        "ON CONFLICT DO NOTHING"
                    ),
                    {"station": p["station"], "session": p["session"], "at": "2026-01-01"},
                )
    engine.dispose()
    store = Store.open(url)
    try:
        rows = store.profile_sets("Ana")
        assert sorted((load, v) for _, load, v in rows) == [
            (100.0, 0.62),
            (100.0, 0.7),
            (140.0, 0.5),
            (180.0, 0.3),
        ]
    finally:
        store.close()


@pytest.fixture
def client(store) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from firmware.hub.app import create_app

    with TestClient(create_app(store, prefix=PREFIX, clock=lambda: NOW)) as c:
        yield c


def test_api_lists_the_athletes(client):
    assert client.get("/api/v1/athletes").json() == {
        "schema": 1,
        "athletes": [
            {"athlete": "Ana", "sets": 4, "stations": 1, "last_session_at": started_at(3)},
            {"athlete": "Ben", "sets": 3, "stations": 1, "last_session_at": started_at(5)},
        ],
    }


def test_api_profile_of_an_athlete(client):
    body = client.get("/api/v1/athletes/Ana/profile?station=legpress-1").json()
    assert body["schema"] == 1 and body["athlete"] == "Ana" and body["station"] == "legpress-1"
    assert body["window_days"] == 42
    assert body["profile"]["status"] == "ok"
    assert body["profile"]["e1rm_kg"] == pytest.approx(198.0)
    assert body["trend"] == [{"at": started_at(3), "e1rm_kg": pytest.approx(198.0)}]
    ben = client.get("/api/v1/athletes/Ben/profile").json()
    assert ben["profile"]["status"] == "not_enough_data"
    assert ben["profile"]["reason"].startswith("2 distinct load(s)")
    longer = client.get("/api/v1/athletes/Ben/profile?weeks=10").json()
    assert longer["profile"]["status"] == "ok"


def test_api_profile_errors_are_one_line(client):
    missing = client.get("/api/v1/athletes/Zoe/profile")
    assert missing.status_code == 404
    assert missing.json() == {"schema": 1, "error": "no sets of athlete 'Zoe'"}
    bad = client.get("/api/v1/athletes/Ana/profile?weeks=-1")
    assert bad.status_code == 400
    assert bad.json()["error"] == "weeks '-1': expected more than 0, at most 52"


def test_export_csv_has_athlete_load_and_tempo_of_every_rep(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv").text)))
    assert len(rows) == 14  # 7 sets of 2 reps
    assert {"athlete", "load_kg", "tempo"} <= set(rows[0])
    ana = [r for r in rows if r["athlete"] == "Ana"]
    assert sorted({r["load_kg"] for r in ana}) == ["100.0", "140.0", "180.0"]
    assert all(r["set_athlete"] == r["athlete"] for r in rows)
    assert {r["tempo"] for r in rows} == {"3-1-X-0"}


def test_sessions_name_their_athletes(store):
    fill(store, athlete_session("legpress-3", session_name(10), "Cleo", [(90.0, 0.8)]))
    rows = {(r["station"], r["session"]): r["athletes"] for r in store.sessions(Filters(), 10)}
    assert rows[("legpress-1", session_name(10))] == ["Ana"]
    assert rows[("legpress-3", session_name(10))] == ["Cleo"]
    assert rows[("legpress-1", session_name(5))] == ["Ben"]


def test_the_trend_is_what_e1rm_trend_gives_over_the_same_sets(store):
    from firmware.vbt.profile import e1rm_trend

    fill(store, ANA_2 + athlete_session("legpress-3", session_name(1), "Ana", [(120.0, 0.55)]))
    query = ProfileQuery("Ana", now=NOW)
    rows = [
        (datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp(), load, v)
        for t, load, v in store.profile_sets("Ana")
    ]
    times = sorted({t for t, _, _ in rows})
    expected = [
        {"at": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **r.to_dict()}
        for t, r in e1rm_trend(rows, times)
        if r.to_dict()["status"] == "ok"
    ]
    assert trend(store, query) == [{"at": e["at"], "e1rm_kg": e["e1rm_kg"]} for e in expected]
    assert len(expected) == 3  # three days ago, two days ago, yesterday
