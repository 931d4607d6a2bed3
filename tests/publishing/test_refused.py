"""A broker that takes the station's publishes but does not deliver them (its ACL) keeps reps.

The shipped ACL (deploy/mosquitto/acl) lets a station publish under repsled/USER/#; a station
whose user name is not its station name has every publish refused, yet under MQTT 3.1.1
mosquitto still sends PUBACK. The publisher learns it from the missing echo (3.1.1) or the
reason code (MQTT 5), keeps every rep in the outbox and names the fix once.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.mosquitto import Mosquitto, Subscriber

from .conftest import STATION, WAIT_S, make_rep, make_set, mqtt_section

pytestmark = pytest.mark.broker

ACL = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "acl"
WRONG_USER = "legpress1"  # station legpress-1: one character off, as in the field
USERS = {WRONG_USER: "pw-wrong", STATION: "pw-right", "homeassistant": "pw-ha"}


class HomeAssistant(Subscriber):
    """A subscriber logged in as the ACL's read-everything user."""

    def __init__(self, broker: Mosquitto, topics: list[str]) -> None:
        self.messages = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._topics = topics
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"ha-{uuid.uuid4().hex[:8]}"
        )
        self.client.username_pw_set("homeassistant", USERS["homeassistant"])
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(WAIT_S), "subscriber got no SUBACK"


@pytest.fixture
def acl_broker(tmp_path):
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not found (apt-get install mosquitto)")
    users = tmp_path / "users"
    for n, (user, password) in enumerate(USERS.items()):
        create = ["-c"] if n == 0 else []
        subprocess.run([tool, *create, "-b", str(users), user, password], check=True)
    with Mosquitto(tmp_path / "broker", password_file=users, acl_file=ACL) as broker:
        yield broker


def _section(broker: Mosquitto, user: str, protocol: str):
    secret = broker.dir / f"{user}.pw"
    secret.write_text(USERS[user] + "\n")
    return mqtt_section(
        broker, username=user, password_file=str(secret), discovery=False, protocol=protocol
    )


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_refused_publishes_keep_every_rep_and_name_the_fix(
    acl_broker, outbox, logwatch, publisher, protocol
):
    ha = HomeAssistant(acl_broker, [f"repsled/{STATION}/#"])
    try:
        section = _section(acl_broker, WRONG_USER, protocol)
        pub, watch = publisher(section, outbox, echo_timeout_s=0.2, refused_retry_s=0.2)
        assert watch.wait(True)

        def refusals(records):
            return [r for r in records if "does not accept" in r.getMessage()]

        # The start-up check: refused before any rep, from the station's own "online".
        assert logwatch.wait(refusals), [r.getMessage() for r in logwatch.records]
        sent = [make_rep(1, i) for i in range(1, 18)]
        for rep in sent:
            pub.publish_rep(rep)
        pub.publish_set(make_set(1, 17))
        assert pub.wait_stored(WAIT_S)

        def retries(records):
            return [r for r in records if "offering the refused messages" in r.getMessage()]

        # Offered again (and refused again) at least twice after every rep was stored.
        seen = len(retries(logwatch.records))
        assert logwatch.wait(lambda rs: len(retries(rs)) >= seen + 2)
        assert len(outbox) == 18, "a refused rep left the outbox"
        assert pub.health()["delivery"] == "refused"
        [error] = refusals(logwatch.records)  # one line, not one per rep or retry
        text = error.getMessage()
        assert error.levelno == logging.ERROR and "\n" not in text
        assert f"user '{WRONG_USER}'" in text
        assert f"repsled/{STATION}/" in text
        assert "pattern readwrite repsled/%u/#" in text
        assert f"username is the station name '{STATION}'" in text
        assert ha.payloads(f"repsled/{STATION}/rep") == []
        pub.close()

        # The fix: the right user name. Everything kept is delivered.
        fixed, watch = publisher(_section(acl_broker, STATION, protocol), outbox)
        assert watch.wait(True)
        ids = {r["id"] for r in sent}
        assert ha.wait_for(lambda m: ids <= {r["id"] for r in ha.json(f"repsled/{STATION}/rep")})
        assert ha.wait_for(lambda m: any(t.endswith("/set") for t, _, _ in m))
        fixed.close()
        assert len(outbox) == 0
        assert fixed.health()["delivery"] == "ok"
    finally:
        ha.close()
