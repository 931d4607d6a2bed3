"""The page in headless Chromium against a real mosquitto, fed by paho like real stations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from firmware.web.server import DashboardServer
from tests.factories import make_rep
from tests.mosquitto import Mosquitto, free_port
from tests.web.helpers import (
    SESSION,
    Publisher,
    artifact,
    panel,
    rep_json,
    set_json,
    state_json,
    station_order,
)

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.broker]

WAIT_MS = 10_000  # bounded wait for the page to show a condition, never a sleep


def open_when_live(page: Any, url: str, first_station: str) -> None:
    """Load the page and wait until a retained status arrived: the subscription is then active."""
    page.goto(url)
    expect(panel(page, first_station).get_by_test_id("status")).to_have_text(
        "online", timeout=WAIT_MS
    )
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected")


def test_two_stations_counts_lockout_status_and_order(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    publisher.status("bravo", "online")
    open_when_live(page, dashboard.url, "bravo")

    # alpha appears after bravo but is shown first: panels are ordered by name.
    publisher.status("alpha", "online")
    expect(panel(page, "alpha").get_by_test_id("status")).to_have_text("online")
    assert station_order(page) == ["alpha", "bravo"]

    alpha_reps = [
        make_rep(1, 1, eccentric_s=3.2, velocity_m_s=0.55),
        make_rep(1, 2, eccentric_s=3.0, velocity_m_s=0.52),
        make_rep(1, 3, eccentric_s=2.8, velocity_m_s=0.47, flags=("partial",)),
    ]
    for rep in alpha_reps:
        publisher.publish("alpha", "rep", rep_json("alpha", rep))
    # A QoS 1 redelivery (same id) of rep 2 must not count twice.
    publisher.publish("alpha", "rep", rep_json("alpha", alpha_reps[1]))

    publisher.publish(
        "bravo",
        "rep",
        rep_json("bravo", make_rep(1, 1, eccentric_s=3.4, velocity_m_s=0.6), leg="left"),
    )
    publisher.publish("bravo", "set", set_json("bravo", 1, 1, leg="left"))
    bravo_set2 = [
        make_rep(2, 1, eccentric_s=3.1, velocity_m_s=0.58),
        make_rep(2, 2, eccentric_s=1.6, flags=("locked_knees",)),
    ]
    for rep in bravo_set2:
        publisher.publish("bravo", "rep", rep_json("bravo", rep, leg="right"))
    imbalance = {
        "left_set": 1,
        "right_set": 2,
        "reps_diff": 1,
        "reps_pct": 50.0,
        "mean_velocity_diff_pct": -8.5,
        "eccentric_s_diff_pct": -31.0,
    }
    publisher.publish("bravo", "set", set_json("bravo", 2, 2, leg="right", imbalance=imbalance))
    publisher.publish("bravo", "state", state_json("rest", 0.02, 2, 2), qos=0)

    alpha, bravo = panel(page, "alpha"), panel(page, "bravo")
    expect(alpha.get_by_test_id("rep-count")).to_have_text("3")
    expect(alpha.get_by_test_id("set-count")).to_have_text("1")
    expect(alpha.get_by_test_id("last-eccentric-s")).to_have_text("2.8")
    expect(alpha.get_by_test_id("last-lockout")).to_have_text("partial")

    expect(bravo.get_by_test_id("set-count")).to_have_text("2")
    expect(bravo.get_by_test_id("rep-count")).to_have_text("2")
    expect(bravo.get_by_test_id("last-eccentric-s")).to_have_text("1.6")
    expect(bravo.get_by_test_id("last-lockout")).to_have_text("locked")
    expect(bravo.locator(".leg-badge")).to_have_text("right")
    expect(bravo.get_by_test_id("imbalance")).to_contain_text("velocity -9 %")
    expect(bravo.locator(".sets tbody tr")).to_have_count(3)  # two sets and the imbalance
    expect(bravo.get_by_test_id("phase")).to_have_text("rest")

    # The duplicate did not reach the chart either: three bars for three reps.
    expect(alpha.locator(".chart-svg rect")).to_have_count(3)

    page.screenshot(path=artifact("dashboard-two-stations.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=artifact("dashboard-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    publisher.status("bravo", "offline")
    expect(bravo.get_by_test_id("status")).to_have_text("offline")
    expect(bravo).to_have_class(re.compile(r"\bis-offline\b"))
    expect(alpha.get_by_test_id("status")).to_have_text("online")
    page.screenshot(path=artifact("dashboard-station-offline.png"), full_page=True)


def test_target_from_query_and_stale_state(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    page.clock.install()  # fake Date and timers: "5 s without state" without waiting 5 s
    publisher.status("press", "online")
    open_when_live(page, f"{dashboard.url}?target=4", "press")
    press = panel(page, "press")
    expect(press.locator(".target-s")).to_have_text("4.0")

    publisher.publish("press", "state", state_json("eccentric", 0.6, 1, 0), qos=0)
    expect(press.get_by_test_id("phase")).to_have_text("eccentric")
    expect(press.get_by_test_id("stale")).to_be_hidden()

    publisher.publish("press", "rep", rep_json("press", make_rep(1, 1, eccentric_s=3.5)))
    expect(press.get_by_test_id("rep-count")).to_have_text("1")
    # 3.5 s against a 4 s target is short, not good.
    expect(press.locator(".ecc-tile")).to_have_attribute("data-verdict", "short")

    page.clock.fast_forward(6000)
    expect(press.get_by_test_id("stale")).to_be_visible()
    expect(press.get_by_test_id("status")).to_have_text("online")

    publisher.publish("press", "state", state_json("concentric", 0.3, 1, 1), qos=0)
    expect(press.get_by_test_id("stale")).to_be_hidden()


def test_reconnects_after_the_broker_restarts(
    page: Any, broker: Mosquitto, dashboard: DashboardServer
) -> None:
    pub = Publisher(broker.host, broker.port)
    try:
        pub.status("press", "online")
        open_when_live(page, dashboard.url, "press")
    finally:
        pub.close()

    broker.stop()  # mosquitto without persistence: the retained status is gone with it
    expect(page.get_by_test_id("connection")).not_to_have_attribute(
        "data-state", "connected", timeout=WAIT_MS
    )
    broker.start()
    pub = Publisher(broker.host, broker.port)
    try:
        pub.status("press", "offline")
        expect(page.get_by_test_id("connection")).to_have_attribute(
            "data-state", "connected", timeout=WAIT_MS
        )
        expect(panel(page, "press").get_by_test_id("status")).to_have_text(
            "offline", timeout=WAIT_MS
        )
        pub.publish("press", "rep", rep_json("press", make_rep(1, 1)))
        expect(panel(page, "press").get_by_test_id("rep-count")).to_have_text("1")
    finally:
        pub.close()


def test_broker_query_parameter_overrides_the_server(
    page: Any, broker: Mosquitto, publisher: Publisher
) -> None:
    # The server points at a port where nothing listens; ?broker= wins.
    with DashboardServer(f"ws://127.0.0.1:{free_port()}", "repsled") as server:
        publisher.status("press", "online")
        open_when_live(page, f"{server.url}?broker={broker.url()}", "press")


def test_prefix_from_server_config(page: Any, broker: Mosquitto) -> None:
    pub = Publisher(broker.host, broker.port, prefix="gym/a")
    other = Publisher(broker.host, broker.port, prefix="repsled")
    try:
        other.status("elsewhere", "online")
        pub.status("press", "online")
        with DashboardServer(broker.url(), "gym/a") as server:
            open_when_live(page, server.url, "press")
            pub.publish("press", "rep", rep_json("press", make_rep(1, 1)))
            expect(panel(page, "press").get_by_test_id("rep-count")).to_have_text("1")
            assert station_order(page) == ["press"]
    finally:
        pub.close()
        other.close()


def test_retained_summary_fills_a_page_opened_mid_set(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    summary = {
        "schema": 1,
        "station": "press",
        "session": SESSION,
        "set": 3,
        "reps_in_set": 7,
        "sets": 2,
        "last_eccentric_s": 2.6,
        "last_eccentric_score": 71,
        "last_lockout": "full",
        "velocity_m_s": 0.44,
        "last_id": f"press/{SESSION}/s3/r7",
    }
    publisher.publish("press", "summary", summary, retain=True)
    publisher.status("press", "online")
    open_when_live(page, dashboard.url, "press")
    press = panel(page, "press")
    expect(press.get_by_test_id("set-count")).to_have_text("3")
    expect(press.get_by_test_id("rep-count")).to_have_text("7")
    expect(press.get_by_test_id("last-eccentric-s")).to_have_text("2.6")
    expect(press.get_by_test_id("last-lockout")).to_have_text("full")

    # The next rep takes over; a newer schema than the page knows is ignored.
    publisher.publish("press", "rep", rep_json("press", make_rep(3, 8, eccentric_s=3.1)))
    expect(press.get_by_test_id("rep-count")).to_have_text("8")
    expect(press.get_by_test_id("last-eccentric-s")).to_have_text("3.1")
    future = {**rep_json("press", make_rep(3, 9, eccentric_s=1.0)), "schema": 2}
    publisher.publish("press", "rep", future)
    publisher.publish("press", "rep", rep_json("press", make_rep(3, 10, eccentric_s=2.2)))
    expect(press.get_by_test_id("last-eccentric-s")).to_have_text("2.2")
    expect(press.get_by_test_id("rep-count")).to_have_text("10")  # the station's numbering


def test_a_revised_rep_replaces_the_first_and_counts_no_rep_more(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    """docs/payloads.md, "Revised reps": its end placed again, the rep is sent once more."""
    publisher.status("press", "online")
    open_when_live(page, dashboard.url, "press")
    press = panel(page, "press")
    first = rep_json("press", make_rep(1, 1, eccentric_s=1.9, flags=("fast_eccentric",)))
    revised = {**rep_json("press", make_rep(1, 1, eccentric_s=2.1)), "revision": 1}
    publisher.publish("press", "rep", first)
    expect(press.get_by_test_id("last-eccentric-s")).to_have_text("1.9")
    publisher.publish("press", "rep", revised)
    expect(press.get_by_test_id("last-eccentric-s")).to_have_text("2.1")
    expect(press.get_by_test_id("rep-count")).to_have_text("1")
    # A page that saw rep 2's revision first keeps it when the first version comes late.
    late = rep_json("press", make_rep(1, 2, eccentric_s=1.5))
    publisher.publish(
        "press", "rep", {**rep_json("press", make_rep(1, 2, eccentric_s=2.4)), "revision": 1}
    )
    expect(press.get_by_test_id("last-eccentric-s")).to_have_text("2.4")
    publisher.publish("press", "rep", late)
    page.wait_for_function(
        "id => window.repsled.stations.get('press').seenIds.has(id)", arg=late["id"]
    )
    expect(press.get_by_test_id("last-eccentric-s")).to_have_text("2.4")
    expect(press.get_by_test_id("rep-count")).to_have_text("2")
