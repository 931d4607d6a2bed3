"""A whole station following next-set messages: fake chip, MockFactory buzzer, real broker.

The trace has two sets (5 and 6 reps, docs/payloads.md). A next set sent before the first
set applies to it; one sent during it applies to the second; an invalid one is ignored.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.cli import main
from firmware.clock import FakeClock
from firmware.config import load
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.outbox import Outbox
from firmware.station.button import SetButton, build_button
from firmware.station.cues import PATTERNS, build_cues
from firmware.station.next_set import NextSet, NextSetStore, encode
from firmware.station.sensors import open_source
from firmware.station.station import Station
from firmware.vbt.profile import fit_profile
from tempo.events import FAST_ECCENTRIC
from tempo.prescription import SHORT_PAUSE, parse_tempo
from tests.mosquitto import WAIT_S, Mosquitto, Subscriber
from tests.publisher_stub import RecordingPublisher

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "examples" / "traces" / "two_sets_with_rest.csv"
STATION = "legpress-1"
TOPIC = f"repsled/{STATION}/next"
PROFILE_TOPIC = f"repsled/{STATION}/profile"
FIELD_TOPICS = {f: f"{TOPIC}/set/{f}" for f in ("athlete", "load_kg", "tempo", "leg")}

# Set 1: a 2.5 s lowering and a 1.8 s bottom pause; set 2: 2.5 s and no pauses.
ANA = NextSet("Ana", 140.0, "both", parse_tempo("2.5-1.8-X-0"))
BEN = NextSet("Ben", 100.0, "both", parse_tempo("2.5-0-X-0"))
SOLO = NextSet("Solo", 90.0)
INVALID = b'{"type":"next","schema":1,"athlete":"Eve","load_kg":-20,"leg":"both","tempo":null}'

CONFIG_EXTRA = """
[mqtt]
station = "legpress-1"

[athlete]
name = "Solo"
load_kg = 90

