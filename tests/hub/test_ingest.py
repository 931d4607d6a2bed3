"""The hub stores every rep and set exactly once: real mosquitto, real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

import pytest

from firmware.config import SCHEMA
from firmware.hub.ingest import Ingestor
from firmware.hub.store import Store
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.outbox import Outbox
from tests.hub.helpers import (
    PREFIX,
    HubBroker,
    ids_of,
    publisher,
    session_messages,
    start_ingestor,
    stored_payloads,
    wait_until,
)
from tests.hub.postgres import Postgres
from tests.mosquitto import WAIT_S, Mosquitto

pytestmark = pytest.mark.broker


@pytest.fixture
def broker(tmp_path) -> Iterator[Mosquitto]:
    with HubBroker(tmp_path / "mqtt", persistence=True) as b:
        yield b


def test_a_station_run_arrives_once_exactly_as_published(store, broker, tmp_path):
    """The station's real publisher (outbox, QoS 1) to the hub: every rep and set, once."""
    messages = session_messages("legpress-1", sets=3, reps_per_set=6)
    mqtt_cfg = {key: spec.default for key, spec in SCHEMA["mqtt"].items()}
    mqtt_cfg.update(host=broker.host, port=broker.port, station="legpress-1", discovery=False)
    ingestor = start_ingestor(store, broker)
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1000)
    station = MqttPublisher(mqtt_cfg, outbox, station="legpress-1").start()
    try:
        for topic, text in messages:
            payload = json.loads(text)
            if topic.endswith("/rep"):
                station.publish_rep(payload)
            else:
                station.publish_set(payload)
        wait_until(lambda: store.count("rep") == 18 and store.count("set") == 3, "all stored")
    finally:
        station.close()
        outbox.close()
        ingestor.stop()
    assert store.ids("rep") == ids_of(messages, "rep")
    assert store.ids("set") == ids_of(messages, "set")
    stored = stored_payloads(store)
    for topic, text in messages:
        if topic.endswith("/rep"):
            assert json.loads(stored[json.loads(text)["id"]]) == json.loads(text)
    assert ingestor.stats.malformed == 0


def test_duplicates_are_stored_once_and_malformed_skipped(store, broker, caplog):
    messages = session_messages("legpress-2", sets=1, reps_per_set=3)
    rep_topic = f"{PREFIX}/legpress-2/rep"
    bad: list[tuple[str, bytes]] = [
        (rep_topic, b"{not json"),
        (rep_topic, b"\xff\xfe"),
        (rep_topic, b"[1, 2]"),
        (rep_topic, b"[" * 200_000),  # nested past Python's recursion limit
        (rep_topic, json.dumps({**json.loads(messages[0][1]), "id": "x/y/s1/r1"}).encode()),
        (rep_topic, json.dumps({**json.loads(messages[0][1]), "station": "other"}).encode()),
        (rep_topic, json.dumps({**json.loads(messages[0][1]), "set": "one"}).encode()),
        (f"{PREFIX}/legpress-2/set", messages[0][1].encode()),  # a rep on the set topic
        (rep_topic, b'{"schema": 1, "type": "rep", "station": "legpress-2\\u0000"}'),
    ]
    caplog.set_level(logging.WARNING, logger="repsled.hub")
    ingestor = start_ingestor(store, broker)
    try:
        with publisher(broker) as pub:
            pub.publish(messages)
            pub.publish(bad)
            pub.publish(messages)  # every rep and set a second time
            pub.publish([messages[0]])
        wait_until(lambda: ingestor.stats.messages == 2 * len(messages) + len(bad) + 1, "all seen")
    finally:
        ingestor.stop()
    assert store.ids("rep") == ids_of(messages, "rep")
    assert store.ids("set") == ids_of(messages, "set")
    assert ingestor.stats.malformed == len(bad)
    skipped = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == len(bad)
    assert all(line.count("\n") == 0 for line in skipped)


def test_a_future_schema_is_kept_aside_and_logged_once(store, broker, caplog):
    future = {**json.loads(session_messages("legpress-3")[0][1]), "schema": 2, "new": [1]}
    topic = f"{PREFIX}/legpress-3/rep"
    caplog.set_level(logging.WARNING, logger="repsled.hub")
    ingestor = start_ingestor(store, broker)
    try:
        with publisher(broker) as pub:
            pub.publish([(topic, json.dumps(future)), (topic, json.dumps(future))])
        wait_until(lambda: len(store.kept_aside()) == 2, "kept aside")
    finally:
        ingestor.stop()
    assert store.count("rep") == 0
    assert [(t, json.loads(p)) for t, _, p in store.kept_aside()] == [(topic, future)] * 2
    logged = [r.getMessage() for r in caplog.records if "kept aside" in r.getMessage()]
    assert len(logged) == 1 and topic in logged[0] and "schema 2" in logged[0]


def test_messages_published_while_the_hub_is_away_arrive(store, broker):
    """The persistent session: the broker queues for the hub's fixed client id."""
    first = session_messages("legpress-4", session="20261201T070000Z")
    later = session_messages("legpress-4", session="20261201T080000Z")
    ingestor = start_ingestor(store, broker)
    with publisher(broker) as pub:
        pub.publish(first)
        wait_until(lambda: store.count("rep") == 10, "first session stored")
        ingestor.stop()
        pub.publish(later)
    ingestor = start_ingestor(store, broker)
    try:
        wait_until(lambda: store.count("rep") == 20, "second session stored")
    finally:
        ingestor.stop()
    assert store.ids("rep") == sorted(ids_of(first) + ids_of(later))


