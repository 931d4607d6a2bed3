"""End to end: the next set from the dashboard form and from Home Assistant's controls
reaches a running station (fake chip, real MqttPublisher) through a real mosquitto with the
shipped ACL, each client logged in as its own user, and the station stamps every rep, which
the history hub (logged in as `hub`) stores and exports with the next set's columns.

The page sets Ana, 140 kg, tempo 2.5-1.8-X-0; Home Assistant then changes the athlete and the
load, one field each; the station republishes the whole next message, which the page shows;
both sets of the trace then carry Ben, 100 kg and the page's tempo.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.clock import FakeClock
from firmware.config import load
from firmware.hub import export
from firmware.hub.ingest import Ingestor
from firmware.hub.store import Store, make_filters
from firmware.publishing import discovery
from firmware.publishing.mqtt import MessageCallback, MqttPublisher
from firmware.publishing.outbox import Outbox
from firmware.station.next_set import NextSet, NextSetStore, encode
from firmware.station.sensors import open_source
from firmware.station.station import Station
from firmware.web.server import DashboardServer
from tempo.prescription import parse_tempo
from tests.hub.helpers import wait_until
from tests.mosquitto import Mosquitto, shipped_acl_files
from tests.web.helpers import REPO, panel

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.broker]

WAIT_MS = 10_000  # bounded waits, never a sleep
WAIT_S = 10.0
STATION = "legpress-1"
PREFIX = "repsled"
NEXT_TOPIC = f"{PREFIX}/{STATION}/next"
PROFILE_TOPIC = f"{PREFIX}/{STATION}/profile"
TRACE = REPO / "examples" / "traces" / "two_sets_with_rest.csv"
USERS = {STATION: "pw-station", "dashboard": "pw-dash", "homeassistant": "pw-ha", "hub": "pw-hub"}
FINAL = NextSet("Ben", 100.0, "both", parse_tempo("2.5-1.8-X-0"))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    passwd, acl = shipped_acl_files(tmp_path, USERS)
    with Mosquitto(
        tmp_path / "mosquitto", websockets=True, password_file=passwd, acl_file=acl
    ) as b:
        yield b


class Client:
    """paho logged in as one user of the shipped ACL; records what it subscribed to."""

    def __init__(self, broker: Mosquitto, user: str, topics: tuple[str, ...] = ()) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(user, USERS[user])
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_args: (
            c.subscribe([(t, 1) for t in topics]) if topics else subscribed.set()
        )
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.wait(WAIT_S), f"{user} could not connect and subscribe"

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    def wait_for(self, predicate: Any) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), WAIT_S)

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(WAIT_S)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class HeardPublisher(MqttPublisher):
    """The real publisher, telling the test which subscribed topics delivered a message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heard: queue.Queue[str] = queue.Queue()

    def subscribe(self, topic: str, callback: MessageCallback, *, qos: int = 1) -> None:
        def heard(got_topic: str, payload: bytes) -> object:
            result = callback(got_topic, payload)
            self.heard.put(got_topic)
            return result

        super().subscribe(topic, heard, qos=qos)

    def wait_heard(self, topics: list[str]) -> None:
        """Wait until these topics delivered, in this order (others in between are fine)."""
        for want in topics:
            while (got := self.heard.get(timeout=WAIT_S)) != want:
                pass
            assert got == want


def _station(tmp_path: Path, publisher: MqttPublisher) -> Station:
    path = tmp_path / "station.toml"
    text = TRACE.with_suffix(".toml").read_text(encoding="utf-8")
    path.write_text(text + f'\n[mqtt]\nstation = "{STATION}"\n', encoding="utf-8")
    cfg = load(path)
    clock = FakeClock()
    source = open_source(
        f"fake:{TRACE}", bus=1, address=0x29, timing_budget_ms=33, io_timeout_s=0.5, clock=clock
    )
    state = tmp_path / "state"
    state.mkdir()
    return Station(
        cfg,
        clock=clock,
        source=source,
        publisher=publisher,
        session="S1",
        next_set_store=NextSetStore.in_dir(state),
    )