[vbt]
stop_at_velocity_loss_pct = 30
"""


def _config(tmp_path: Path, extra: str = CONFIG_EXTRA) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(
        TRACE.with_suffix(".toml").read_text(encoding="utf-8") + extra, encoding="utf-8"
    )
    return path


def _station(
    tmp_path: Path,
    *,
    publisher: Any = None,
    store_dir: Path | None = None,
    factory: MockFactory | None = None,
    station_class: type[Station] = Station,
    extra: str = CONFIG_EXTRA,
) -> Station:
    cfg = load(_config(tmp_path, extra))
    clock = FakeClock()
    source = open_source(
        f"fake:{TRACE}", bus=1, address=0x29, timing_budget_ms=33, io_timeout_s=0.5, clock=clock
    )
    return station_class(
        cfg,
        clock=clock,
        source=source,
        cues=build_cues(cfg.cues, pin_factory=factory) if factory else None,
        publisher=publisher,
        session="S1",
        next_set_store=NextSetStore.in_dir(store_dir) if store_dir else None,
    )


def _at_trace_times(station: Station, plan: dict[float, Callable[[], object]]) -> None:
    """Run each planned action at the first sample at or after its trace time."""
    original = station._on_sample

    def on_sample(t_s: float, distance_mm: int | None) -> None:
        for at_s in sorted(a for a in plan if a <= t_s):
            plan.pop(at_s)()
        original(t_s, distance_mm)

    station.loop.on_sample = on_sample


def _drain(station: Station) -> None:
    for _ in range(200):  # let the last pattern play out
        station.clock.advance(0.05)
        station.cues.update(station.clock.monotonic())


def _stamp(p: dict[str, Any]) -> tuple[Any, Any, Any]:
    return p["athlete"], p["load_kg"], p["tempo"]


# The whole cue sequence, worked out from the trace (docs/payloads.md lists its reps):
SET_1 = [
    "fast_eccentric",  # 1.28 s lowering, under 2.5 - 1 s; its bottom pause was not measured
    "locked_knees",
    "short_pause",  # rep 2: 0.67 s at the bottom for 1.8 s
    "locked_knees",  # rep 3: 1.48 s at the bottom, within 0.5 s of 1.8 s
    "partial",  # rep 4
    "short_pause",  # 0.88 s
    "velocity_loss",  # 0.71 -> 0.40 m/s: 43 % >= [vbt] 30 % (rep 3 was 23 %)
    "short_pause",  # rep 5: 1.07 s
    "set_done",
]
SET_2 = [
    "rep",  # 1.89 s and 1.71 s lowerings: too fast for the config's 3 s, fine for 2.5 s
    "rep",
    "rep",
    "rep",
    # Borderline: the station samples at its own times and its velocities differ a little
    # from a replay's; with the knee fits (tempo.crossings) rep 4 is the first 30 % down.
    "velocity_loss",
    "rep",
    "fast_eccentric",  # rep 6: 0.93 s
    "partial",
    "set_done",
]


def test_next_sets_apply_from_a_sets_first_rep_and_stamp_every_rep_and_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    factory = MockFactory()
    publish = RecordingPublisher()
    station = _station(tmp_path, publisher=publish, factory=factory)
    assert list(publish.subscriptions) == [TOPIC, *FIELD_TOPICS.values(), PROFILE_TOPIC]
    deliver = publish.subscriptions[TOPIC]  # what the MQTT worker calls
    _at_trace_times(
        station,
        {
            1.0: lambda: deliver(TOPIC, encode(ANA).encode()),
            20.0: lambda: deliver(TOPIC, encode(BEN).encode()),  # set 1 is under way
            50.0: lambda: deliver(TOPIC, INVALID),  # between the sets
        },
    )
    with caplog.at_level(logging.WARNING):
        station.run()
    _drain(station)

    assert [(p["set"], _stamp(p)) for p in publish.sets] == [
        (1, _stamp({"athlete": "Ana", "load_kg": 140.0, "tempo": "2.5-1.8-X-0"})),
        (2, _stamp({"athlete": "Ben", "load_kg": 100.0, "tempo": "2.5-0-X-0"})),
    ]
    # each rep as first sent (what the cues said); its revision (docs/payloads.md) after it
    first_sent = [p for p in publish.reps if "revision" not in p]
    assert [(p["set"], p["rep"], p["athlete"]) for p in first_sent] == [
        *((1, r, "Ana") for r in range(1, 6)),
        *((2, r, "Ben") for r in range(1, 7)),
    ]
    for p in publish.reps:
        assert _stamp(p) == _stamp(publish.sets[p["set"] - 1])
        # A rep whose times a sensor fault hid (docs/engine.md) is not scored against the tempo.
        unknown = "times_unknown" in p["flags"]
        assert p["tempo_score"] is None if unknown else isinstance(p["tempo_score"], int)
    set_1 = [p for p in first_sent if p["set"] == 1]
    set_2 = [p for p in first_sent if p["set"] == 2]
    assert [SHORT_PAUSE in p["flags"] for p in set_1] == [False, True, False, True, True]
    assert [FAST_ECCENTRIC in p["flags"] for p in set_2] == [False] * 5 + [True]
    assert [p["velocity_loss_exceeded"] for p in publish.sets] == [True, True]
    assert station.prescriptions.pending == BEN
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"{TOPIC}: message ignored: load_kg: -20 kg: must be more than 0 (the sled itself "
        "counts); the next set stays: athlete Ben, load 100 kg, leg both, tempo 2.5-0-X-0"
    ]

    assert station.cues.played == [*SET_1, *SET_2]
    beeps = {name: sum(1 for sound, _ in steps if sound) for name, steps in PATTERNS.items()}
    ons = [s.state for s in factory.pin(17).states if s.state]
    assert len(ons) == sum(beeps[name] for name in [*SET_1, *SET_2])
    assert factory.pin(17).state is False


def test_without_a_message_the_athlete_table_is_stamped(tmp_path: Path) -> None:
    publish = RecordingPublisher()
    station = _station(tmp_path, publisher=publish)
    station.run()
    assert {_stamp(p) for p in [*publish.reps, *publish.sets]} == {("Solo", 90.0, None)}
    assert {p["tempo_score"] for p in publish.reps} == {None}
    assert len([p for p in publish.reps if "revision" not in p]) == 11


def test_the_next_set_survives_a_restart_and_an_invalid_message(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    first = _station(tmp_path, publisher=RecordingPublisher(), store_dir=state)
    assert first.prescriptions.pending == SOLO
    assert first.receive_next_set(TOPIC, encode(ANA).encode())
    saved = (state / "next_set.json").read_bytes()

    publish = RecordingPublisher()
    again = _station(tmp_path, publisher=publish, store_dir=state)  # the station restarted
    assert again.prescriptions.pending == ANA
    assert not again.receive_next_set(TOPIC, INVALID)
    assert again.prescriptions.pending == ANA
    assert (state / "next_set.json").read_bytes() == saved
    again.run()
    assert {_stamp(p) for p in [*publish.reps, *publish.sets]} == {("Ana", 140.0, "2.5-1.8-X-0")}

    assert again.receive_next_set(TOPIC, b"")  # the retained message was cleared
    assert again.prescriptions.pending == SOLO
    assert not (state / "next_set.json").exists()


def test_a_next_set_leg_becomes_the_buttons_pick(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    cfg_path = _config(tmp_path / "b", CONFIG_EXTRA + "\n[button]\npin = 5\n")
    cfg = load(cfg_path)
    factory = MockFactory()
    clock = FakeClock()
    source = open_source(
        f"fake:{TRACE}", bus=1, address=0x29, timing_budget_ms=33, io_timeout_s=0.5, clock=clock
    )
    button = build_button(cfg.button, clock=clock, pin_factory=factory)
    station = Station(cfg, clock=clock, source=source, button=button, session="S1")
    left = NextSet("Ana", 140.0, "left", None)
    assert station.receive_next_set(TOPIC, encode(left).encode())
    assert button.next_leg == "left"
    button.select("right")  # pressed on the machine since
    assert station.receive_next_set(TOPIC, encode(left).encode())  # heard again on reconnect
    assert button.next_leg == "right"


class _Heard(Station):
    """A station that lets the test wait for next-set messages, without sleeping."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.heard: list[bool] = []
        self._cond = threading.Condition()
        super().__init__(*args, **kwargs)

    def receive_next_set(self, topic: str, payload: bytes) -> bool:
        applied = super().receive_next_set(topic, payload)
        with self._cond:
            self.heard.append(applied)
            self._cond.notify_all()
        return applied

    def wait_heard(self, count: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.heard) >= count, WAIT_S)


