"""The shipped broker persistence: reps queued for a subscriber that is away survive the broker
being killed with -9 (a power cut of the broker's box), once the autosave has run."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.mosquitto import Mosquitto

from .conftest import STATION, WAIT_S, make_rep, mqtt_section

pytestmark = pytest.mark.broker

CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "repsled.conf"
SAVING = "Saving in-memory database"


def shipped_persistence_lines() -> list[str]:
    return [
        line.strip()
        for line in CONF.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("autosave_")
    ]


def test_shipped_autosave_is_short():
    lines = shipped_persistence_lines()
    [interval] = [
        int(m.group(1)) for ln in lines if (m := re.fullmatch(r"autosave_interval (\d+)", ln))
    ]
    assert 1 <= interval <= 10
    assert "autosave_on_changes false" in lines


class ShippedPersistence(Mosquitto):
    """The test broker with persistence and the shipped autosave lines."""

    def __init__(self, tmp_dir: Path) -> None:
        super().__init__(tmp_dir, persistence=True)

    def _write_config(self) -> None:
        super()._write_config()
        with self.config_path.open("a", encoding="utf-8") as f:
            f.write("\n".join(shipped_persistence_lines()) + "\n")


class AwaySubscriber:
    """A persistent-session subscriber (like the hub) that can go away and come back."""

    def __init__(self, broker: Mosquitto, topic: str) -> None:
        self.broker, self.topic = broker, topic
        self.ids: list[str] = []
        self.cond = threading.Condition()
        self.client: mqtt.Client | None = None

    def connect(self) -> None:
        subscribed = threading.Event()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="hub-away", clean_session=False
        )
        client.on_connect = lambda c, *a: c.subscribe(self.topic, qos=1)
        client.on_subscribe = lambda *a: subscribed.set()
        client.on_message = self._on_message
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        assert subscribed.wait(WAIT_S)
        self.client = client

    def _on_message(self, client, userdata, msg) -> None:
        with self.cond:
            self.ids.append(json.loads(msg.payload)["id"])
            self.cond.notify_all()

    def away(self) -> None:
        assert self.client is not None
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, ids: set[str]) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: ids <= set(self.ids), WAIT_S)


def test_queued_reps_survive_a_broker_killed_after_the_autosave(tmp_path, outbox, publisher):
    broker = ShippedPersistence(tmp_path / "broker").start()
    try:
        hub = AwaySubscriber(broker, f"repsled/{STATION}/rep")
        hub.connect()
        hub.away()
        pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
        assert watch.wait(True)
        sent = {make_rep(1, i)["id"] for i in range(1, 21)}
        for i in range(1, 21):
            pub.publish_rep(make_rep(1, i))
        assert pub.wait_stored(WAIT_S)
        saves = broker.log().count(SAVING)
        db = broker.dir / "mosquitto.db"
        before = db.stat().st_mtime_ns if db.exists() else None
        pub.close()
        assert len(outbox) == 0  # the station let go: they are the broker's now
        # Wait (bounded by the interval) for the broker's next autosave, then cut its power.
        deadline_s = WAIT_S
        start = time.monotonic()

        def saved() -> bool:
            # The log line comes before the write; the file is written aside, then renamed.
            if broker.log().count(SAVING) <= saves or not db.exists():
                return False
            return db.stat().st_mtime_ns != before and not db.with_suffix(".db.new").exists()

        while not saved() and time.monotonic() - start < deadline_s:
            time.sleep(0.05)  # polling the broker's log and its database file for the save
        assert saved(), broker.log()[-2000:]
        assert broker._proc is not None
        broker._proc.kill()
        broker._proc.wait(WAIT_S)
        broker._proc = None
        broker.start()
        hub.connect()
        assert hub.wait_for(sent), (len(set(hub.ids)), broker.log()[-2000:])
        hub.away()
    finally:
        broker.terminate()
