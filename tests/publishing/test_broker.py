"""The publisher against a real mosquitto and a real paho subscriber.

Waiting is always for something (a message, a connection change, a log line) with a bound;
nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from firmware.clock import FakeClock
from firmware.publishing import discovery
from firmware.publishing.outbox import Outbox
from firmware.publishing.payloads import dumps
from firmware.publishing.session_state import RetainedState
from tests.mosquitto import Mosquitto

from .conftest import STATION, WAIT_S, make_rep, make_set, mqtt_section

pytestmark = pytest.mark.broker

REPO = Path(__file__).resolve().parents[2]
BASE = f"repsled/{STATION}"


def rep_ids(sub) -> list[str]:
    return [json.loads(p)["id"] for p in sub.payloads(f"{BASE}/rep")]


def has_ids(expected: set[str]):
    return lambda msgs: expected <= {json.loads(p)["id"] for t, p, _ in msgs if t == f"{BASE}/rep"}


def test_reps_and_sets_arrive_with_their_payloads(broker, outbox, subscribe, publisher):
    sub = subscribe(broker, [f"{BASE}/#"])
    pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
    assert watch.wait(True)
    sent = [make_rep(1, i) for i in range(1, 6)]
    for rep in sent:
        pub.publish_rep(rep)
    done = make_set(1, 5)
    pub.publish_set(done)
    state = RetainedState(STATION, done["session"])  # what the station hands over
    for rep in sent:
        state.add_rep(rep)
    state.add_set(done)
    for kind, text in state.messages():
        pub.publish_retained(kind, text)
    assert sub.wait_for(lambda m: any(t == f"{BASE}/set" for t, _, _ in m))
    assert sub.payloads(f"{BASE}/rep") == [dumps(r) for r in sent]
    assert sub.payloads(f"{BASE}/set") == [dumps(done)]
    assert all(not retain for t, _, retain in sub.messages if t.endswith(("/rep", "/set")))
    assert sub.payloads(f"{BASE}/status")[0] == "online"
    # The summary is not queued behind the outbox; its last version follows the set.
    assert sub.wait_for(lambda m: any('"sets":1' in p for t, p, _ in m if t.endswith("/summary")))
    summary = json.loads(sub.payloads(f"{BASE}/summary")[-1])
    assert (summary["sets"], summary["reps_in_set"]) == (1, 5)
    pub.close()
    assert len(outbox) == 0
    # Retained for newcomers: the summary, and "offline" after a clean close.
    late = subscribe(broker, [f"{BASE}/status", f"{BASE}/summary"])
    assert late.wait_for(lambda m: len(m) >= 2)
    retained = {t: (p, r) for t, p, r in late.messages}
    assert retained[f"{BASE}/status"] == ("offline", True)
    assert retained[f"{BASE}/summary"][1] is True


def test_mqtt5_delivers_too(broker, outbox, subscribe, publisher):
    sub = subscribe(broker, [f"{BASE}/rep"])
    pub, watch = publisher(mqtt_section(broker, protocol="5", discovery=False), outbox)
    assert watch.wait(True)
    pub.publish_rep(make_rep(1, 1))
    assert sub.wait_for(has_ids({f"{STATION}/20250101T000000Z/s1/r1"}))


def test_broker_restart_loses_nothing_and_keeps_order(tmp_path, outbox, subscribe, publisher):
    # Persistence keeps the subscriber's session over the restart, so that what the broker
    # took before stopping still reaches it: the test checks the publisher, not mosquitto.
    with Mosquitto(tmp_path / "broker", persistence=True) as broker:
        sub = subscribe(broker, [f"{BASE}/rep"], persistent=True)
        pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
        assert watch.wait(True)
        for i in range(1, 11):
            pub.publish_rep(make_rep(1, i))
        broker.stop()  # some of those are still in flight
        assert watch.wait(False)
        for i in range(11, 21):
            pub.publish_rep(make_rep(1, i))
        assert pub.wait_stored(WAIT_S)  # the worker stores them: the call only queues
        assert len(outbox) >= 10
        broker.start()
        assert watch.wait(True, count=2)
        for i in range(21, 31):
            pub.publish_rep(make_rep(1, i))
        expected = {make_rep(1, i)["id"] for i in range(1, 31)}
        assert sub.wait_for(has_ids(expected)), broker.log()[-2000:]
        ids = rep_ids(sub)
        first_seen = list(dict.fromkeys(ids))
        assert set(first_seen) == expected and len(first_seen) == 30
        assert first_seen == [make_rep(1, i)["id"] for i in range(1, 31)]
        pub.close()
        assert len(outbox) == 0


CHILD = r"""
import sys, threading
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.outbox import Outbox
from tests.publishing.conftest import STATION, make_rep
path, host, port, count, wait = sys.argv[1:6]
port, count = int(port), int(count)
box = Outbox(path, 1000)
up = threading.Event()
section = {"host": host, "port": port, "station": STATION, "discovery": False}
pub = MqttPublisher(section, box, station=STATION, reconnect_min_s=0.05, reconnect_max_s=0.5,
                    on_connection_change=lambda connected, reason: connected and up.set())
