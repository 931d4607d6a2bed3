"""deploy/mosquitto: the shipped config and ACL, run by a real mosquitto on 127.0.0.1.

The config is copied with its listener lines rewritten to free ports on 127.0.0.1. The
WebSockets listener becomes a plain MQTT listener with the same settings: mosquitto 2.0 binds
WebSockets on every interface whatever address is given, and tests listen on the loopback
only; what is tested here (who may log in, read and write) does not depend on the transport.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from firmware.publishing import discovery
from tests.mosquitto import HOST, Mosquitto, free_port, shipped_acl_files

pytestmark = pytest.mark.broker

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "deploy" / "mosquitto" / "repsled.conf"
ACL = REPO / "deploy" / "mosquitto" / "acl"
WAIT_S = 10.0  # upper bound for the broker's answers; never reached when things work
NOT_AUTHORIZED = 0x87

USERS = {
    "legpress-1": "pw-one",
    "legpress-2": "pw-two",
    "dashboard": "pw-dash",
    "homeassistant": "pw-ha",
}


def adapt_config(text: str, ports: dict[str, int], password_file: Path, acl_file: Path) -> str:
    """The shipped config with each listener moved to 127.0.0.1:ports[its shipped port],
    WebSockets served as plain MQTT, and the test's password and ACL files."""
    out = ["log_dest stderr", "persistence false"]
    if os.name == "posix" and os.geteuid() == 0:
        # As root mosquitto would switch to the "mosquitto" user, which cannot read tmp dirs.
        out.insert(0, "user root")
    for line in text.splitlines():
        words = line.split()
        key = words[0] if words and not line.startswith("#") else ""
        if key == "listener":
            out.append(f"listener {ports[words[1]]} {HOST}")
        elif key == "protocol":
            out.append("protocol mqtt")
        elif key == "password_file":
            out.append(f"password_file {password_file}")
        elif key == "acl_file":
            out.append(f"acl_file {acl_file}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


class ShippedMosquitto(Mosquitto):
    """The shared test broker, configured from deploy/mosquitto instead of its own lines.

    `port` stands for 1883 (passwords required), `browser_port` for 9001 (anonymous may
    read). The browser listener comes first in the file, so once `port` accepts, both do.
    """

    def __init__(self, tmp_dir: Path, password_file: Path, acl_file: Path) -> None:
        self.browser_port = free_port()
        super().__init__(tmp_dir, password_file=password_file, acl_file=acl_file)

    def _write_config(self) -> None:
        assert self.password_file is not None and self.acl_file is not None
        ports = {"1883": self.port, "9001": self.browser_port}
        text = adapt_config(
            CONF.read_text(encoding="utf-8"), ports, self.password_file, self.acl_file
        )
        self.config_path.write_text(text, encoding="utf-8")


def test_adapt_config_moves_every_listener_to_the_loopback(tmp_path):
    ports = {"1883": 1234, "9001": 5678}
    text = adapt_config(CONF.read_text(encoding="utf-8"), ports, tmp_path / "p", tmp_path / "a")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    listeners = [ln for ln in lines if ln.startswith("listener")]
    assert listeners == [f"listener 5678 {HOST}", f"listener 1234 {HOST}"]
    assert lines.count(f"password_file {tmp_path / 'p'}") == 2
    assert "protocol websockets" not in lines


def test_shipped_config_listeners():
    lines = CONF.read_text(encoding="utf-8").splitlines()
    ws = lines.index("listener 9001")
    tcp = lines.index("listener 1883")
    assert lines[ws + 1 : ws + 3] == ["protocol websockets", "allow_anonymous false"]
    assert lines[tcp + 1 : tcp + 3] == ["protocol mqtt", "allow_anonymous false"]
    assert "per_listener_settings true" in lines


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[ShippedMosquitto]:
    tmp = tmp_path_factory.mktemp("broker")
    passwd, acl = shipped_acl_files(tmp, USERS)
    with ShippedMosquitto(tmp, password_file=passwd, acl_file=acl) as b:
        yield b


class Client:
    """A blocking MQTT 5 client: v5 PUBACKs carry 'not authorized', 3.1.1 ones do not."""

    def __init__(
        self, broker: ShippedMosquitto, user: str, password: str | None, port: int | None = None
    ) -> None:
        self.c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"t-{user}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        if password is not None:
            self.c.username_pw_set(user, password)
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Condition()
        self._acks: dict[int, ReasonCode] = {}
        self._connected = threading.Event()
        self.connect_rc: ReasonCode | None = None
        self.c.on_connect = self._on_connect
        self.c.on_publish = self._on_publish
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = self._on_message
        self.c.connect(broker.host, port or broker.port)
        self.c.loop_start()
        assert self._connected.wait(WAIT_S), "no CONNACK"

    def _on_connect(self, client, userdata, flags, rc, props):
        self.connect_rc = rc
        self._connected.set()

    def _on_publish(self, client, userdata, mid, rc, props):
        with self._lock:
            self._acks[mid] = rc
            self._lock.notify_all()

    def _on_subscribe(self, client, userdata, mid, rcs, props):
        with self._lock:
            self._acks[mid] = rcs[0]
            self._lock.notify_all()

    def _on_message(self, client, userdata, msg):
        with self._lock:
            self.messages.append((msg.topic, msg.payload))
            self._lock.notify_all()

    def _ack(self, mid: int) -> ReasonCode:
        with self._lock:
            assert self._lock.wait_for(lambda: mid in self._acks, WAIT_S), f"no ack for {mid}"
            return self._acks.pop(mid)

    def publish(self, topic: str, payload: bytes) -> int:
        """Reason code of the PUBACK (QoS 1)."""
        info = self.c.publish(topic, payload, qos=1)
        return self._ack(info.mid).value

    def subscribe(self, topic: str) -> int:
        """Reason code of the SUBACK: the granted QoS, or >= 0x80 when refused."""
        _, mid = self.c.subscribe(topic, qos=1)
        assert mid is not None
        return self._ack(mid).value

    def wait_for(self, payload: bytes) -> list[tuple[str, bytes]]:
        """Messages received up to and including `payload` (a sentinel published last)."""
        with self._lock:
            ok = self._lock.wait_for(lambda: any(p == payload for _, p in self.messages), WAIT_S)
            assert ok, f"{payload!r} never arrived; got {self.messages}"
            return list(self.messages)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


_OWN = "own"


@pytest.fixture
def connect(broker) -> Iterator:
    """connect(user) logs in with the user's password; password=None is anonymous."""
    made: list[Client] = []

    def make(user: str, password: str | None = _OWN, *, browser: bool = False) -> Client:
        pw = USERS.get(user) if password == _OWN else password
        client = Client(broker, user, pw, broker.browser_port if browser else None)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_station_publishes_its_discovery_configs_and_hears_home_assistant(connect):
    """Every topic that discovery publishes must pass the ACL's per-sensor patterns."""
    station = connect("legpress-1")
    assert station.subscribe("homeassistant/status") < 0x80
    messages = discovery.config_messages(
        prefix="repsled", station="legpress-1", discovery_prefix="homeassistant"
    )
    for topic, payload in messages:
        assert station.publish(topic, payload.encode()) < 0x80, topic
    other = discovery.config_messages(
        prefix="repsled", station="legpress-2", discovery_prefix="homeassistant"
    )
    for topic, payload in other:
        assert station.publish(topic, payload.encode()) == NOT_AUTHORIZED, topic


def test_anonymous_and_wrong_password_are_refused(connect):
    anon = connect("nobody", None)
    assert anon.connect_rc is not None and anon.connect_rc.is_failure
    bad = connect("legpress-1", "wrong")
    assert bad.connect_rc is not None and bad.connect_rc.is_failure


def test_station_publishes_only_its_own_topics(connect):
    watcher = connect("dashboard")
    assert watcher.subscribe("repsled/#") < 0x80
    station = connect("legpress-1")
    assert station.connect_rc is not None and not station.connect_rc.is_failure
    assert station.publish("repsled/legpress-1/rep", b"own") < 0x80
    assert station.publish("repsled/legpress-2/rep", b"forged") == NOT_AUTHORIZED
    assert station.publish("homeassistant/sensor/legpress-2_reps/config", b"x") == NOT_AUTHORIZED
    assert station.publish("repsled/legpress-1/rep", b"sentinel-1") < 0x80
    got = watcher.wait_for(b"sentinel-1")
    assert ("repsled/legpress-1/rep", b"own") in got
    assert all(p != b"forged" for _, p in got)


def test_station_cannot_read_other_stations(connect):
    """mosquitto 2.0 grants the SUBSCRIBE and filters at delivery, so check what arrives."""
    watcher = connect("dashboard")
    assert watcher.subscribe("repsled/#") < 0x80
    nosy = connect("legpress-2")
    assert nosy.subscribe("repsled/#") < 0x80
    other = connect("legpress-1")
    assert other.publish("repsled/legpress-1/rep", b"not yours") < 0x80
    assert nosy.publish("repsled/legpress-2/rep", b"sentinel-3") < 0x80
    assert ("repsled/legpress-1/rep", b"not yours") in watcher.wait_for(b"sentinel-3")
    assert nosy.wait_for(b"sentinel-3") == [("repsled/legpress-2/rep", b"sentinel-3")]


def test_dashboard_reads_everything_and_writes_nothing(connect):
    dash = connect("dashboard")
    assert dash.subscribe("repsled/#") < 0x80
    assert dash.publish("repsled/legpress-1/rep", b"fake rep") == NOT_AUTHORIZED
    assert dash.publish("repsled/dashboard/x", b"own-looking") == NOT_AUTHORIZED
    assert dash.publish("homeassistant/sensor/dashboard_reps/config", b"x") == NOT_AUTHORIZED
    station = connect("legpress-2")
    assert station.publish("repsled/legpress-2/set", b"sentinel-2") < 0x80
    got = dash.wait_for(b"sentinel-2")
    assert ("repsled/legpress-2/set", b"sentinel-2") in got
    assert all(p != b"fake rep" for _, p in got)


def test_dashboard_sets_next_sets_and_nothing_else(connect):
    """The trade-off of deploy/mosquitto/README.md: the page's login may set any station's
    next set (retained), and still write no rep, set, status, field command or discovery."""
    station = connect("legpress-1")
    assert station.subscribe("repsled/legpress-1/#") < 0x80
    dash = connect("dashboard", browser=True)
    body = b'{"type":"next","schema":1,"athlete":"Ana","load_kg":140,"leg":"both","tempo":null}'
    assert dash.publish("repsled/legpress-1/next", body) < 0x80
    for topic in (
        "repsled/legpress-1/next/set/athlete",
        "repsled/legpress-1/status",
        "repsled/legpress-1/set",
        "repsled/dashboard/next",
    ):
        assert dash.publish(topic, b"forged") == NOT_AUTHORIZED, topic
    assert station.publish("repsled/legpress-1/status", b"sentinel-5") < 0x80
    got = station.wait_for(b"sentinel-5")
    assert ("repsled/legpress-1/next", body) in got
    assert all(p != b"forged" for _, p in got)


def test_home_assistant_sends_next_set_fields_and_nothing_else(connect):
    station = connect("legpress-2")
    assert station.subscribe("repsled/legpress-2/#") < 0x80
    ha = connect("homeassistant")
    for field in discovery.NEXT_FIELDS:
        topic = discovery.next_command_topic("repsled", "legpress-2", field)
        assert ha.publish(topic, b"value") < 0x80, topic
    for topic in ("repsled/legpress-2/next", "repsled/legpress-2/rep", "repsled/legpress-2/x/y"):
        assert ha.publish(topic, b"forged") == NOT_AUTHORIZED, topic
    assert station.publish("repsled/legpress-2/status", b"sentinel-6") < 0x80
    got = station.wait_for(b"sentinel-6")
    fields = [t.rsplit("/", 1)[1] for t, p in got if p == b"value"]
    assert fields == list(discovery.NEXT_FIELDS)
    assert all(p != b"forged" for _, p in got)


def test_browser_listener_refuses_anonymous_clients(connect):
    anon = connect("", None, browser=True)
    assert anon.connect_rc is not None and anon.connect_rc.is_failure
    nobody = connect("nobody", None, browser=True)
    assert nobody.connect_rc is not None and nobody.connect_rc.is_failure


def test_dashboard_user_reads_on_the_browser_listener_and_writes_nothing(connect):
    dash = connect("dashboard", browser=True)
    assert dash.subscribe("repsled/#") < 0x80
    assert dash.publish("repsled/legpress-1/rep", b"browser rep") == NOT_AUTHORIZED
    station = connect("legpress-1")
    assert station.publish("repsled/legpress-1/rep", b"sentinel-4") < 0x80
    got = dash.wait_for(b"sentinel-4")
    assert all(p != b"browser rep" for _, p in got)


def test_an_anonymous_browser_cannot_take_over_a_station_client_id(broker):
    """mosquitto drops a client when another logs in with its client id: only a refused
    CONNECT keeps the station on line (15 anonymous connects used to knock it off 16 times)."""
    station = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="repsled-legpress-1")
    station.username_pw_set("legpress-1", USERS["legpress-1"])
    dropped = threading.Event()
    station.on_disconnect = lambda *args: dropped.set()
    station.connect(broker.host, broker.port)
    station.loop_start()
    try:
        for _ in range(5):
            thief = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="repsled-legpress-1")
            refused = threading.Event()
            thief.on_connect = lambda _c, _u, _f, rc, _p, ev=refused: rc.is_failure and ev.set()
            thief.connect(broker.host, broker.browser_port)
            thief.loop_start()
            try:
                assert refused.wait(WAIT_S)
            finally:
                thief.loop_stop()
        info = station.publish("repsled/legpress-1/status", b"still here", qos=1)
        info.wait_for_publish(WAIT_S)
        assert info.is_published()
        assert not dropped.is_set()
    finally:
        station.loop_stop()
        station.disconnect()


def test_browser_listener_still_checks_passwords(connect):
    dash = connect("dashboard", browser=True)
    assert dash.connect_rc is not None and not dash.connect_rc.is_failure
    assert dash.publish("repsled/legpress-1/rep", b"x") == NOT_AUTHORIZED
    bad = connect("legpress-1", "wrong", browser=True)
    assert bad.connect_rc is not None and bad.connect_rc.is_failure


def test_acl_has_one_line_per_discovery_entity_and_no_stale_ones():
    """Renamed or removed entities must leave the ACL too: it grants exactly what is announced."""
    lines = ACL.read_text(encoding="utf-8").splitlines()
    granted = {ln.split()[-1] for ln in lines if ln.startswith("pattern readwrite homeassistant/")}
    announced = {
        topic.replace("/STATIONX_", "/%u_")
        for topic, _ in discovery.config_messages(
            prefix="repsled", station="STATIONX", discovery_prefix="homeassistant", hardware={}
        )
    }
    assert granted == announced
