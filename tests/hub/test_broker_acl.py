"""The shipped broker config and ACL: the hub user stores every station's reps and publishes
only the stations' profiles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from firmware.hub.ingest import Ingestor
from firmware.hub.store import Store
from firmware.station.zones import decode_profiles
from tests.deploy.test_mosquitto_acl import NOT_AUTHORIZED, Client, ShippedMosquitto
from tests.hub.helpers import athlete_session, ids_of, session_messages, wait_until
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


def test_hub_publishes_a_profile_the_station_accepts(broker, tmp_path):
    """Sets at three loads stored by the hub: the station's retained profile message follows."""
    store = Store.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    ingestor = Ingestor(
        store, broker.host, broker.port, client_id="hub-acl", username="hub", password="pw-hub"
    ).start()
    station = Client(broker, "legpress-1", USERS["legpress-1"])
    try:
        assert ingestor.wait_subscribed(WAIT_S)
        assert station.subscribe("repsled/legpress-1/profile") < 0x80
        session = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        # v = 1.2 - 0.005 × load: e1RM 198 kg at the default 0.21 m/s.
        sets = [(100.0, 0.7), (140.0, 0.5), (180.0, 0.3)]
        for topic, payload in athlete_session("legpress-1", session, "Ana", sets):
            assert station.publish(topic, payload.encode()) < 0x80

        def ana_profiled() -> bool:
            with station._lock:
                received = [p for t, p in station.messages if t.endswith("/profile")]
            return bool(received) and "Ana" in decode_profiles(received[-1])

        wait_until(ana_profiled, "a profile with Ana's line")
        profile = decode_profiles(station.messages[-1][1])["Ana"]
        assert profile.e1rm_kg == pytest.approx(198.0)
        assert profile.r_squared == pytest.approx(1.0)
        forger = Client(broker, "hub", USERS["hub"])
        try:
            assert forger.publish("repsled/legpress-1/next", b"{}") == NOT_AUTHORIZED
        finally:
            forger.close()
    finally:
        station.close()
        ingestor.stop()
        store.close()
