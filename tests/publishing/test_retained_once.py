"""`publish_retained_once`: a retained message sent once, never re-sent on reconnect, so a
newer one published by someone else meanwhile (the dashboard's next set) is not overwritten."""

from __future__ import annotations

import pytest

from tests.mosquitto import WAIT_S, Mosquitto, Subscriber
from tests.publishing.conftest import STATION, mqtt_section

NEXT = f"repsled/{STATION}/next"
SUMMARY = f"repsled/{STATION}/summary"
MARKER = f"repsled/{STATION}/marker"


def _retained_now(broker: Mosquitto, topic: str) -> str:
    reader = Subscriber(broker, [topic])
    try:
        assert reader.wait_for(lambda ms: len(ms) >= 1)
        [(_, payload, retained)] = reader.messages
        assert retained
        return payload
    finally:
        reader.close()


@pytest.mark.broker
def test_sent_once_and_not_again_after_a_reconnect(tmp_path, outbox, publisher) -> None:
    with Mosquitto(tmp_path / "broker", persistence=True) as broker:
        watcher = Subscriber(broker, [NEXT, SUMMARY, MARKER])
        try:
            pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
            assert watch.wait(True)
            pub.publish_retained_once("next", "from the station")
            pub.publish_retained("summary", "summary")  # re-sent on every connect
            assert watcher.wait_for(lambda ms: len(ms) >= 2)
            assert _retained_now(broker, NEXT) == "from the station"
            # The dashboard sets a newer next set; then the station reconnects.
            watcher.client.publish(NEXT, "from the page", qos=1, retain=True).wait_for_publish(
                WAIT_S
            )
            broker.stop()
            assert watch.wait(False)
            broker.start()
            assert watch.wait(True, count=2)
            # What a reconnect re-sends is handed over before the connection is reported;
            # a marker sent after it arrives after all of it.
            pub.publish_retained_once("marker", "after the reconnect")
            assert watcher.wait_for(lambda ms: any(t == MARKER for t, _, _ in ms))
            assert _retained_now(broker, NEXT) == "from the page"
        finally:
            watcher.close()
