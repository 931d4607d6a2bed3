"""The next-set form of each station panel, in headless Chromium against a real mosquitto
running the shipped ACL: the page logs in as `dashboard`, which may write `PREFIX/+/next`."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.station.next_set import NextSet, decode, encode
from firmware.web.server import DashboardServer
from tempo.prescription import parse_tempo
from tests.mosquitto import Mosquitto, shipped_acl_files
from tests.web.helpers import SESSION, artifact, panel

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.broker]

WAIT_MS = 10_000  # bounded wait for the page to show a condition, never a sleep
WAIT_S = 10.0
USERS = {"alpha": "pw-alpha", "dashboard": "pw-dash"}
TOPIC = "repsled/alpha/next"
ANA = NextSet("Ana", 140.0, "both", parse_tempo("3-1-X-0"))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """mosquitto with passwords and the shipped ACL; anonymous clients are refused."""
    passwd, acl = shipped_acl_files(tmp_path, USERS)
    with Mosquitto(
        tmp_path / "mosquitto", websockets=True, password_file=passwd, acl_file=acl
    ) as b:
        yield b


class StationClient:
    """paho logged in as the station `alpha`: publishes like it, reads its own topics."""

    def __init__(self, broker: Mosquitto) -> None:
        import paho.mqtt.client as mqtt

        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.username_pw_set("alpha", USERS["alpha"])
        connected = threading.Event()
        self.client.on_connect = lambda *_args: connected.set()
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, bytes(m.payload), bool(m.retain))
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert connected.wait(WAIT_S), "the station client could not connect"

    def publish(self, kind: str, payload: str, *, retain: bool = True) -> None:
        info = self.client.publish(f"repsled/alpha/{kind}", payload, qos=1, retain=retain)
        info.wait_for_publish(WAIT_S)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def station(broker: Mosquitto) -> Iterator[StationClient]:
    client = StationClient(broker)
    try:
        yield client
    finally:
        client.close()


def retained(broker: Mosquitto, topic: str) -> tuple[bytes, bool]:
    """The message a new subscriber gets on `topic`: what the broker keeps for it."""
    reader = StationClient(broker)
    try:
        reader.client.subscribe(topic, qos=1)
        got_topic, payload, retain = reader.messages.get(timeout=WAIT_S)
        assert got_topic == topic
        return payload, retain
    finally:
        reader.close()


@pytest.fixture
def dashboard(broker: Mosquitto) -> Iterator[DashboardServer]:
    with DashboardServer(
        broker.url(), "repsled", broker_login=("dashboard", USERS["dashboard"])
    ) as server:
        yield server


def open_with_next(page: Any, dashboard: DashboardServer, station: StationClient) -> Any:
    """The page open on a live station whose retained next set is ANA, and who had a rep
    by Ben (so both names are in the athlete list)."""
    station.publish("status", "online")
    station.publish("next", encode(ANA))
    page.goto(dashboard.url)
    view = panel(page, "alpha")
    expect(view.get_by_test_id("status")).to_have_text("online", timeout=WAIT_MS)
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected")
    rep = {"type": "rep", "schema": 1, "station": "alpha", "session": SESSION, "set": 1,
           "rep": 1, "id": f"alpha/{SESSION}/s1/r1", "athlete": "Ben"}  # fmt: skip
    station.publish("rep", json.dumps(rep), retain=False)
    expect(view.get_by_test_id("rep-count")).to_have_text("1")
    expect(view.get_by_test_id("next-current")).to_have_text("Ana · 140 kg · tempo 3-1-X-0")
    return view


def test_the_form_sets_the_next_set_as_the_exact_retained_message(
    page: Any, broker: Mosquitto, station: StationClient, dashboard: DashboardServer
) -> None:
    view = open_with_next(page, dashboard, station)
    # The form starts from the station's current next set; the list offers both athletes.
    expect(view.get_by_test_id("next-athlete")).to_have_value("Ana")
    expect(view.get_by_test_id("next-load")).to_have_value("140")
    expect(view.get_by_test_id("next-tempo")).to_have_value("3-1-X-0")
    options = view.locator("datalist option")
    expect(options).to_have_count(2)
    assert options.evaluate_all("els => els.map(e => e.value)") == ["Ana", "Ben"]

    view.get_by_test_id("next-athlete").fill("Ben")
    view.get_by_test_id("next-load-plus").click()
    view.get_by_test_id("next-load-plus").click()
    view.get_by_test_id("next-load-minus").click()
    expect(view.get_by_test_id("next-load")).to_have_value("142.5")
    view.get_by_test_id("next-tempo").fill("31x0")
    view.get_by_test_id("next-leg").select_option("left")
    view.get_by_test_id("next-submit").click()
    message = view.get_by_test_id("next-message")
    expect(message).to_have_text("sent: Ben · 142.5 kg · tempo 3-1-X-0 · left leg")

    want = NextSet("Ben", 142.5, "left", parse_tempo("3-1-X-0"))
    payload, retain = retained(broker, TOPIC)
    assert retain
    assert payload.decode() == encode(want)  # exactly what the station and `repsled next` write
    assert decode(payload) == want
    # The retained message comes back to the page: the panel shows it as current.
    expect(view.get_by_test_id("next-current")).to_have_text(
        "Ben · 142.5 kg · tempo 3-1-X-0 · left leg"
    )
    expect(view.get_by_test_id("next-tempo")).to_have_value("3-1-X-0")  # canonical now
    page.screenshot(path=artifact("next-form.png"), full_page=True)

    # Emptied fields are null: nobody named, load unknown, no tempo.
    for field in ("next-athlete", "next-load", "next-tempo"):
        view.get_by_test_id(field).fill("")
    view.get_by_test_id("next-submit").click()
    expect(message).to_have_text("sent: nobody named · load unknown · no tempo · left leg")
    payload, _ = retained(broker, TOPIC)
    assert payload.decode() == encode(NextSet(None, None, "left", None))

    # On a phone the form wraps inside the panel: nothing sticks out sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    form = view.get_by_test_id("next-form")
    assert form.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    form.screenshot(path=artifact("next-form-phone.png"))


@pytest.mark.parametrize(
    "case",
    [
        (
            "next-tempo",
            "3-X-1-0",
            "not sent: tempo '3-X-1-0': bottom pause cannot be X "
            "(X means as fast as possible; write 0 for no pause)",
        ),
        (
            "next-athlete",
            "Ana/Ben",
            "not sent: athlete: 'Ana/Ben' has characters not allowed in a name: '/' "
            "(letters, digits, space and . ' - _ are)",
        ),
        ("next-load", "14000", "not sent: load_kg: 14000 kg is over the 1500 kg maximum"),
        ("next-load", "12,5", "not sent: load_kg: '12,5' is not a number of kg"),
    ],
)
def test_the_page_refuses_what_a_station_would_ignore(
    page: Any,
    broker: Mosquitto,
    station: StationClient,
    dashboard: DashboardServer,
    case: tuple[str, str, str],
) -> None:
    field, text, reason = case
    view = open_with_next(page, dashboard, station)
    view.get_by_test_id(field).fill(text)
    view.get_by_test_id("next-submit").click()
    message = view.get_by_test_id("next-message")
    expect(message).to_be_visible()
    expect(message).to_have_text(reason)
    expect(view.get_by_test_id(field)).to_have_attribute("aria-invalid", "true")
    if field == "next-tempo":
        view.screenshot(path=artifact("next-form-refused.png"))
    # Nothing was sent: the broker still keeps the station's own next set.
    payload, _ = retained(broker, TOPIC)
    assert payload.decode() == encode(ANA)
    expect(view.get_by_test_id("next-current")).to_have_text("Ana · 140 kg · tempo 3-1-X-0")


def test_a_cleared_next_set_and_a_hostile_one(
    page: Any, broker: Mosquitto, station: StationClient, dashboard: DashboardServer
) -> None:
    view = open_with_next(page, dashboard, station)
    current = view.get_by_test_id("next-current")
    station.publish("next", '{"type":"next","schema":1,"athlete":"<b>x</b>","load_kg":1,'
                    '"leg":"both","tempo":null}')  # fmt: skip
    typo = json.loads(encode(NextSet("Eve", 80.0)))
    station.publish("next", json.dumps({**typo, "temp": "3-1-X-0"}))  # refused by the station
    station.publish("next", encode(NextSet("Cleo", 90.0)))
    expect(current).to_have_text("Cleo · 90 kg · no tempo")
    expect(view.locator("datalist option")).to_have_count(3)  # Ana, Ben, Cleo: never Eve
    station.publish("next", "")
    expect(current).to_have_text("station defaults")
    assert view.locator("b").count() == 0
    assert "&lt;b&gt;" not in page.content()
