"""Shared by the dashboard tests: payload builders, a paho publisher, page queries."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from firmware.publishing.payloads import dumps, rep_payload, set_payload
from tempo.events import Rep
from tests.factories import make_set_done

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SESSION = "20250301T090000"


def artifact(name: str) -> Path:
    """Where screenshots go: test-artifacts/ at the repo root (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


class Publisher:
    """paho (MQTT 3.1.1) publishing like a station: QoS 1 reps and sets, retained status."""

    def __init__(self, host: str, port: int, prefix: str = "repsled") -> None:
        import paho.mqtt.client as mqtt

        self.prefix = prefix
        self._connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda *_args: self._connected.set()
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._connected.wait(10):
            self.close()
            raise RuntimeError(f"paho could not connect to {host}:{port}")

    def publish(
        self, station: str, kind: str, payload: Any, *, qos: int = 1, retain: bool = False
    ) -> None:
        text = payload if isinstance(payload, str) else dumps(payload)
        info = self.client.publish(f"{self.prefix}/{station}/{kind}", text, qos=qos, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published()

    def status(self, station: str, status: str) -> None:
        self.publish(station, "status", status, retain=True)

    def clear_retained(self, station: str) -> None:
        self.publish(station, "status", "", retain=True)

    def close(self) -> None:
        # Disconnect first: it wakes the network thread, which then ends without a 1 s poll.
        self.client.disconnect()
        self.client.loop_stop()


def rep_json(station: str, rep: Rep, leg: str = "both") -> dict[str, Any]:
    return rep_payload(rep, station=station, session=SESSION, leg=leg)  # type: ignore[arg-type]


def set_json(
    station: str, set_no: int, reps: int, leg: str = "both", imbalance: dict[str, Any] | None = None
) -> dict[str, Any]:
    done = make_set_done(set_no, reps)
    return set_payload(done, station=station, session=SESSION, leg=leg, imbalance=imbalance)  # type: ignore[arg-type]


def state_json(phase: str, position: float, set_no: int, rep_no: int) -> dict[str, Any]:
    return {
        "schema": 1,
        "t_s": 12.5,
        "phase": phase,
        "position": position,
        "distance_mm": round(150 + 370 * position),
        "set": set_no,
        "rep": rep_no,
    }


def panel(page: Any, station: str) -> Any:
    return page.locator(f'section[data-station="{station}"]')


def station_order(page: Any) -> list[str]:
    return page.locator("section[data-station]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-station'))"
    )
