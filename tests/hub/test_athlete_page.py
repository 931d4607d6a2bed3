"""The athlete page in headless Chromium: the profile chart with its line and e1RM, the trend.

A real hub (SQLite, uvicorn) fed through a real mosquitto with an athlete's sets at 3 loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from firmware.hub.server import Hub, HubOptions
from tests.hub.helpers import HubBroker, athlete_session, publisher, wait_until
from tests.mosquitto import Mosquitto

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.broker]

WAIT_MS = 10_000
STATION = "legpress-1"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with HubBroker(tmp_path / "mosquitto") as broker:
        options = HubOptions(
            db_url=f"sqlite:///{tmp_path / 'history.sqlite3'}",
            broker_host=broker.host,
            broker_port=broker.port,
            port=0,
            client_id="hub-athlete-page",
        )
        with Hub(options) as running:
            assert running.ingestor is not None and running.ingestor.wait_subscribed(10)
            fill(running, broker)
            yield running


def fill(hub: Hub, broker: Mosquitto) -> None:
    """Ana on a known line, v = 1.2 - 0.005 × load (e1RM 198 kg), over two sessions; Ben once."""
    now = datetime.now(UTC)

    def name(days_ago: int) -> str:
        return (now - timedelta(days=days_ago)).strftime("%Y%m%dT%H%M%SZ")

    messages = (
        athlete_session(STATION, name(9), "Ana", [(100.0, 0.7), (140.0, 0.5)])
        + athlete_session(STATION, name(2), "Ana", [(180.0, 0.3)])
        + athlete_session(STATION, name(1), "Ben", [(80.0, 0.8)])
    )
    with publisher(broker) as pub:
        pub.publish(messages)
    wait_until(lambda: hub.store is not None and hub.store.count("set") == 4, "stored")


def test_athlete_page_charts_the_profile_and_the_e1rm(page: Any, hub: Hub) -> None:
    page.goto(f"{hub.url}history.html")
    page.get_by_test_id("athletes-link").click()
    links = page.get_by_test_id("athlete-link")
    expect(links).to_have_count(2, timeout=WAIT_MS)
    expect(links.first).to_have_text("Ana")
    links.first.click()
    expect(page.get_by_test_id("profile")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("profile-name")).to_have_text("Ana")
    expect(page.get_by_test_id("profile-summary")).to_have_text(
        "3 loads, R² 1.000, e1RM 198.0 kg at 0.21 m/s"
    )
    expect(page.get_by_test_id("profile-point")).to_have_count(3)
    expect(page.get_by_test_id("fit-line")).to_have_count(1)
    expect(page.get_by_test_id("e1rm-marker")).to_have_attribute("data-e1rm-kg", "198")
    # Two days ago the third load made the first profile; nine days ago there was none.
    expect(page.get_by_test_id("trend-point")).to_have_count(1)


def test_a_session_row_links_its_athlete(page: Any, hub: Hub) -> None:
    page.goto(f"{hub.url}history.html")
    ben = page.get_by_test_id("session-row").first.get_by_test_id("session-athlete")
    expect(ben).to_have_text("Ben", timeout=WAIT_MS)
    ben.click()
    expect(page.get_by_test_id("profile-name")).to_have_text("Ben", timeout=WAIT_MS)


def test_athlete_with_one_load_says_not_enough_data(page: Any, hub: Hub) -> None:
    page.goto(f"{hub.url}athlete.html?name=Ben")
    expect(page.get_by_test_id("profile-summary")).to_have_text(
        "Not enough data: 1 distinct load(s); a profile needs sets at 3 or more different loads",
        timeout=WAIT_MS,
    )
    expect(page.get_by_test_id("profile-point")).to_have_count(1)
    expect(page.get_by_test_id("e1rm-marker")).to_have_count(0)
    expect(page.get_by_test_id("no-trend")).to_be_visible()
