"""The hub's pages in headless Chromium: history, a session, the CSV download, the live page.

A real hub (SQLite, uvicorn) fed through a real mosquitto by a station-like publisher.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.hub.server import Hub, HubOptions
from tests.hub.helpers import HubBroker, publisher, session_messages, wait_until
from tests.mosquitto import Mosquitto

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.broker]

WAIT_MS = 10_000
STATION = "legpress-1"
SESSION = "20261201T071500Z-3f2a"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with HubBroker(tmp_path / "mosquitto", websockets=True) as b:
        yield b


@pytest.fixture
def hub(broker: Mosquitto, tmp_path: Path) -> Iterator[Hub]:
    options = HubOptions(
        db_url=f"sqlite:///{tmp_path / 'history.sqlite3'}",
        broker_host=broker.host,
        broker_port=broker.port,
        broker_ws=broker.url(),
        port=0,
        client_id="hub-pages",
    )
    with Hub(options) as running:
        assert running.ingestor is not None and running.ingestor.wait_subscribed(10)
        yield running


@pytest.fixture
def two_sets(hub: Hub, broker: Mosquitto) -> list[tuple[str, str]]:
    """A station finished two sets of five reps, then one older session the day before."""
    older = session_messages(STATION, session="20261130T180000Z", sets=1, reps_per_set=3)
    messages = session_messages(STATION, session=SESSION, sets=2, reps_per_set=5)
    with publisher(broker) as pub:
        pub.publish(older + messages)
    assert hub.store is not None
    wait_until(lambda: hub.store is not None and hub.store.count("rep") == 13, "stored")
    return messages


def test_history_lists_sessions_and_trends(page: Any, hub: Hub, two_sets: Any) -> None:
    page.goto(f"{hub.url}history.html")
    rows = page.get_by_test_id("session-row")
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(rows.first).to_have_attribute("data-session", SESSION)
    expect(rows.first).to_contain_text("2026-12-01 07:15")
    page.get_by_test_id("station-filter").select_option(STATION)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("trend-row")).to_have_count(2, timeout=WAIT_MS)
    expect(page.get_by_test_id("trend-row").last).to_contain_text("100 %")  # full lockout
    assert page.get_by_test_id("csv-link").get_attribute("href") == f"export.csv?station={STATION}"
    page.get_by_test_id("since-filter").fill("2026-12-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("session-row")).to_have_count(1, timeout=WAIT_MS)


def test_session_page_shows_sets_reps_and_chart(page: Any, hub: Hub, two_sets: Any) -> None:
    page.goto(f"{hub.url}history.html")
    page.get_by_test_id("session-row").first.get_by_role("link").click()
    expect(page.get_by_test_id("set-row")).to_have_count(2, timeout=WAIT_MS)
    expect(page.get_by_test_id("rep-row")).to_have_count(10)
    reps = [json.loads(p) for t, p in two_sets if t.endswith("/rep")]
    first = page.get_by_test_id("rep-row").first
    expect(first).to_have_attribute("data-id", reps[0]["id"])
    expect(first).to_contain_text(f"{reps[0]['eccentric_s']:.1f} s")
    expect(first).to_contain_text("full")
    panels = page.get_by_test_id("set-panel")
    expect(panels).to_have_count(2)
    expect(panels.first.locator("rect.bar")).to_have_count(5)
    expect(panels.first.locator("circle.vel-dot")).to_have_count(5)
    expect(page.get_by_test_id("session-meta")).to_contain_text("2 sets · 10 reps")


def test_csv_download_from_the_session_page(page: Any, hub: Hub, two_sets: Any) -> None:
    page.goto(f"{hub.url}session.html?station={STATION}&session={SESSION}")
    expect(page.get_by_test_id("rep-row")).to_have_count(10, timeout=WAIT_MS)
    with page.expect_download() as info:
        page.get_by_test_id("csv-link").click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == [json.loads(p)["id"] for t, p in two_sets if "/rep" in t]
    assert download.suggested_filename == f"repsled-{STATION}-{SESSION}.csv"


def test_an_unknown_session_says_so(page: Any, hub: Hub) -> None:
    page.goto(f"{hub.url}session.html?station=x&session=y")
    expect(page.get_by_test_id("error")).to_contain_text("no session 'y'", timeout=WAIT_MS)


def test_phone_width_keeps_the_rep_table_readable(page: Any, hub: Hub, two_sets: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{hub.url}session.html?station={STATION}&session={SESSION}")
    expect(page.get_by_test_id("rep-row")).to_have_count(10, timeout=WAIT_MS)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone: {width}px"


def test_live_page_opened_after_two_sets_shows_both(page: Any, hub: Hub, two_sets: Any) -> None:
    page.goto(hub.url)
    section = page.locator(f'[data-station="{STATION}"]')
    expect(section.locator(".sets tbody tr")).to_have_count(2, timeout=WAIT_MS)
    expect(section.get_by_test_id("rep-count")).to_have_text("5")
