"""Fixtures for the MQTT tests: a real mosquitto, a real paho subscriber, publishers, payloads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from firmware.config import SCHEMA
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.outbox import Outbox
from firmware.publishing.payloads import rep_payload, set_payload
from tests import factories
from tests.mosquitto import WAIT_S, Mosquitto, Subscriber

STATION = "legpress-1"


def make_rep(set_no: int, rep_no: int, session: str = "20250101T000000Z") -> dict[str, Any]:
    rep = factories.make_rep(
        set_no, rep_no, velocity_m_s=0.35, eccentric_score=90 + rep_no % 10, rom_fraction=0.95
    )
    return rep_payload(rep, station=STATION, session=session)


def make_set(set_no: int, reps: int, session: str = "20250101T000000Z") -> dict[str, Any]:
    done = factories.make_set_done(set_no, reps)
    return set_payload(done, station=STATION, session=session)


def mqtt_section(broker: Mosquitto, **overrides: Any) -> dict[str, Any]:
    section = {key: spec.default for key, spec in SCHEMA["mqtt"].items()}
    section.update(host=broker.host, port=broker.port, station=STATION)
    section.update(overrides)
    return section


class Watch:
    """Connection changes reported by a publisher, to wait on."""

    def __init__(self) -> None:
        self.changes: list[tuple[bool, str]] = []
        self._cond = threading.Condition()

    def __call__(self, connected: bool, reason: str) -> None:
        with self._cond:
            self.changes.append((connected, reason))
            self._cond.notify_all()

    def wait(self, connected: bool, count: int = 1) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(1 for c, _ in self.changes if c is connected) >= count, WAIT_S
            )


@pytest.fixture
def broker(tmp_path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker") as b:
        yield b


@pytest.fixture
def outbox(tmp_path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3", 1000)
    yield box
    box.close()


@pytest.fixture
def subscribe() -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(broker: Mosquitto, topics: list[str], **kwargs: Any) -> Subscriber:
        sub = Subscriber(broker, topics, **kwargs)
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()


@pytest.fixture
def publisher() -> Iterator[Callable[..., tuple[MqttPublisher, Watch]]]:
    """Make started publishers with fast reconnects; all are closed at teardown."""
    made: list[MqttPublisher] = []

    def make(section: dict[str, Any], box: Outbox, **kwargs: Any) -> tuple[MqttPublisher, Watch]:
        watch = Watch()
        kwargs.setdefault("reconnect_min_s", 0.05)
        kwargs.setdefault("reconnect_max_s", 0.5)
        pub = MqttPublisher(
            section, box, station=section["station"], on_connection_change=watch, **kwargs
        )
        made.append(pub)
        return pub.start(), watch

    yield make
    for pub in made:
        pub.close()


class LogWatch(logging.Handler):
    """Log records of the publishing package, to wait on."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.cond:
            self.records.append(record)
            self.cond.notify_all()

    def wait(self, predicate) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.records), WAIT_S)


@pytest.fixture
def logwatch():
    handler = LogWatch()
    logger = logging.getLogger("firmware.publishing")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
