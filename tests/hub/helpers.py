"""Payloads as stations publish them, a QoS 1 publisher, and bounded waits for the hub tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import sqlalchemy as sa

from firmware.hub import schema
from firmware.hub.ingest import Ingestor
from firmware.hub.store import Store
from firmware.publishing.payloads import rep_payload, set_payload
from tests import factories
from tests.mosquitto import WAIT_S, Mosquitto

PREFIX = "repsled"
# What docs/hub.md asks of a hub's broker (deploy/mosquitto/repsled.conf has the same): past
# mosquitto's default queue of 1,000 messages per client, QoS 1 messages for the hub are
# dropped, and the tests publish bursts larger than that.
HUB_BROKER_SETTINGS = ["max_queued_messages 1000000", "max_inflight_messages 100"]
Message = tuple[str, str]  # (topic, payload text)
TEMPO = "3-1-X-0"  # the next set's tempo the athlete sessions carry


def session_messages(
    station: str,
    session: str = "20261201T071500Z",
    sets: int = 2,
    reps_per_set: int = 5,
    finish_last: bool = True,
) -> list[Message]:
    """A session as a station publishes it: each set's reps, then the set (unless still going)."""
    out: list[Message] = []
    for set_no in range(1, sets + 1):
        for rep_no in range(1, reps_per_set + 1):
            rep = factories.make_rep(
                set_no,
                rep_no,
                eccentric_s=2.0 + 0.1 * rep_no,
                velocity_m_s=round(0.6 - 0.02 * rep_no, 3),
            )
            payload = rep_payload(rep, station=station, session=session)
            out.append((f"{PREFIX}/{station}/rep", json.dumps(payload, separators=(",", ":"))))
        if finish_last or set_no < sets:
            done = factories.make_set_done(set_no, reps_per_set)
            payload = set_payload(done, station=station, session=session)
            out.append((f"{PREFIX}/{station}/set", json.dumps(payload, separators=(",", ":"))))
    return out


def ids_of(messages: list[Message], kind: str = "rep") -> list[str]:
    return sorted(json.loads(p)["id"] for t, p in messages if t.endswith(f"/{kind}"))


class HubBroker(Mosquitto):
    """The tests' mosquitto with the queue settings a hub's broker needs."""

    def _write_config(self) -> None:
        super()._write_config()
        with self.config_path.open("a", encoding="utf-8") as f:
            f.write("\n".join(HUB_BROKER_SETTINGS) + "\n")


class Publisher:
    """A plain paho client publishing at QoS 1 and waiting for each PUBACK."""

    def __init__(self, broker: Mosquitto) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}"
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def publish(self, messages: list[Message] | list[tuple[str, bytes]]) -> None:
        infos = [self.client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(WAIT_S)
            assert info.is_published(), "broker did not acknowledge a publish"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def publisher(broker: Mosquitto) -> Iterator[Publisher]:
    pub = Publisher(broker)
    try:
        yield pub
    finally:
        pub.close()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll a condition that becomes true within milliseconds when all is well."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # poll interval, not a wait for something to happen


def start_ingestor(store: Store, broker: Mosquitto, client_id: str = "hub-test") -> Ingestor:
    ingestor = Ingestor(store, broker.host, broker.port, prefix=PREFIX, client_id=client_id)
    ingestor.start()
    assert ingestor.wait_subscribed(WAIT_S), "hub did not subscribe"
    return ingestor


def stored_payloads(store: Store) -> dict[str, Any]:
    """Rep id -> the payload text as stored."""
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(schema.reps.c.id, schema.reps.c.payload)).all())


def athlete_session(
    station: str, session: str, athlete: str, sets: list[tuple[float, float]]
) -> list[Message]:
    """A session of `athlete`'s sets, one per (load_kg, best velocity), as a station publishes."""
    out: list[Message] = []
    for topic, text in session_messages(station, session, sets=len(sets), reps_per_set=2):
        payload = json.loads(text)
        load, best = sets[payload["set"] - 1]
        payload.update(athlete=athlete, load_kg=load, tempo=TEMPO)
        if payload["type"] == "set":
            payload["best_concentric_velocity_m_s"] = best
        out.append((topic, json.dumps(payload, separators=(",", ":"))))
    return out
