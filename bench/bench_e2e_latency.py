"""End-to-end latency: a rep's physical end in a played trace -> its arrival at a subscriber.

A synthetic set (ground truth known) is played at speed 1 and 50 Hz through the device path:
fake VL53L0X under the real adafruit driver, sampling loop, engine, outbox (fsync), paho,
a real broker (mosquitto when installed, else the embedded one), a paho subscriber. Latency
of a rep = arrival time - (trace zero + the rep's physical end), where the physical end is
when the sled really stopped (ground truth `t_stop`); the 2 % boundary `t_end` comes a
quarter second earlier on a smooth lowering (docs/engine.md) and is printed too. It includes
the engine's confirmation delay, printed on its own. Prints figures; asserts nothing.
Goal (issue): median under 150 ms. Takes about a minute (real time).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.clock import SystemClock
from firmware.config import parse
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.outbox import Outbox
from firmware.station.station import build_station
from sensor.synthetic import Faults, Plan, generate, write
from tempo.settings import EngineSettings

STATION = "bench"


def broker_in(tmp: Path) -> tuple[contextlib.AbstractContextManager, str, int]:
    from tests.mosquitto import Mosquitto, mosquitto_binary

    if mosquitto_binary():
        m = Mosquitto(tmp / "broker")
        return m, "mosquitto", m.port
    from firmware.publishing.broker import EmbeddedBroker

    b = EmbeddedBroker(tcp_port=0, ws_port=0)
    return b, "embedded amqtt", -1


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        settings = EngineSettings(bottom_mm=150, lockout_mm=520, start="bottom")
        truth = generate(
            21,
            settings=settings,
            plan=Plan(sets=1, reps=(8, 8), p_partial=0, p_locked=0, adjust_moves=(0, 0)),
            faults=Faults.only("noise", "drift", "jitter"),
            rate_hz=50.0,
        )
        trace = tmp / "set.csv"
        write(truth, trace)
        broker_cm, broker_name, port = broker_in(tmp)
        with broker_cm as broker:
            if port < 0:
                port = broker.tcp_port
            arrivals: dict[int, float] = {}
            got = threading.Condition()

            def on_message(_c, _u, msg) -> None:
                now = time.monotonic()
                rep = json.loads(msg.payload)
                with got:
                    arrivals.setdefault(rep["rep"], now)
                    got.notify_all()

            sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-sub")
            sub.on_message = on_message
            sub.connect("127.0.0.1", port)
            sub.subscribe(f"repsled/{STATION}/rep", qos=1)
            sub.loop_start()
            cfg = parse(
                {
                    "sled": {"bottom_mm": 150, "lockout_mm": 520, "start": "bottom"},
                    "sensor": {"timing_budget_ms": 20},  # 50 Hz, as the goal is stated
                    "cues": {"buzzer": "none"},
                    "mqtt": {"host": "127.0.0.1", "port": port, "station": STATION},
                    "storage": {"state_dir": str(tmp / "state")},
                }
            )
            outbox = Outbox(tmp / "outbox.sqlite3", 1000)
            publisher = MqttPublisher.from_config(cfg, outbox).start()
            station = build_station(
                cfg,
                sensor_spec=f"fake:{trace}",
                clock=SystemClock(),
                publisher=publisher,
            )
            print(f"playing {truth.duration_s:.0f} s of a {len(truth.reps)}-rep set in real time")
            stats = station.run()
            rate_hz = stats.samples / truth.duration_s
            with got:
                got.wait_for(lambda: len(arrivals) >= len(station.reps), timeout=10)
            publisher.close()
            outbox.close()
            sub.loop_stop()
            sub.disconnect()
            origin = station.loop.t0_s or 0.0
            latencies_ms: list[float] = []
            from_boundary_ms: list[float] = []
            confirm_ms: list[float] = []
            for true_rep, rep in zip(truth.reps, station.reps, strict=False):
                if rep["rep"] in arrivals:
                    arrived = arrivals[rep["rep"]] - origin
                    latencies_ms.append((arrived - true_rep.t_stop) * 1000)
                    from_boundary_ms.append((arrived - true_rep.t_end) * 1000)
                    confirm_ms.append((rep["t_confirmed"] - true_rep.t_stop) * 1000)
        print(
            f"broker: {broker_name}; sampling {rate_hz:.1f} Hz; "
            f"reps true {len(truth.reps)}, counted {len(station.reps)}"
        )
        if not latencies_ms:
            print("no rep arrived")
            return 1
        for label, values in (
            ("physical end (sled stopped) -> subscriber", latencies_ms),
            ("  of which engine confirmation", confirm_ms),
            ("2 % boundary t_end -> subscriber", from_boundary_ms),
        ):
            print(
                f"{label}: median {statistics.median(values):.0f} ms, "
                f"worst {max(values):.0f} ms (n={len(values)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
