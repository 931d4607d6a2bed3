"""The live page (issue 13 and the dashboard item of issue 10) in headless Chromium.

Against a real mosquitto fed by paho like a station, which also publishes its retained session
document and summary the way firmware.station does (RetainedState). The hub case uses a tiny
stub server that serves the page and the contract's `GET /api/v1/live`.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from firmware.publishing.session_state import RetainedState
from firmware.web.server import DashboardServer, static_files
from tests.factories import make_rep
from tests.mosquitto import Mosquitto
from tests.web.helpers import SESSION, Publisher, artifact, panel, rep_json, set_json, state_json

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.broker]

WAIT_MS = 10_000  # bounded wait for the page to show a condition, never a sleep


class FakeStation:
    """Publishes like firmware.station.Station: each rep or set, then the retained state."""

    def __init__(self, pub: Publisher, name: str, session: str = SESSION) -> None:
        self.pub, self.name = pub, name
        self.retained = RetainedState(name, session, wall_clock=lambda: 1_764_573_300.0)

    def start(self) -> None:
        self.pub.status(self.name, "online")
        self._retained()

    def rep(self, set_no: int, rep_no: int, **kwargs: Any) -> dict[str, Any]:
        payload = rep_json(self.name, make_rep(set_no, rep_no, **kwargs))
        self.pub.publish(self.name, "rep", payload)
        self.retained.add_rep(payload)
        self._retained()
        return payload

    def set(self, set_no: int, reps: int, **overrides: Any) -> dict[str, Any]:
        payload = set_json(self.name, set_no, reps)
        payload.update(overrides)
        self.pub.publish(self.name, "set", payload)
        self.retained.add_set(payload)
        self._retained()
        return payload

    def _retained(self) -> None:
        for kind, text in self.retained.messages():
            self.pub.publish(self.name, kind, text, retain=True)


def open_when_live(page: Any, url: str, station: str) -> None:
    """Load the page and wait until a retained status arrived: the subscription is then active."""
    page.goto(url)
    expect(panel(page, station).get_by_test_id("status")).to_have_text("online", timeout=WAIT_MS)
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected")


def two_sets(station: FakeStation) -> None:
    for i in (1, 2, 3):
        station.rep(1, i, velocity_m_s=0.6 - 0.05 * i)
    station.set(1, 3)
    for i in (1, 2):
        station.rep(2, i, eccentric_s=2.5)
    station.set(2, 2, time_under_tension_s=27.0)


def test_set_end_shows_the_finished_set_then_switches(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    press = FakeStation(publisher, "press")
    press.start()
    open_when_live(page, dashboard.url, "press")
    view = panel(page, "press")
    for i in range(1, 6):
        press.rep(1, i, velocity_m_s=0.60 - 0.04 * i)
    expect(view.get_by_test_id("rep-count")).to_have_text("5")
    expect(view.get_by_test_id("set-done")).to_be_hidden()

    # The station's live state moves to set 2 (rep 0) and the set is reported.
    publisher.publish("press", "state", state_json("rest", 0.0, 2, 0), qos=0)
    press.set(1, 5, velocity_loss_pct=28.0, mean_eccentric_s=2.9)
    done = view.get_by_test_id("set-done")
    expect(done).to_be_visible()
    expect(done).to_contain_text("set 1 done")
    expect(done).to_contain_text("5 reps")
    expect(done).to_contain_text("velocity loss 28 %")
    expect(done).to_contain_text("mean down 2.9 s")
    expect(view.get_by_test_id("rep-count")).to_have_text("5")
    expect(view.get_by_test_id("set-count")).to_have_text("1")
    expect(view.locator(".chart-svg rect")).to_have_count(5)  # the chart stays on set 1 too
    expect(view.locator(".vel-loss")).to_have_text("velocity loss 28 %")
    expect(view.get_by_test_id("set-row")).to_have_count(1)
    page.screenshot(path=artifact("live-set-done.png"), full_page=True)

    # The next set's first rep switches counter, tiles and chart together.
    press.rep(2, 1, eccentric_s=3.3, velocity_m_s=0.61)
    expect(done).to_be_hidden()
    expect(view.get_by_test_id("rep-count")).to_have_text("1")
    expect(view.get_by_test_id("set-count")).to_have_text("2")
    expect(view.locator(".chart-svg rect")).to_have_count(1)
    expect(view.get_by_test_id("last-eccentric-s")).to_have_text("3.3")
    expect(view.locator(".vel-loss")).to_have_text("")


def test_offline_station_shows_since_when_and_keeps_its_results(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    press = FakeStation(publisher, "press")
    press.start()
    open_when_live(page, dashboard.url, "press")
    view = panel(page, "press")
    press.rep(1, 1)
    press.rep(1, 2)
    press.set(1, 2)
    publisher.publish("press", "state", state_json("concentric", 0.5, 2, 0), qos=0)
    expect(view.get_by_test_id("phase")).to_have_text("concentric")
    expect(view.get_by_test_id("offline-since")).to_be_hidden()

    publisher.status("press", "offline")
    expect(view.get_by_test_id("status")).to_have_text("offline")
    expect(view.get_by_test_id("phase")).to_have_text("offline")  # not the last phase
    since = view.get_by_test_id("offline-since")
    expect(since).to_be_visible()
    expect(since).to_have_text(re.compile(r"^offline since \d\d:\d\d · last rep \d\d:\d\d$"))
    expect(view).to_have_class(re.compile(r"\bis-offline\b"))
    # The last set's results stay readable: not dimmed.
    row = view.get_by_test_id("set-row")
    expect(row).to_have_count(1)
    assert row.evaluate("el => getComputedStyle(el.closest('.sets')).opacity") == "1"
    page.screenshot(path=artifact("live-offline.png"), full_page=True)

    # A page opened later gets the retained "offline": it cannot know since when.
    other = page.context.new_page()
    other.goto(dashboard.url)
    expect(panel(other, "press").get_by_test_id("offline-since")).to_have_text(
        re.compile(r"^offline · last rep \d\d:\d\d$"), timeout=WAIT_MS
    )
    expect(panel(other, "press").get_by_test_id("set-row")).to_have_count(1)

    publisher.status("press", "online")
    expect(since).to_be_hidden()


def test_page_opened_after_two_sets_without_a_hub(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    press = FakeStation(publisher, "press")
    press.start()
    two_sets(press)
    open_when_live(page, dashboard.url, "press")
    view = panel(page, "press")
    rows = view.get_by_test_id("set-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("27 s")  # newest first, with its time under tension
    expect(view.get_by_test_id("set-count")).to_have_text("2")
    expect(view.get_by_test_id("rep-count")).to_have_text("2")
    expect(view.get_by_test_id("set-done")).to_be_visible()
    expect(view.locator(".chart-svg rect")).to_have_count(2)  # the latest set's reps
    expect(view.get_by_test_id("last-eccentric-s")).to_have_text("2.5")

    # Redelivered payloads change nothing: dropped by id.
    publisher.publish("press", "rep", press.retained.session.document()["reps"][0])
    publisher.publish("press", "set", press.retained.session.document()["sets"][0])
    press.rep(3, 1)
    expect(view.get_by_test_id("set-count")).to_have_text("3")
    expect(rows).to_have_count(2)


class StubHub:
    """The hub's contract only: the page, /config.json with "hub": true, GET /api/v1/live."""

    def __init__(self, broker_url: str, live: dict[str, Any]) -> None:
        files = static_files()
        config = json.dumps({"broker_ws": broker_url, "prefix": "repsled", "hub": True}).encode()
        body = json.dumps(live).encode()
        self.requests: list[str] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                requests.append(path)
                path = "/index.html" if path == "/" else path
                data = {"/config.json": config, "/api/v1/live": body}.get(path, files.get(path))
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                ctype = "application/json" if path.endswith((".json", "/live")) else ""
                if path.endswith((".js", ".css", ".html", ".svg")):
                    ctype = {"js": "text/javascript", "css": "text/css", "html": "text/html",
                             "svg": "image/svg+xml"}[path.rsplit(".", 1)[1]]  # fmt: skip
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def test_page_opened_after_two_sets_with_a_hub(
    page: Any, broker: Mosquitto, publisher: Publisher
) -> None:
    # The hub knows the session; the broker has only the station's status (no retained
    # session yet), so what the page shows comes from api/v1/live.
    recorder = RetainedState("press", SESSION)
    reps = [rep_json("press", make_rep(1, i)) for i in (1, 2, 3)]
    reps2 = [rep_json("press", make_rep(2, i, eccentric_s=2.2)) for i in (1, 2)]
    for rep in reps:
        recorder.add_rep(rep)
    recorder.add_set(set_json("press", 1, 3))
    for rep in reps2:
        recorder.add_rep(rep)
    recorder.add_set(set_json("press", 2, 2))
    other = RetainedState("bench", "20250301T080000")
    bench = "20250301T080000"
    other = RetainedState("bench", bench)
    other.add_rep(
        rep_json("bench", make_rep(1, 1)) | {"session": bench, "id": f"bench/{bench}/s1/r1"}
    )
    live = {"schema": 1, "sessions": [recorder.session.document(), other.session.document()]}
    hub = StubHub(broker.url(), live)
    try:
        publisher.status("press", "online")
        open_when_live(page, hub.url, "press")
        view = panel(page, "press")
        expect(view.get_by_test_id("set-row")).to_have_count(2)
        expect(view.get_by_test_id("set-count")).to_have_text("2")
        expect(view.locator(".chart-svg rect")).to_have_count(2)
        expect(panel(page, "bench").get_by_test_id("rep-count")).to_have_text("1")
        assert hub.requests.count("/api/v1/live") == 1

        # The station's retained document and live reps of the same session merge by id.
        publisher.publish("press", "session", recorder.session.text(), retain=True)
        publisher.publish("press", "rep", reps2[1])
        publisher.publish("press", "rep", rep_json("press", make_rep(3, 1)))
        expect(view.get_by_test_id("set-count")).to_have_text("3")
        expect(view.get_by_test_id("set-row")).to_have_count(2)
    finally:
        hub.close()