def test_dashboard_and_home_assistant_set_the_next_set_of_a_running_station(
    page: Any, broker: Mosquitto, tmp_path: Path
) -> None:
    # A retained profile message, heard last of the station's subscriptions at connect: once
    # it arrives, the broker has the field-command subscriptions (they are not retained).
    hub = Client(broker, STATION)
    hub.publish(PROFILE_TOPIC, '{"type":"profile","schema":1,"athletes":{}}', retain=True)
    hub.close()
    secret = tmp_path / "station.secret"
    secret.write_text(USERS[STATION], encoding="utf-8")
    mqtt = {
        "host": broker.host,
        "port": broker.port,
        "discovery": False,
        "username": STATION,
        "password_file": str(secret),
    }
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1000)
    store = Store.open(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    ingestor = Ingestor(
        store, broker.host, broker.port, client_id="hub-e2e", username="hub", password="pw-hub"
    ).start()
    assert ingestor.wait_subscribed(WAIT_S)
    publisher = HeardPublisher(mqtt, outbox, station=STATION).start()
    sub = Client(broker, "dashboard", (f"{PREFIX}/{STATION}/rep", f"{PREFIX}/{STATION}/set"))
    ha = Client(broker, "homeassistant")
    login = ("dashboard", USERS["dashboard"])
    try:
        station = _station(tmp_path, publisher)
        publisher.wait_heard([PROFILE_TOPIC])
        with DashboardServer(broker.url(), PREFIX, broker_login=login) as server:
            page.goto(server.url)
            view = panel(page, STATION)
            expect(view.get_by_test_id("status")).to_have_text("online", timeout=WAIT_MS)

            # 1. The dashboard form: the whole next set.
            view.get_by_test_id("next-athlete").fill("Ana")
            view.get_by_test_id("next-load").fill("140")
            view.get_by_test_id("next-tempo").fill("2.5-1.8-x-0")
            view.get_by_test_id("next-submit").click()
            publisher.wait_heard([NEXT_TOPIC])
            assert station.prescriptions.pending == NextSet(
                "Ana", 140.0, "both", parse_tempo("2.5-1.8-X-0")
            )

            # 2. Home Assistant's controls: one plain value per field.
            for field, value in (("athlete", "Ben"), ("load_kg", "100.0")):
                ha.publish(discovery.next_command_topic(PREFIX, STATION, field), value)
            athlete_topic = discovery.next_command_topic(PREFIX, STATION, "athlete")
            load_topic = discovery.next_command_topic(PREFIX, STATION, "load_kg")
            # Each command, then the station's own republished next messages coming back.
            publisher.wait_heard([athlete_topic, load_topic, NEXT_TOPIC, NEXT_TOPIC])
            assert station.prescriptions.pending == FINAL
            expect(view.get_by_test_id("next-current")).to_have_text(
                "Ben · 100 kg · tempo 2.5-1.8-X-0"
            )
        reader = Client(broker, "dashboard", (NEXT_TOPIC,))
        try:
            assert reader.wait_for(lambda ms: len(ms) >= 1)
            [(_, payload, retained)] = reader.messages
        finally:
            reader.close()
        assert retained and payload.decode() == encode(FINAL)

        # 3. The station lifts: every rep and set carries the next set.
        station.run()
        assert sub.wait_for(lambda ms: sum(t.endswith("/set") for t, _, _ in ms) == 2)
        wait_until(lambda: store.count("rep") == 11 and store.count("set") == 2, "hub stored")
        # 4. The history: the CSV export carries the next set on every rep.
        text = "".join(export.csv_lines(store, make_filters(station=STATION)))
        exported = list(csv.DictReader(io.StringIO(text, newline="")))
        assert len(exported) == 11
        assert {(r["athlete"], r["load_kg"], r["tempo"]) for r in exported} == {
            ("Ben", "100.0", "2.5-1.8-X-0")
        }
    finally:
        ingestor.stop()
        store.close()
        publisher.close()
        outbox.close()
        sub.close()
        ha.close()
    published = [json.loads(p) for _, p, _ in sub.messages]
    assert len([p for p in published if "revision" not in p]) == 13  # 11 reps and 2 sets
    assert {(p["athlete"], p["load_kg"], p["tempo"]) for p in published} == {
        ("Ben", 100.0, "2.5-1.8-X-0")
    }