def test_broker_restart_loses_nothing(store, broker):
    before = session_messages("legpress-5", session="20261201T070000Z")
    after = session_messages("legpress-5", session="20261201T090000Z")
    ingestor = start_ingestor(store, broker)
    try:
        with publisher(broker) as pub:
            pub.publish(before)
        wait_until(lambda: store.count("rep") == 10, "stored before the restart")
        broker.stop()
        broker.start()
        wait_until(lambda: ingestor.wait_subscribed(0), "hub back on the broker")
        with publisher(broker) as pub:
            pub.publish(after)
        wait_until(lambda: store.count("rep") == 20, "stored after the restart")
    finally:
        ingestor.stop()
    assert store.ids("rep") == sorted(ids_of(before) + ids_of(after))
    assert store.count("set") == 4


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A cluster of its own: this test stops and starts it."""
    cluster = Postgres().start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_postgres_restart_mid_run_loses_nothing_and_acks_only_committed(own_postgres, broker):
    """While PostgreSQL is down nothing is acknowledged: even a hub stopped then loses nothing."""
    store = Store.open(own_postgres.create_db("restart"))
    first = session_messages("legpress-6", session="20261201T070000Z")
    during = session_messages("legpress-6", session="20261201T080000Z")
    after = session_messages("legpress-6", session="20261201T090000Z")
    ingestor = start_ingestor(store, broker)
    try:
        with publisher(broker) as pub:
            pub.publish(first)
            wait_until(lambda: store.count("rep") == 10, "stored before the outage")
            own_postgres.stop()
            pub.publish(during)
            wait_until(lambda: ingestor.stats.db_failures >= 1, "a failed commit")
            ingestor.stop()  # a hub that gives up while the database is down acked nothing
            own_postgres.start()
            ingestor = start_ingestor(store, broker)
            pub.publish(after)
            wait_until(lambda: store.count("rep") == 30, "everything stored")
    finally:
        ingestor.stop()
        store.close()
    assert store.ids("rep") == sorted(ids_of(first) + ids_of(during) + ids_of(after))


def test_postgres_restart_under_a_running_hub(own_postgres, broker):
    store = Store.open(own_postgres.create_db("running"))
    first = session_messages("legpress-7", session="20261201T070000Z")
    during = session_messages("legpress-7", session="20261201T080000Z")
    ingestor = start_ingestor(store, broker)
    try:
        with publisher(broker) as pub:
            pub.publish(first)
            wait_until(lambda: store.count("rep") == 10, "stored before the outage")
            own_postgres.stop()
            pub.publish(during)
            wait_until(lambda: ingestor.stats.db_failures >= 1, "a failed commit")
            own_postgres.start()
            wait_until(lambda: store.count("rep") == 20, "stored after the outage")
    finally:
        ingestor.stop()
        store.close()
    assert store.ids("rep") == sorted(ids_of(first) + ids_of(during))


def test_an_unexpected_error_stops_storing_loudly_and_loses_nothing(store, broker, monkeypatch):
    messages = session_messages("legpress-8", sets=1, reps_per_set=2)
    failures: list[str] = []
    real_write = store.write

    def broken_write(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(store, "write", broken_write)
    ingestor = Ingestor(
        store, broker.host, broker.port, prefix=PREFIX, client_id="hub-test",
        on_failure=failures.append,
    ).start()  # fmt: skip
    assert ingestor.wait_subscribed(15)
    with publisher(broker) as pub:
        pub.publish(messages)
    wait_until(lambda: failures == ["storing stopped: RuntimeError: a bug"], "the failure")
    ingestor.stop()
    monkeypatch.setattr(store, "write", real_write)
    ingestor = start_ingestor(store, broker)  # same client id: the broker delivers them again
    try:
        wait_until(lambda: store.count("rep") == 2 and store.count("set") == 1, "stored")
    finally:
        ingestor.stop()


def test_a_hub_started_before_the_broker_connects_when_it_comes(store, broker):
    broker.stop()
    ingestor = Ingestor(store, broker.host, broker.port, prefix=PREFIX, client_id="hub-early")
    ingestor.start()
    try:
        assert not ingestor.wait_subscribed(0)
        broker.start()
        assert ingestor.wait_subscribed(30), "hub never reached the broker"
        messages = session_messages("legpress-9", sets=1, reps_per_set=2)
        with publisher(broker) as pub:
            pub.publish(messages)
        wait_until(lambda: store.count("rep") == 2, "stored")
    finally:
        ingestor.stop()


def test_a_stop_leaves_behind_a_database_call_that_hangs_and_loses_nothing(
    store, broker, monkeypatch, caplog
):
    messages = session_messages("legpress-10", sets=1, reps_per_set=2)
    real_write = store.write
    inside, release = threading.Event(), threading.Event()

    def hanging_write(*args, **kwargs):
        inside.set()
        release.wait()  # a database host gone from the network: no answer until released
        return real_write(*args, **kwargs)

    monkeypatch.setattr(store, "write", hanging_write)
    ingestor = start_ingestor(store, broker)
    with publisher(broker) as pub:
        pub.publish(messages)
    assert inside.wait(WAIT_S), "the writer never began to store"
    with caplog.at_level(logging.WARNING, logger="repsled.hub"):
        assert ingestor.stop(timeout=0.0) is False
    assert "the database has not answered" in caplog.text
    # The abandoned write completes after the hub let go of the broker: its late
    # acknowledgements go nowhere, so the broker delivers the messages again.
    monkeypatch.setattr(store, "write", real_write)
    release.set()
    ingestor = start_ingestor(store, broker)
    try:
        wait_until(lambda: store.count("rep") == 2 and store.count("set") == 1, "stored")
    finally:
        assert ingestor.stop() is True
    assert store.ids("rep") == sorted(ids_of(messages))
