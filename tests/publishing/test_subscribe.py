"""The publisher's subscription hook: retained messages reach the callback, again after a
reconnect, on the worker thread; other topics never do."""

from __future__ import annotations

import threading

import pytest

from tests.mosquitto import WAIT_S, Mosquitto, Subscriber
from tests.publishing.conftest import STATION, mqtt_section

TOPIC = f"repsled/{STATION}/next"


class Heard:
    """(topic, payload, thread name) of each callback, to wait on without sleeping."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, str]] = []
        self._cond = threading.Condition()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self._cond:
            self.calls.append((topic, payload, threading.current_thread().name))
            self._cond.notify_all()

    def wait(self, count: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.calls) >= count, WAIT_S)


@pytest.mark.broker
def test_retained_message_is_heard_on_connect_and_after_a_broker_restart(
    tmp_path, outbox, publisher
) -> None:
    with Mosquitto(tmp_path / "broker", persistence=True) as broker:
        sender = Subscriber(broker, [f"repsled/{STATION}/other"])
        try:
            sender.client.publish(TOPIC, b'{"a":1}', qos=1, retain=True).wait_for_publish(WAIT_S)
            pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
            heard = Heard()
            pub.subscribe(TOPIC, heard)
            assert heard.wait(1)
            assert heard.calls == [(TOPIC, b'{"a":1}', "repsled-mqtt")]
            # Not retained, other topic: never handed to the callback.
            sender.client.publish(f"repsled/{STATION}/other", b"x", qos=1).wait_for_publish(WAIT_S)
            sender.client.publish(TOPIC, b'{"a":2}', qos=1).wait_for_publish(WAIT_S)
            assert heard.wait(2)
            broker.stop()
            assert watch.wait(False)
            broker.start()
            assert watch.wait(True, count=2)
            assert heard.wait(3)  # subscribed again: the retained message comes back
            assert [payload for _, payload, _ in heard.calls] == [
                b'{"a":1}',
                b'{"a":2}',
                b'{"a":1}',
            ]
        finally:
            sender.close()


def test_wildcards_are_refused(tmp_path, outbox) -> None:
    from firmware.publishing.mqtt import MqttPublisher

    pub = MqttPublisher({"host": "127.0.0.1"}, outbox, station=STATION)
    with pytest.raises(ValueError, match="no wildcards"):
        pub.subscribe("repsled/+/next", lambda _t, _p: None)
