"""MQTT latency: from `publish_rep` to arrival at a subscriber, through a real mosquitto.

Each rep goes through the whole lossless path: the intake, the worker's durable outbox
commit (fsync), paho's network thread, the broker, a paho subscriber. Messages are sent one
at a time, so each figure is one rep's latency, not a throughput. Also prints how long
`publish_rep` holds the caller (the sampling loop): only the hand-over to the worker; and how
long until the rep is committed to the outbox: the window a crash can lose (docs/mqtt.md).

To extend to end-to-end (a played trace's rep `t_end` to arrival), feed `repsled run` with a
fake sensor at speed 1 and subscribe the same way. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.mosquitto

from firmware.config import SCHEMA
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.outbox import Outbox
from firmware.publishing.payloads import rep_payload
from tests.factories import make_rep
from tests.mosquitto import Mosquitto, mosquitto_binary

MESSAGES = 200
WAIT_S = 10.0
STATION = "bench"


def rep(n: int) -> dict:
    return rep_payload(make_rep(1, n), station=STATION, session="bench")


def describe(name: str, values_s: list[float]) -> None:
    ms = sorted(v * 1e3 for v in values_s)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(
        f"{name:<28} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   "
        f"worst {ms[-1]:7.2f} ms   (n={len(ms)})"
    )


def main() -> int:
    if mosquitto_binary() is None:
        print("skipped: mosquitto not found (apt-get install mosquitto)")
        return 0
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "broker") as broker:
        arrived: dict[str, float] = {}
        cond = threading.Condition()

        def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
            now = time.monotonic()
            with cond:
                arrived.setdefault(json.loads(msg.payload)["id"], now)
                cond.notify_all()

        subscribed = threading.Event()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        sub.on_message = on_message
        sub.on_subscribe = lambda *args: subscribed.set()
        sub.connect(broker.host, broker.port)
        sub.subscribe(f"repsled/{STATION}/rep", qos=1)
        sub.loop_start()

        connected = threading.Event()
        section = {key: spec.default for key, spec in SCHEMA["mqtt"].items()}
        section.update(host=broker.host, port=broker.port, station=STATION, discovery=False)
        box = Outbox(Path(tmp) / "outbox.sqlite3", 10_000)
        pub = MqttPublisher(
            section, box, station=STATION, on_connection_change=lambda c, r: c and connected.set()
        ).start()
        if not (connected.wait(WAIT_S) and subscribed.wait(WAIT_S)):
            print("error: could not connect to the test broker")
            return 1

        call_s: list[float] = []
        stored_s: list[float] = []
        latency_s: list[float] = []
        for n in range(1, MESSAGES + 1):
            payload = rep(n)
            t0 = time.monotonic()
            pub.publish_rep(payload)
            call_s.append(time.monotonic() - t0)
            pub.wait_stored(WAIT_S)
            stored_s.append(time.monotonic() - t0)
            with cond:
                if not cond.wait_for(lambda p=payload: p["id"] in arrived, WAIT_S):
                    print(f"error: rep {n} did not arrive within {WAIT_S} s")
                    return 1
                latency_s.append(arrived[payload["id"]] - t0)
        pub.close()
        sub.disconnect()
        sub.loop_stop()
        left = len(box)
        box.close()

    print(f"MQTT publisher latency, {MESSAGES} reps one at a time, QoS 1, local mosquitto")
    describe("publish_rep call (sampling)", call_s)
    describe("publish_rep -> on disk", stored_s)
    describe("publish_rep -> subscriber", latency_s)
    print(f"outbox rows left after close: {left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