@pytest.mark.broker
def test_over_a_real_broker_from_repsled_next_to_the_published_reps(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        url = f"mqtt://{broker.host}:{broker.port}"
        argv = ["next", "--station", STATION, "--athlete", "Ana", "--load-kg", "140"]
        assert main([*argv, "--tempo", "2.5-1.8-X-0", "--broker", url]) == 0
        sub = Subscriber(broker, [f"repsled/{STATION}/rep", f"repsled/{STATION}/set"])
        mqtt = {"host": broker.host, "port": broker.port, "discovery": False}
        state = tmp_path / "state"
        state.mkdir()
        outbox = Outbox(tmp_path / "outbox.sqlite3", 1000)
        publisher = MqttPublisher(mqtt, outbox, station=STATION).start()
        try:
            station = _station(tmp_path, publisher=publisher, store_dir=state, station_class=_Heard)
            assert station.wait_heard(1), "the retained next set never arrived"
            assert station.heard == [True]
            assert station.prescriptions.pending == ANA
            station.run()
            assert sub.wait_for(lambda ms: sum(t.endswith("/set") for t, _, _ in ms) == 2)
            # A hostile message: logged and ignored, the station keeps Ana.
            sub.client.publish(TOPIC, b"\xff not json", qos=1, retain=True).wait_for_publish(WAIT_S)
            assert station.wait_heard(2)
            assert station.heard == [True, False]
            assert station.prescriptions.pending == ANA
        finally:
            publisher.close()
            outbox.close()
            sub.close()
    published = [json.loads(p) for _, p, _ in sub.messages]
    assert len([p for p in published if "revision" not in p]) == 13  # 11 reps, 2 sets
    assert {_stamp(p) for p in published} == {("Ana", 140.0, "2.5-1.8-X-0")}
    # Restarted without a broker, the station still knows the next set.
    offline = _station(tmp_path, store_dir=state)
    assert offline.prescriptions.pending == ANA


def _profile(intercept_m_s: float, slope_m_s_per_kg: float) -> dict[str, Any]:
    loads = (60.0, 100.0, 140.0)
    return fit_profile(
        [(load, intercept_m_s + slope_m_s_per_kg * load) for load in loads]
    ).to_dict()


def test_the_first_rep_of_a_set_says_whether_the_load_suits_the_target(tmp_path: Path) -> None:
    factory = MockFactory()
    publish = RecordingPublisher()
    extra = CONFIG_EXTRA.replace("[vbt]\n", "[vbt]\ntarget_velocity_m_s = 0.5\n")
    station = _station(tmp_path, publisher=publish, factory=factory, extra=extra)
    profiles = {
        "type": "profile",
        "schema": 1,
        "athletes": {"Ana": _profile(1.2, -0.005), "Ben": _profile(1.0, -0.004)},
    }
    assert publish.subscriptions[PROFILE_TOPIC](PROFILE_TOPIC, json.dumps(profiles).encode())
    tempo = parse_tempo("2.5-0-X-0")  # no pause to cut short; too fast under 1.5 s
    station.receive_next_set(TOPIC, encode(NextSet("Ana", 140.0, tempo=tempo)).encode())
    ben = encode(NextSet("Ben", 100.0, tempo=tempo)).encode()
    _at_trace_times(station, {20.0: lambda: publish.subscriptions[TOPIC](TOPIC, ben)})
    station.run()
    _drain(station)

    first_reps = [p for p in publish.reps if p["rep"] == 1 and "revision" not in p]
    for revised in [p for p in publish.reps if p["rep"] == 1 and "revision" in p]:
        (first,) = [p for p in first_reps if p["set"] == revised["set"]]
        assert revised["flags"][-1] == first["flags"][-1]  # the zone verdict stands
    assert [p["flags"] for p in first_reps] == [
        ["fast_eccentric", "locked_knees", "load_too_light"],  # 0.72-0.75 m/s for a 0.5 target
        ["load_too_heavy"],  # 0.29 m/s (a 1.89 s lowering)
    ]
    assert all("load_too" not in " ".join(p["flags"]) for p in publish.reps if p["rep"] > 1)
    zones = [p["velocity_zone"] for p in publish.sets]
    assert [z["verdict"] for z in zones] == ["too_light", "too_heavy"]
    sets = zip(zones, first_reps, (140.0, 100.0), (-0.005, -0.004), strict=True)
    for zone, first, kg, slope in sets:
        v = first["mean_concentric_velocity_m_s"]
        assert zone["first_rep_velocity_m_s"] == round(v, 3)
        assert zone["target_m_s"] == 0.5
        # today's line: the profile's slope through the first rep; rounded to 2.5 kg
        assert zone["suggested_load_kg"] == round((kg + (0.5 - v) / slope) / 2.5) * 2.5
    # The first rep's velocity through the fake chip's copy of a glaring top (20 mm of
    # noise) moves by a few per cent with any change to the knee fits or the gate's
    # tracker: 0.74, 0.72, 0.75, 0.725.
    assert [z["suggested_load_kg"] for z in zones] == [185.0, 47.5]
    assert station.cues.played == [
        *("fast_eccentric", "locked_knees", "load_too_light"),
        "rep",
        "locked_knees",
        *("partial", "velocity_loss"),
        "rep",
        "set_done",
        "load_too_heavy",  # instead of the rep beep
        *("rep", "rep", "rep"),
        *("velocity_loss", "rep"),
        *("fast_eccentric", "partial"),
        "set_done",
    ]


def test_no_zone_without_the_athletes_profile(tmp_path: Path) -> None:
    publish = RecordingPublisher()
    extra = CONFIG_EXTRA.replace("[vbt]\n", "[vbt]\ntarget_velocity_m_s = 0.5\n")
    station = _station(tmp_path, publisher=publish, extra=extra)
    only_ben = {"type": "profile", "schema": 1, "athletes": {"Ben": _profile(1.0, -0.004)}}
    assert station.zones.receive(PROFILE_TOPIC, json.dumps(only_ben).encode())
    assert not station.zones.receive(PROFILE_TOPIC, b'{"type":"profile"}')  # kept: Ben's
    assert list(station.zones.profiles) == ["Ben"]
    station.run()  # the sets are the [athlete] table's "Solo"
    assert {p["velocity_zone"] for p in publish.sets} == {None}
    assert not any(f.startswith("load_too") for p in publish.reps for f in p["flags"])


def test_home_assistant_fields_change_the_next_set_and_republish_it_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each control sends one field; the station publishes the whole retained message once
    (not again on reconnect: the dashboard may have replaced it meanwhile)."""
    state = tmp_path / "state"
    state.mkdir()
    factory = MockFactory()
    publish = RecordingPublisher()
    station = _station(tmp_path, publisher=publish, store_dir=state, factory=factory)
    station.button = SetButton(5, pin_factory=factory)
    send = {f: (lambda p, t=t: publish.subscriptions[t](t, p)) for f, t in FIELD_TOPICS.items()}
    assert send["athlete"](b"Ben")
    assert send["load_kg"](b"102.5")
    assert send["tempo"](b"31x0")
    assert send["leg"](b"left")
    with caplog.at_level(logging.WARNING):
        assert not send["tempo"](b"3-X-1-0")
    want = NextSet("Ben", 102.5, "left", parse_tempo("3-1-X-0"))
    assert station.prescriptions.pending == want
    assert station.button.next_leg == "left"
    assert NextSetStore.in_dir(state).load() == want
    assert [kind for kind, _ in publish.retained_once] == ["next"] * 4
    assert json.loads(publish.retained_once[-1][1]) == {
        "type": "next", "schema": 1, "athlete": "Ben", "load_kg": 102.5, "leg": "left",
        "tempo": "3-1-X-0",
    }  # fmt: skip
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"{FIELD_TOPICS['tempo']}: command ignored: tempo '3-X-1-0': bottom pause cannot be X "
        "(X means as fast as possible; write 0 for no pause); the next set stays: "
        "athlete Ben, load 102.5 kg, leg left, tempo 3-1-X-0"
    ]
    # The station hears its own message back: nothing changes, the button's pick stays.
    station.button.select("right")
    assert station.receive_next_set(TOPIC, publish.retained_once[-1][1].encode())
    assert station.prescriptions.pending == want and station.button.next_leg == "right"
