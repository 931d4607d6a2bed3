"""Fixtures for the dashboard tests: headless Chromium (the system one, never a download)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.web.server import DashboardServer
from tests.mosquitto import Mosquitto
from tests.web.helpers import Publisher

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module; never a browser download."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker with a WebSockets listener for the page; modules with an ACL override it."""
    with Mosquitto(tmp_path / "mosquitto", websockets=True) as broker:
        yield broker


@pytest.fixture
def publisher(broker: Mosquitto) -> Iterator[Publisher]:
    """paho publishing like a station."""
    pub = Publisher(broker.host, broker.port)
    try:
        yield pub
    finally:
        pub.close()


@pytest.fixture
def dashboard(broker: Mosquitto) -> Iterator[DashboardServer]:
    with DashboardServer(broker.url(), "repsled") as server:
        yield server