pub.start()
if wait == "connected" and not up.wait(15):
    sys.exit("never connected")
for i in range(1, count + 1):
    pub.publish_rep(make_rep(1, i))
if not pub.wait_stored(15):
    sys.exit("never stored")
print("ready", flush=True)
sys.stdin.read()
"""


def start_child(outbox_path: Path, broker: Mosquitto, count: int, wait: str):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(outbox_path),
            broker.host,
            str(broker.port),
            str(count),
            wait,
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout=WAIT_S) and proc.stdout.readline().strip() == "ready"
    if not ready:
        proc.kill()
        _, err = proc.communicate(timeout=WAIT_S)
        pytest.fail(f"publisher process did not get ready: {err[-2000:]}")
    return proc


def kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=WAIT_S)
    assert proc.returncode == -signal.SIGKILL


def test_killed_before_the_broker_was_reachable_then_delivered(tmp_path, subscribe, publisher):
    path = tmp_path / "outbox.sqlite3"
    broker = Mosquitto(tmp_path / "broker")  # ports chosen, not started yet
    try:
        child = start_child(path, broker, 20, wait="no")
        kill(child)
        box = Outbox(path, 1000)
        assert len(box) == 20
        broker.start()
        sub = subscribe(broker, [f"{BASE}/rep"])
        pub, _ = publisher(mqtt_section(broker, discovery=False), box)
        expected = {make_rep(1, i)["id"] for i in range(1, 21)}
        assert sub.wait_for(has_ids(expected))
        assert list(dict.fromkeys(rep_ids(sub))) == [make_rep(1, i)["id"] for i in range(1, 21)]
        pub.close()
        assert len(box) == 0
        box.close()
    finally:
        broker.terminate()


def test_last_will_when_the_process_is_killed(tmp_path, broker, subscribe):
    sub = subscribe(broker, [f"{BASE}/status"])
    child = start_child(tmp_path / "outbox.sqlite3", broker, 0, wait="connected")
    assert sub.wait_for(lambda m: "online" in [p for _, p, _ in m])
    kill(child)
    assert sub.wait_for(lambda m: [p for _, p, _ in m][-1:] == ["offline"])
    late = subscribe(broker, [f"{BASE}/status"])
    assert late.wait_for(lambda m: m == [(f"{BASE}/status", "offline", True)])


def test_closed_while_still_connecting_it_delivers_and_says_offline(
    broker, outbox, subscribe, publisher
):
    """`repsled run` stopped straight after start: the outputs were built while the loop
    sampled, and close comes before the first connection is made."""
    sub = subscribe(broker, [f"{BASE}/status", f"{BASE}/rep"])
    pub, _ = publisher(mqtt_section(broker, discovery=False), outbox)
    rep = make_rep(1, 1)
    pub.publish_rep(rep)
    pub.close()  # no wait for the connection first
    assert sub.wait_for(lambda m: [p for t, p, _ in m if t == f"{BASE}/status"][-1:] == ["offline"])
    assert rep_ids(sub) == [rep["id"]]
    assert len(outbox) == 0


def test_discovery_configs_and_reannounce(broker, outbox, subscribe, publisher):
    sub = subscribe(broker, ["homeassistant/#"])
    publisher(mqtt_section(broker), outbox)

    def configs(msgs):
        return [(t, p, r) for t, p, r in msgs if t.endswith("/config")]

    count = len(discovery.config_messages(prefix="repsled", station=STATION, discovery_prefix="x"))
    assert sub.wait_for(lambda m: len(configs(m)) >= count)
    for topic, payload, _ in configs(sub.messages):
        cfg = json.loads(payload)
        components = ("sensor", "binary_sensor", "event", "text", "number", "select")
        assert topic.startswith(tuple(f"homeassistant/{c}/" for c in components)), topic
        assert f"/{STATION}_" in topic and cfg["unique_id"]
        assert cfg["state_topic"].startswith(f"{BASE}/")
        assert cfg["device"]["identifiers"] == [f"repsled_{STATION}"]
    retained = subscribe(broker, ["homeassistant/#"])
    assert retained.wait_for(lambda m: len(m) >= count and all(r for _, _, r in m))
    sub.clear()
    sub.client.publish("homeassistant/status", "online", qos=1)
    assert sub.wait_for(lambda m: len(configs(m)) >= count)


def test_bad_password_is_reported_once_and_retried(tmp_path, outbox, logwatch, publisher):
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not found (apt-get install mosquitto)")
    users = tmp_path / "users"
    subprocess.run([tool, "-c", "-b", str(users), STATION, "right-one"], check=True)
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("s3cret-wrong\n")
    with Mosquitto(tmp_path / "broker", password_file=users) as broker:
        section = mqtt_section(broker, username=STATION, password_file=str(wrong), discovery=False)
        pub, watch = publisher(section, outbox)

        def refusals(records):
            return [r for r in records if "refused the connection" in r.getMessage()]

        assert logwatch.wait(lambda rs: len(refusals(rs)) >= 3)  # reported, then retried
        first, *again = refusals(logwatch.records)
        assert first.levelno == logging.ERROR
        assert "check [mqtt] username and password_file" in first.getMessage()
        assert "\n" not in first.getMessage()
        assert all(r.levelno == logging.DEBUG for r in again)
        pub.publish_rep(make_rep(1, 1))  # reps keep being stored
        assert pub.wait_stored(WAIT_S)
        assert len(outbox) == 1 and not pub.connected
        pub.close()
        assert all("s3cret" not in r.getMessage() for r in logwatch.records)

        right = tmp_path / "right.pw"
        right.write_text("right-one\n")
        section["password_file"] = str(right)
        pub, watch = publisher(section, outbox)
        assert watch.wait(True)
        pub.close()
        assert len(outbox) == 0


class TlsMosquitto(Mosquitto):
    """The test broker with TLS on its one listener."""

    def __init__(self, tmp_dir: Path, cert: Path, key: Path, ca: Path) -> None:
        self.tls = (cert, key, ca)
        super().__init__(tmp_dir)

    def _write_config(self) -> None:
        super()._write_config()
        cert, key, ca = self.tls
        lines = self.config_path.read_text(encoding="utf-8").splitlines()
        at = lines.index("protocol mqtt") + 1
        lines[at:at] = [f"certfile {cert}", f"keyfile {key}", f"cafile {ca}"]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_ca(openssl: str, d: Path, name: str) -> tuple[Path, Path]:
    ca, key = d / f"{name}.pem", d / f"{name}.key"
    run = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    run += ["-subj", f"/CN=repsled test {name}", "-keyout", str(key), "-out", str(ca)]
    subprocess.run(run, check=True, capture_output=True)
    return ca, key


@pytest.fixture
def tls_files(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not found")
    ca, ca_key = make_ca(openssl, tmp_path, "ca")
    other_ca, _ = make_ca(openssl, tmp_path, "other-ca")
    key, csr, cert = tmp_path / "server.key", tmp_path / "server.csr", tmp_path / "server.pem"
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    req = [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"]
    subprocess.run([*req, "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
    sign = [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key)]
    sign += ["-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert)]
    subprocess.run(sign, check=True, capture_output=True)
    return {"ca": ca, "other_ca": other_ca, "cert": cert, "key": key}


def test_tls_delivers_and_a_wrong_ca_is_reported(tmp_path, tls_files, outbox, logwatch, publisher):
    f = tls_files
    with TlsMosquitto(tmp_path / "broker", f["cert"], f["key"], f["ca"]) as broker:
        section = mqtt_section(broker, ca_file=str(f["other_ca"]), discovery=False)
        bad, _ = publisher(section, outbox)
        assert logwatch.wait(lambda rs: any("TLS failed" in r.getMessage() for r in rs))
        record = next(r for r in logwatch.records if "TLS failed" in r.getMessage())
        assert record.levelno == logging.ERROR
        assert "certificate verify failed" in record.getMessage()
        assert "check [mqtt] ca_file" in record.getMessage()
        assert not bad.connected
        bad.close()

        pub, watch = publisher({**section, "ca_file": str(f["ca"])}, outbox)
        assert watch.wait(True)
        pub.publish_rep(make_rep(1, 1))
        pub.close()
        assert len(outbox) == 0


def test_tls_to_a_plain_listener_is_reported(tls_files, broker, outbox, logwatch, publisher):
    section = mqtt_section(broker, ca_file=str(tls_files["ca"]), discovery=False)
    pub, _ = publisher(section, outbox)
    assert logwatch.wait(lambda rs: any("TLS failed" in r.getMessage() for r in rs))
    assert not pub.connected


def test_state_is_rate_limited_by_the_injected_clock(broker, outbox, subscribe, publisher):
    sub = subscribe(broker, [f"{BASE}/state"])
    clock = FakeClock(100.0)
    pub, watch = publisher(mqtt_section(broker, discovery=False), outbox, clock=clock)
    assert watch.wait(True)
    kw = {"phase": "eccentric", "position": 0.41234, "distance_mm": 305, "set_no": 1, "rep_no": 2}
    assert pub.publish_state(t_s=1.0, **kw)
    assert not pub.publish_state(t_s=1.03, **kw)
    clock.advance(0.05)
    assert not pub.publish_state(t_s=1.06, **kw)
    clock.advance(0.06)
    assert pub.publish_state(t_s=1.1, **{**kw, "distance_mm": None, "position": None})
    assert sub.wait_for(lambda m: len(m) >= 2)
    first, second = sub.json(f"{BASE}/state")
    assert first == {
        "schema": 1,
        "t_s": 1.0,
        "phase": "eccentric",
        "position": 0.412,
        "distance_mm": 305,
        "set": 1,
        "rep": 2,
    }
    assert second["distance_mm"] is None and second["t_s"] == 1.1
    assert not any(r for _, _, r in sub.messages)


def test_a_failing_disk_does_not_stop_publishing(broker, outbox, subscribe, logwatch, publisher):
    sub = subscribe(broker, [f"{BASE}/rep"])
    pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
    assert watch.wait(True)
    outbox._db.close()  # every write now fails as on a dead SD card
    pub.publish_rep(make_rep(1, 1))
    assert sub.wait_for(has_ids({make_rep(1, 1)["id"]}))
    errors = [r for r in logwatch.records if r.levelno == logging.ERROR]
    assert "cannot store a message" in errors[0].getMessage()
    assert "keeping messages in memory" in errors[0].getMessage()
    assert pub.health()["storage"] == "memory"


def test_client_ids_are_unguessable_and_an_old_style_id_cannot_take_over(broker, outbox, publisher):
    import re

    import paho.mqtt.client as mqtt

    pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
    other, _ = publisher(mqtt_section(broker, discovery=False), outbox)
    assert watch.wait(True)
    assert re.fullmatch(rf"repsled-{STATION}-[0-9a-f]{{12}}", pub.client_id)
    assert pub.client_id != other.client_id
    # Someone connecting with the id stations used to have: the station stays connected.
    intruder = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"repsled-{STATION}")
    intruder.connect(broker.host, broker.port)
    intruder.loop_start()
    try:
        sub_ok = threading.Event()
        intruder.on_subscribe = lambda *a: sub_ok.set()
        intruder.subscribe(f"{BASE}/rep")
        assert sub_ok.wait(WAIT_S)  # the intruder is in; the station was not knocked off
        assert pub.connected and [c for c, _ in watch.changes] == [True]
    finally:
        intruder.disconnect()
        intruder.loop_stop()


def test_reconnect_backoff_is_capped_while_reps_wait(tmp_path, outbox, publisher):
    from firmware.publishing.mqtt import WAITING_RECONNECT_MAX_S

    broker = Mosquitto(tmp_path / "broker")  # not started: unreachable
    try:
        pub, watch = publisher(mqtt_section(broker, discovery=False), outbox, reconnect_max_s=60.0)
        client = pub._client
        assert client._reconnect_max_delay == 60.0  # nothing waits: a patient back-off
        pub.publish_rep(make_rep(1, 1))
        assert pub.wait_stored(WAIT_S)
        assert watch_for(lambda: client._reconnect_max_delay == WAITING_RECONNECT_MAX_S)
        broker.start()
        assert watch.wait(True)
        assert watch_for(lambda: len(outbox) == 0)
        assert watch_for(lambda: client._reconnect_max_delay == 60.0)
    finally:
        broker.terminate()


def watch_for(predicate) -> bool:
    """Poll (bounded) for state the worker thread sets right after an event."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # poll interval, not a wait for something to happen
    return True


def test_one_unreadable_row_does_not_block_the_others(
    tmp_path, broker, subscribe, logwatch, publisher
):
    import sqlite3

    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, 1000)
    ids = [box.put(f"{BASE}/rep", dumps(make_rep(1, i))) for i in range(1, 25)]
    box.close()
    db = sqlite3.connect(path)  # a flipped byte: the text is no longer UTF-8
    db.execute("UPDATE outbox SET payload = CAST(X'7B22FF227D' AS TEXT) WHERE id = ?", (ids[5],))
    db.commit()
    db.close()
    box = Outbox(path, 1000)
    sub = subscribe(broker, [f"{BASE}/rep"])
    pub, _ = publisher(mqtt_section(broker, discovery=False), box)
    assert sub.wait_for(has_ids({make_rep(1, i)["id"] for i in range(1, 25) if i != 6}))
    pub.close()
    assert len(box) == 0 and box.quarantined() == 1
    assert len([r for r in logwatch.records if "is unreadable" in r.getMessage()]) == 1
    box.close()
