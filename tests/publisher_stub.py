"""A stand-in for MqttPublisher: the station's whole publishing API, recorded in order."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class RecordingPublisher:
    """Keeps every call: `calls` holds ("rep" | "set" | a retained kind, payload) in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.subscriptions: dict[str, Callable[[str, bytes], object]] = {}
        self.states = 0
        self.retained_once: list[tuple[str, str]] = []  # (kind, text) as handed over

    @property
    def reps(self) -> list[dict[str, Any]]:
        return [p for kind, p in self.calls if kind == "rep"]

    @property
    def sets(self) -> list[dict[str, Any]]:
        return [p for kind, p in self.calls if kind == "set"]

    @property
    def retained(self) -> list[tuple[str, Any]]:
        return [(kind, p) for kind, p in self.calls if kind not in ("rep", "set")]

    def subscribe(self, topic: str, callback: Callable[[str, bytes], object]) -> None:
        self.subscriptions[topic] = callback

    def publish_rep(self, payload: dict[str, Any]) -> None:
        self.calls.append(("rep", payload))

    def publish_set(self, payload: dict[str, Any]) -> None:
        self.calls.append(("set", payload))

    def publish_retained(self, kind: str, text: str) -> None:
        self.calls.append((kind, json.loads(text)))

    def publish_retained_once(self, kind: str, text: str) -> None:
        self.retained_once.append((kind, text))

    def publish_state(self, **_fields: object) -> bool:
        self.states += 1
        return True
