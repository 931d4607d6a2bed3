"""The shipped broker config and ACL let the hub user store every station's reps, write nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware.hub.ingest import Ingestor
from firmware.hub.store import Store
from tests.deploy.test_mosquitto_acl import NOT_AUTHORIZED, Client, ShippedMosquitto
from tests.hub.helpers import ids_of, session_messages, wait_until
from tests.mosquitto import WAIT_S, shipped_acl_files

pytestmark = pytest.mark.broker

USERS = {"legpress-1": "pw-one", "hub": "pw-hub"}


@pytest.fixture
def broker(tmp_path) -> Iterator[ShippedMosquitto]:
    passwd, acl = shipped_acl_files(tmp_path, USERS)
    with ShippedMosquitto(tmp_path, password_file=passwd, acl_file=acl) as b:
        yield b


def test_hub_user_stores_a_station_and_cannot_publish(broker, tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    ingestor = Ingestor(
        store, broker.host, broker.port, client_id="hub-acl", username="hub", password="pw-hub"
    ).start()
    station = Client(broker, "legpress-1", USERS["legpress-1"])
    forger = Client(broker, "hub", USERS["hub"])
    try:
        assert ingestor.wait_subscribed(WAIT_S)
        messages = session_messages("legpress-1", sets=1, reps_per_set=3)
        for topic, payload in messages:
            assert station.publish(topic, payload.encode()) < 0x80
        wait_until(lambda: store.count("rep") == 3 and store.count("set") == 1, "stored")
        assert store.ids("rep") == ids_of(messages)
        assert forger.publish("repsled/legpress-1/rep", b"forged") == NOT_AUTHORIZED
        assert forger.publish("repsled/hub/rep", b"forged") == NOT_AUTHORIZED
    finally:
        station.close()
        forger.close()
        ingestor.stop()
        store.close()
