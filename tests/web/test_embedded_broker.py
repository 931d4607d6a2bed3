"""The demo's embedded amqtt broker: paho over TCP, the page's MQTT.js over WebSockets."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from firmware.publishing.broker import EmbeddedBroker, SnapshotDict
from firmware.web.server import DashboardServer
from tests.factories import make_rep
from tests.web.helpers import Publisher, artifact, panel, rep_json

pytest.importorskip("amqtt")


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(tcp_port=0, ws_port=0) as broker:
        yield broker


def subscriber(broker: EmbeddedBroker, topic: str) -> tuple[Any, queue.Queue[Any]]:
    import paho.mqtt.client as mqtt

    received: queue.Queue[Any] = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_message = lambda _c, _u, msg: received.put(msg)
    client.connect(broker.host, broker.tcp_port)
    client.loop_start()
    return client, received


def test_listens_on_loopback_only(embedded: EmbeddedBroker) -> None:
    assert embedded.host == "127.0.0.1"
    assert embedded.tcp_port > 0
    assert embedded.ws_port > 0
    assert embedded.ws_port != embedded.tcp_port
    assert embedded.ws_url == f"ws://127.0.0.1:{embedded.ws_port}"


def test_paho_pub_sub_with_retained_message(embedded: EmbeddedBroker) -> None:
    pub = Publisher(embedded.host, embedded.tcp_port)
    try:
        pub.status("press", "online")  # retained, published before anyone subscribed
        client, received = subscriber(embedded, "repsled/+/#")
        try:
            retained = received.get(timeout=10)
            assert (retained.topic, retained.payload, retained.retain) == (
                "repsled/press/status",
                b"online",
                True,
            )
            pub.publish("press", "rep", '{"type":"rep"}')
            live = received.get(timeout=10)
            assert (live.topic, live.payload, live.retain, live.qos) == (
                "repsled/press/rep",
                b'{"type":"rep"}',
                False,
                1,
            )
        finally:
            client.disconnect()
            client.loop_stop()
    finally:
        pub.clear_retained("press")
        pub.close()


def test_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with EmbeddedBroker(tcp_port=busy, ws_port=0) as broker:
            assert broker.tcp_port not in (0, busy)
            pub = Publisher(broker.host, broker.tcp_port)
            pub.close()


def test_stop_closes_the_listeners() -> None:
    broker = EmbeddedBroker(tcp_port=0, ws_port=0).start()
    port = broker.tcp_port
    broker.stop()
    broker.stop()  # twice is fine
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


@pytest.mark.browser
def test_browser_client_over_websockets(embedded: EmbeddedBroker, page: Any) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    pub = Publisher(embedded.host, embedded.tcp_port)
    try:
        pub.status("demo-1", "online")
        with DashboardServer(embedded.ws_url, "repsled") as server:
            page.goto(server.url)
            demo = panel(page, "demo-1")
            expect(demo.get_by_test_id("status")).to_have_text("online", timeout=10_000)
            expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected")
            pub.publish("demo-1", "rep", rep_json("demo-1", make_rep(1, 1, eccentric_s=3.3)))
            expect(demo.get_by_test_id("rep-count")).to_have_text("1")
            expect(demo.get_by_test_id("last-eccentric-s")).to_have_text("3.3")
            pub.status("demo-1", "offline")
            expect(demo.get_by_test_id("status")).to_have_text("offline")
            page.screenshot(path=artifact("dashboard-embedded-broker.png"))
    finally:
        pub.clear_retained("demo-1")
        pub.close()


def test_snapshot_dict_survives_growth_during_a_walk() -> None:
    table = SnapshotDict({"a": 1})
    for key in table:
        table[key + "x"] = 2  # what a SUBSCRIBE does while amqtt awaits inside its loop
    for key, _value in table.items():
        table[key + "y"] = 3
    assert set(table) == {"a", "ax", "ay", "axy"}


def test_clients_subscribing_while_others_connect_all_get_their_retained_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """amqtt 0.12 walks its subscription table with awaits inside: the demo's stations and
    hub connecting at once used to kill a connection with "dictionary changed size"."""
    with caplog.at_level("ERROR"), EmbeddedBroker(tcp_port=0, ws_port=0) as broker:
        assert isinstance(broker._broker._subscriptions, SnapshotDict)
        crowd_connects(broker)  # a broker of its own: no other test's clients
    assert "changed size during iteration" not in caplog.text


def crowd_connects(embedded: EmbeddedBroker) -> None:
    """24 clients connect at once, each subscribing to its own retained topic on connect."""
    import paho.mqtt.client as mqtt

    count = 24
    pub = Publisher(embedded.host, embedded.tcp_port)
    clients = []
    try:
        for i in range(count):
            pub.publish(f"crowd-{i}", "status", "online", retain=True)
        # amqtt also sends a connecting client retained messages of other clients' filters,
        # so each client's own topic is what is waited for.
        received: queue.Queue[tuple[int, str]] = queue.Queue()
        for i in range(count):
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
            topic = f"repsled/crowd-{i}/status"
            client.on_connect = lambda c, *_, t=topic: c.subscribe(t, qos=1)
            client.on_message = lambda _c, _u, msg, n=i: received.put((n, msg.topic))
            client.connect_async(embedded.host, embedded.tcp_port)
            client.loop_start()
            clients.append(client)
        waiting = set(range(count))
        while waiting:
            n, topic = received.get(timeout=10)
            if topic == f"repsled/crowd-{n}/status":
                waiting.discard(n)
    finally:
        for client in clients:
            client.disconnect()  # first: it wakes the network thread, which then ends at once
            client.loop_stop()
        for i in range(count):
            pub.clear_retained(f"crowd-{i}")
        pub.close()