def test_page_without_hub_does_not_ask_for_it(page: Any, broker: Mosquitto) -> None:
    hub = StubHub(broker.url(), {"schema": 1, "sessions": []})
    try:
        # Same stub, but config.json without "hub": the page must not fetch api/v1/live.
        page.route("**/config.json", lambda route: route.fulfill(
            json={"broker_ws": broker.url(), "prefix": "repsled"}))  # fmt: skip
        page.goto(hub.url)
        expect(page.get_by_test_id("connection")).to_have_attribute(
            "data-state", "connected", timeout=WAIT_MS
        )
        assert "/api/v1/live" not in hub.requests
    finally:
        hub.close()


def test_hostile_messages_never_freeze_a_panel(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    press = FakeStation(publisher, "press")
    press.start()
    open_when_live(page, dashboard.url, "press")
    view = panel(page, "press")
    good = press.rep(1, 1)
    expect(view.get_by_test_id("rep-count")).to_have_text("1")

    def rep_with(**changes: Any) -> dict[str, Any]:
        return {**rep_json("press", make_rep(1, 2)), **changes}

    newer = "29991231T235959Z"
    hostile: list[tuple[str, Any]] = [
        ("rep", rep_with(set=1e308, id=f"press/{SESSION}/s1e+308/r2")),
        ("rep", rep_with(rep=1e308)),
        ("rep", rep_with(rep=-1, id=f"press/{SESSION}/s1/r-1")),
        ("rep", rep_with(rep="2")),
        ("rep", rep_with(rep=2.5, id=f"press/{SESSION}/s1/r2.5")),
        ("rep", rep_with(id="press/other/s1/r2")),  # id and fields disagree
        ("rep", rep_with(station="bench")),
        ("rep", rep_with(session="a/b")),
        ("rep", rep_with(eccentric_s=1e308, flags=["x" * 100_000])),  # fits, numbers cleaned
        ("set", {**set_json("press", 1, 3), "reps": 1e308}),
        ("set", {**set_json("press", 1, 3), "set": 1e308, "id": f"press/{SESSION}/s1e+308"}),
        ("state", {**state_json("eccentric", 0.5, 1, 1), "set": 1e308}),
        ("state", {**state_json("eccentric", 0.5, 1, 1), "rep": -3}),
        ("summary", {"schema": 1, "station": "press", "set": 1e308, "reps_in_set": 9}),
        ("session", {**press.retained.session.document(), "schema": 2, "reps": []}),
        ("session", {**press.retained.session.document(), "station": "bench"}),
        ("session", {**press.retained.session.document(), "sets": "nope"}),
        ("rep", "not json {"),
        ("rep", "[1, 2, 3]"),
        ("rep", "null"),
        ("set", '"a string"'),
        # Another session, sorting after the current one: it takes the panel over...
        ("rep", rep_with(session=newer, id=f"press/{newer}/s1/r2")),
    ]
    for kind, payload in hostile:
        publisher.publish("press", kind, payload)
    expect(view.get_by_test_id("rep-count")).to_have_text("2")  # the accepted ones only
    expect(view.get_by_test_id("set-count")).to_have_text("1")
    # ...until the station's next rep and its retained session document put it back.
    press.rep(1, 2, eccentric_s=3.4)
    expect(view.get_by_test_id("last-eccentric-s")).to_have_text("3.4")
    expect(view.get_by_test_id("rep-count")).to_have_text("2")
    expect(view.locator(".chart-svg rect")).to_have_count(2)
    assert good["id"] in json.dumps(press.retained.session.document())
    press.set(1, 2)
    expect(view.get_by_test_id("set-row")).to_have_count(1)
    press.rep(2, 1)
    expect(view.get_by_test_id("set-count")).to_have_text("2")
    expect(view.get_by_test_id("rep-count")).to_have_text("1")
    publisher.publish("press", "state", state_json("eccentric", 0.4, 2, 1), qos=0)
    expect(view.get_by_test_id("phase")).to_have_text("eccentric")
    # A late rep of an older session (a flushed outbox) does not take the panel back.
    old = "20000101T000000"
    publisher.publish("press", "rep", rep_with(session=old, id=f"press/{old}/s1/r2", rep=2))
    press.rep(2, 2)
    expect(view.get_by_test_id("rep-count")).to_have_text("2")
    expect(view.get_by_test_id("set-row")).to_have_count(1)


def test_target_set_on_the_page_is_kept_in_the_browser(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    press = FakeStation(publisher, "press")
    press.start()
    open_when_live(page, dashboard.url, "press")
    view = panel(page, "press")
    press.rep(1, 1, eccentric_s=3.5)
    expect(view.locator(".ecc-tile")).to_have_attribute("data-verdict", "good")  # 3.0 s target
    page.get_by_test_id("target-input").fill("4")
    page.get_by_test_id("target-input").dispatch_event("change")
    expect(view.locator(".target-s")).to_have_text("4.0")
    expect(view.locator(".ecc-tile")).to_have_attribute("data-verdict", "short")
    page.reload()
    expect(panel(page, "press").locator(".target-s")).to_have_text("4.0", timeout=WAIT_MS)
    expect(page.get_by_test_id("target-input")).to_have_value("4")
    # ?target= still wins, and the box says so.
    page.goto(f"{dashboard.url}?target=2.5")
    expect(panel(page, "press").locator(".target-s")).to_have_text("2.5", timeout=WAIT_MS)
    expect(page.get_by_test_id("target-input")).to_be_disabled()


def test_readable_on_a_phone_units_legend_peak_velocity(
    page: Any, publisher: Publisher, dashboard: DashboardServer
) -> None:
    press = FakeStation(publisher, "press")
    press.start()
    page.set_viewport_size({"width": 390, "height": 844})
    open_when_live(page, dashboard.url, "press")
    view = panel(page, "press")
    two_sets(press)
    press.rep(3, 1, eccentric_s=1.2, velocity_m_s=0.5, flags=("fast_eccentric",))
    press.rep(3, 2, eccentric_s=2.4, velocity_m_s=0.45)
    press.rep(3, 3, eccentric_s=3.2, velocity_m_s=0.40)
    expect(view.get_by_test_id("set-row")).to_have_count(2)
    expect(view.get_by_test_id("mean-velocity")).to_have_text("0.40")  # the last rep is shown
    tut = view.get_by_test_id("set-tut").first
    expect(tut).to_be_visible()
    expect(tut).to_have_text("27 s")
    right = tut.evaluate("el => el.isConnected ? el.getBoundingClientRect().right : null")
    assert right is not None and 0 < right <= 390  # inside the screen
    expect(view.get_by_test_id("peak-velocity")).to_have_text(f"{0.40 * 1.4:.2f}")
    units = view.locator(".chart-svg .unit").all_text_contents()
    assert "s" in units and "m/s" in units
    # One legend key per bar colour, in the bars' colours.
    bar_fill = {
        cls: view.locator(f".chart-svg rect.bar-{cls}").first.evaluate(
            "el => getComputedStyle(el).fill"
        )
        for cls in ("good", "short", "fast")
    }
    for cls, key in (("good", "key-good"), ("short", "key-short"), ("fast", "key-fast")):
        swatch = view.locator(f".{key}").evaluate(
            "el => getComputedStyle(el, '::before').backgroundColor"
        )
        assert swatch == bar_fill[cls], (cls, swatch, bar_fill[cls])
    page.screenshot(path=artifact("live-phone.png"), full_page=True)
