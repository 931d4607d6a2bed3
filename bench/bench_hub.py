"""The history hub: ingest rate into SQLite and PostgreSQL, and page/trend times at 1M reps.

1. Ingest: reps from 50 stations published at QoS 1 into a real mosquitto while the hub is
   away, then drained by the hub's ingest (manual acknowledgement after each batch commit,
   SQLite synchronous=FULL, PostgreSQL with fsync on): reps stored per second, connect to
   last row. Also the store alone (batches of 100 written straight to the database).
2. One million reps (200 stations x 50 sessions x 10 sets x 10 reps) bulk-loaded, then the
   API through Starlette's in-process client: a session page, trends for one station,
   trends of the latest 1,000 sessions, the session list, the live documents, an athlete's
   load-velocity profile with its e1RM trend and the athletes list; median of
   several runs each. And the CSV export of one station and (SQLite) of the whole history,
   with how much the resident memory grew while streaming it.

Goals (issue 11): ingest >= 2,000 reps/s each; session page and trends <= 200 ms at 1M reps.
Prints figures; asserts nothing. `--reps N` for a smaller load, `--no-postgres` without it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.*

from firmware.hub import export, schema
from firmware.hub.app import create_app
from firmware.hub.ingest import Ingestor
from firmware.hub.records import classify, session_started_at
from firmware.hub.store import Filters, Store
from firmware.publishing.payloads import rep_payload
from tests.factories import make_rep
from tests.hub.helpers import HubBroker
from tests.mosquitto import Mosquitto, mosquitto_binary

INGEST_REPS = 10_000
INGEST_STATIONS = 50
STATIONS = 200
SESSIONS_PER_STATION = 50
SETS_PER_SESSION = 10
REPS_PER_SET = 10
RUNS = 7
LOAD_CHUNK = 20_000
ATHLETES = 50  # each trains at STATIONS / ATHLETES stations: 2,000 sets each at 1M reps
PROFILE_FIRST_LOAD_KG = 60.0
PROFILE_LOAD_STEP_KG = 10.0
# The generated sessions run from January to late February 2026: profiles "now" end here.
PROFILE_NOW = datetime(2026, 3, 1, tzinfo=UTC)
PREFIX = "repsled"


def rep_text(station: str, session: str, set_no: int, rep_no: int) -> str:
    rep = make_rep(set_no, rep_no, eccentric_s=2.0 + 0.1 * (rep_no % 10))
    payload = rep_payload(rep, station=station, session=session)
    return json.dumps(payload, separators=(",", ":"))


# ---- 1. ingest ---------------------------------------------------------------------------


def ingest_messages(count: int) -> list[tuple[str, str]]:
    out = []
    for n in range(count):
        station = f"st{n % INGEST_STATIONS:03d}"
        k = n // INGEST_STATIONS
        set_no, rep_no = k // REPS_PER_SET + 1, k % REPS_PER_SET + 1
        out.append(
            (f"{PREFIX}/{station}/rep", rep_text(station, "20261201T060000Z", set_no, rep_no))
        )
    return out


def publish_all(broker: Mosquitto, messages: list[tuple[str, str]], clients: int = 4) -> None:
    """Several station-like publishers at once, each waiting for its PUBACKs."""

    def one(part: list[tuple[str, str]]) -> None:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}"
        )
        client.max_inflight_messages_set(100)
        client.connect(broker.host, broker.port)
        client.loop_start()
        infos = [client.publish(t, p, qos=1) for t, p in part]
        for info in infos:
            info.wait_for_publish(60)
        client.disconnect()
        client.loop_stop()

    threads = [threading.Thread(target=one, args=(messages[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bench_ingest(name: str, url: str, broker: Mosquitto, count: int) -> None:
    """Rate of draining a backlog: the broker holds `count` reps for the hub's session, then
    the hub connects (a hub back after an outage; publishers' speed is not measured)."""
    store = Store.open(url)
    messages = ingest_messages(count)
    client_id = f"hub-{name}"
    ingestor = Ingestor(store, broker.host, broker.port, prefix=PREFIX, client_id=client_id)
    ingestor.start()  # once, so the broker knows the persistent session and its subscriptions
    if not ingestor.wait_subscribed(10):
        raise RuntimeError("hub did not subscribe")
    ingestor.stop()
    publish_all(broker, messages)
    ingestor = Ingestor(store, broker.host, broker.port, prefix=PREFIX, client_id=client_id)
    start = time.perf_counter()
    ingestor.start()
    deadline = time.monotonic() + 300
    while store.count() < count and time.monotonic() < deadline:
        time.sleep(0.05)  # poll the row count; the figure is taken when it reaches `count`
    elapsed = time.perf_counter() - start
    stored = store.count()
    ingestor.stop()
    lost = f", {count - stored} NOT STORED" if stored < count else ""
    print(
        f"ingest via MQTT into {name:<10} {stored / elapsed:8.0f} reps/s   "
        f"({stored} reps in {elapsed:.2f} s, {ingestor.stats.stored_batches} commits{lost})"
    )
    # The database alone: batches of 100 as the writer makes them under load.
    records = [classify(t, p.replace("20261201T060000Z", "20261201T070000Z").encode(), PREFIX)
               for t, p in messages]  # fmt: skip
    start = time.perf_counter()
    for i in range(0, len(records), 100):
        store.write(records[i : i + 100], [], time.time())  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    print(f"store.write into {name:<15} {len(records) / elapsed:8.0f} reps/s   (batches of 100)")
    store.close()


# ---- 2. one million reps -------------------------------------------------------------------


def generate_rows(total_reps: int):
    """(sessions, sets, reps) rows in chunks, payload text built from one template per rep no."""
    sessions_per_station = max(1, total_reps // (STATIONS * SETS_PER_SESSION * REPS_PER_SET))
    received = time.time()
    templates = {
        (s, r): rep_text("STATION", "SESSION", s, r)
        for s in range(1, SETS_PER_SESSION + 1)
        for r in range(1, REPS_PER_SET + 1)
    }
    set_template = json.dumps(
        {"type": "set", "schema": 1, "id": "STATION/SESSION/sSETNO", "station": "STATION",
         "session": "SESSION", "leg": "both", "set": 0, "reps": REPS_PER_SET, "t_start": 1.0,
         "t_end": 60.0, "mean_eccentric_s": 2.5, "time_under_tension_s": 40.0,
         "mean_concentric_velocity_m_s": 0.45, "best_concentric_velocity_m_s": 0.5,
         "last_concentric_velocity_m_s": 0.4, "velocity_loss_pct": 20.0, "reason": "rest"},
        separators=(",", ":"),
    )  # fmt: skip
    for st in range(STATIONS):
        station = f"legpress-{st:03d}"
        athlete = f"athlete-{st % ATHLETES:02d}"
        sessions, sets, reps = [], [], []
        for day in range(sessions_per_station):
            session = f"2026{1 + day // 28:02d}{1 + day % 28:02d}T{6 + st % 12:02d}0000Z"
            sessions.append((station, session, session_started_at(session, received)))
            for s in range(1, SETS_PER_SESSION + 1):
                set_id = f"{station}/{session}/s{s}"
                text = (
                    set_template.replace("STATION", station)
                    .replace("SESSION", session)
                    .replace("SETNO", str(s))
                    .replace('"set":0', f'"set":{s}')
                )
                load = PROFILE_FIRST_LOAD_KG + PROFILE_LOAD_STEP_KG * s
                best = round(1.2 - 0.005 * load, 3)  # one line per athlete: e1RM 198 kg
                sets.append((set_id, station, session, s, received, text, athlete, load, best))
                for r in range(1, REPS_PER_SET + 1):
                    payload = (
                        templates[(s, r)].replace("STATION", station).replace("SESSION", session)
                    )
                    lockout = "full" if r % 4 else "partial"
                    ecc, vel = 2.0 + 0.1 * r, 0.5 - 0.01 * r
                    row = (f"{set_id}/r{r}", station, session, s, r, set_id, "both", lockout)
                    reps.append((*row, ecc, vel, 4.0, received, payload))
        yield sessions, sets, reps


REP_COLUMNS = [c.name for c in schema.reps.columns]
SET_COLUMNS = [c.name for c in schema.sets.columns]


def bulk_load(store: Store, total_reps: int) -> float:
    """Load the history straight into the tables (COPY on PostgreSQL); returns seconds."""
    start = time.perf_counter()
    if store.dialect == "postgresql":
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            for sessions, sets, reps in generate_rows(total_reps):
                for table, columns, rows in (
                    ("sessions", ["station", "session", "started_at"], sessions),
                    ("sets", SET_COLUMNS, sets),
                    ("reps", REP_COLUMNS, reps),
                ):
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                        for row in rows:
                            copy.write_row(row)
            raw.commit()
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    else:
        with store.engine.begin() as conn:
            for sessions, sets, reps in generate_rows(total_reps):
                conn.execute(
                    schema.sessions.insert(),
                    [
                        dict(zip(["station", "session", "started_at"], r, strict=True))
                        for r in sessions
                    ],
                )
                conn.execute(
                    schema.sets.insert(), [dict(zip(SET_COLUMNS, r, strict=True)) for r in sets]
                )
                for i in range(0, len(reps), LOAD_CHUNK):
                    chunk = reps[i : i + LOAD_CHUNK]
                    rows = [dict(zip(REP_COLUMNS, r, strict=True)) for r in chunk]
                    conn.execute(schema.reps.insert(), rows)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    with store.engine.begin() as conn:
        for kind, fields in (("rep", list(json.loads(rep_text("a", "b", 1, 1)))),):
            conn.execute(
                schema.payload_fields.insert(),
                [{"kind": kind, "name": f, "first_seen": 0.0} for f in fields],
            )
    return time.perf_counter() - start


def rss_bytes() -> int:
    """This process's resident memory now (Linux), to see the export stream in flat memory."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def bench_history(name: str, url: str, total_reps: int) -> None:
    from starlette.testclient import TestClient

    store = Store.open(url)
    load_s = bulk_load(store, total_reps)
    count = store.count()
    print(f"\n{name}: {count:,} reps loaded in {load_s:.1f} s ({count / load_s:,.0f} rows/s)")
    station = f"legpress-{STATIONS // 2:03d}"
    session = store.sessions(Filters(station=station), 1)[0]["session"]
    with TestClient(create_app(store, clock=lambda: PROFILE_NOW)) as client:

        def get(path: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path)
                assert response.status_code == 200, response.text
                return response.content

            return call

        rows = [
            ("session page (API, 100 reps)", f"/api/v1/sessions/{station}/{session}"),
            ("trends, one station", f"/api/v1/trends?station={station}&limit=1000"),
            ("trends, latest 1000 sessions", "/api/v1/trends?limit=1000"),
            ("session list (100)", "/api/v1/sessions"),
            ("live (one doc per station)", "/api/v1/live"),
            ("athlete profile + e1RM trend", "/api/v1/athletes/athlete-07/profile"),
            ("athletes list", "/api/v1/athletes"),
        ]
        for label, path in rows:
            print(f"  {label:<32} median {timed(get(path)):7.1f} ms  (n={RUNS})")
    exports = [("one station", Filters(station=station))]
    if store.dialect == "sqlite":
        exports.append(("the whole history", Filters()))  # a minute: SQLite only
    for label, filters in exports:
        start_rss = max_rss = rss_bytes()
        start = time.perf_counter()
        size = rows = 0
        for chunk in export.csv_lines(store, filters):
            size += len(chunk)
            rows += chunk.count("\n")
            max_rss = max(max_rss, rss_bytes())
        elapsed = time.perf_counter() - start
        print(
            f"  CSV export of {label:<19} {elapsed * 1e3:9.1f} ms  ({rows - 1:,} reps, "
            f"{size / 1e6:.1f} MB, resident memory grew {(max_rss - start_rss) / 1e6:.1f} MB)"
        )
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1_000_000, help="history size (default 1M)")
    parser.add_argument("--ingest", type=int, default=INGEST_REPS, help="reps to ingest")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()

    from tests.hub.postgres import Postgres, pg_binary

    pg: Postgres | None = None
    if not args.no_postgres and pg_binary("initdb") is not None:
        pg = Postgres(fsync=True).start()
    elif not args.no_postgres:
        print("PostgreSQL binaries not found: PostgreSQL figures skipped")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
            if mosquitto_binary() is None:
                print("mosquitto not found: ingest figures skipped")
            else:
                with HubBroker(Path(tmp) / "mqtt") as broker:
                    bench_ingest("SQLite", f"sqlite:///{tmp}/ingest.sqlite3", broker, args.ingest)
                    if pg is not None:
                        bench_ingest("PostgreSQL", pg.create_db("ingest"), broker, args.ingest)
            bench_history("SQLite", f"sqlite:///{tmp}/history.sqlite3", args.reps)
            if pg is not None:
                bench_history("PostgreSQL", pg.create_db("history"), args.reps)
    finally:
        if pg is not None:
            pg.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
