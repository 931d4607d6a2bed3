"""The page logs in to a broker that refuses anonymous clients, as the shipped config does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.web.server import DashboardServer
from tests.mosquitto import Mosquitto, shipped_acl_files
from tests.web.helpers import panel

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.broker]

WAIT_MS = 10_000  # bounded wait for the page to show a condition, never a sleep
USERS = {"alpha": "pw-alpha", "dashboard": "pw-dash"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """mosquitto with passwords and the shipped ACL; anonymous clients are refused."""
    passwd, acl = shipped_acl_files(tmp_path, USERS)
    with Mosquitto(
        tmp_path / "mosquitto", websockets=True, password_file=passwd, acl_file=acl
    ) as b:
        yield b


def _station_online(broker: Mosquitto, station: str) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(station, USERS[station])
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert connected.wait(10)
        info = client.publish(f"repsled/{station}/status", "online", qos=1, retain=True)
        info.wait_for_publish(10)
        assert info.is_published()
    finally:
        client.loop_stop()
        client.disconnect()


def test_page_logs_in_with_the_dashboard_user(page: Any, broker: Mosquitto) -> None:
    _station_online(broker, "alpha")
    login = ("dashboard", USERS["dashboard"])
    with DashboardServer(broker.url(), "repsled", broker_login=login) as server:
        page.goto(server.url)
        status = panel(page, "alpha").get_by_test_id("status")
        expect(status).to_have_text("online", timeout=WAIT_MS)
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected")


def test_page_without_a_login_is_refused_and_says_so(page: Any, broker: Mosquitto) -> None:
    with DashboardServer(broker.url(), "repsled") as server:
        page.goto(server.url)
        connection = page.get_by_test_id("connection")
        expect(connection).to_have_attribute("data-state", "error", timeout=WAIT_MS)
        expect(connection).to_contain_text("Not authorized")
