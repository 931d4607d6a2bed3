"""A whole station on the fake chip: the same reps as replay, cues heard, button respected."""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.clock import FakeClock
from firmware.config import load
from firmware.publishing.mqtt import MqttPublisher
from firmware.publishing.outbox import Outbox
from firmware.replay import replay_payloads
from firmware.station.button import build_button
from firmware.station.cues import FLAG_CUES, PATTERNS, build_cues
from firmware.station.sdnotify import Notifier, WatchdogPinger
from firmware.station.sensors import open_source
from firmware.station.station import Station, new_session_id
from tests.deploy.test_sdnotify import FakeSystemd
from tests.mosquitto import WAIT_S, Mosquitto, Subscriber
from tests.publisher_stub import RecordingPublisher
from tests.publishing.conftest import mqtt_section

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "traces" / "reverse_press_clean.csv"


def _station(
    trace: Path,
    *,
    pin_factory: MockFactory | None = None,
    session: str | None = "S1",
    publisher: MqttPublisher | None = None,
) -> Station:
    cfg = load(trace.with_suffix(".toml"))
    clock = FakeClock()
    source = open_source(
        f"fake:{trace}",
        bus=1,
        address=0x29,
        timing_budget_ms=cfg.sensor["timing_budget_ms"],
        io_timeout_s=cfg.sensor["io_timeout_s"],
        clock=clock,
    )
    cues = build_cues(cfg.cues, pin_factory=pin_factory) if pin_factory else None
    return Station(cfg, clock=clock, source=source, cues=cues, session=session, publisher=publisher)


def test_station_counts_what_replay_counts() -> None:
    station = _station(EXAMPLE)
    stats = station.run()
    assert stats.ended_by == "end_of_trace"
    cfg = load(EXAMPLE.with_suffix(".toml"))
    # each rep as last revised (docs/payloads.md, "Revised reps"), live and replayed
    replayed = list(
        {p["id"]: p for p in replay_payloads(EXAMPLE, cfg.engine) if p["type"] == "rep"}.values()
    )
    live = station.reps
    assert [(p["set"], p["rep"]) for p in live] == [(p["set"], p["rep"]) for p in replayed]
    # The chip samples the 50 Hz trace at its own 30 Hz: phase starts and ends agree within
    # two chip periods; the top (end of a slow approach to lockout) within 0.15 s and the
    # start of the lowering (a slow departure, fitted through the move) within 0.1 s.
    period_s = cfg.sensor["timing_budget_ms"] / 1000 * 1.05
    tolerance_s = {
        "t_start": 2 * period_s,
        "t_top": 0.15,
        "t_ecc": 0.1,
        "t_end": 2 * period_s,
    }
    for got, want in zip(live, replayed, strict=True):
        for key, tol in tolerance_s.items():
            assert abs(got[key] - want[key]) <= tol, (key, got, want)
        assert got["lockout"] == want["lockout"]
        assert got["id"] == f"{station.station}/S1/s{got['set']}/r{got['rep']}"
        assert got["leg"] == "both"


def _expected_cues(reps: list[dict], velocity_loss_pct: float = 20.0) -> list[str]:
    """What docs/cues.md promises for one set of reps: warnings replace the rep beep."""
    names: list[str] = []
    best, fired = 0.0, False
    for rep in reps:
        warnings = [name for flag, name in FLAG_CUES if flag in rep["flags"]]
        names += warnings or ["rep"]
        v = rep["mean_concentric_velocity_m_s"]
        best = max(best, v)
        if not fired and (best - v) / best * 100 >= velocity_loss_pct:
            fired = True
            names.append("velocity_loss")
    return [*names, "set_done"]


def test_station_buzzes_the_cue_of_every_event() -> None:
    factory = MockFactory()
    station = _station(EXAMPLE, pin_factory=factory)
    station.run()
    for _ in range(200):  # let the last pattern play out
        station.clock.advance(0.05)
        station.cues.update(station.clock.monotonic())
    expected = _expected_cues(station.reps)
    assert "rep" in expected
    beeps_per_cue = {
        name: sum(1 for sound, _ in steps if sound) for name, steps in PATTERNS.items()
    }
    ons = [s.state for s in factory.pin(17).states if s.state]
    assert len(ons) == sum(beeps_per_cue[name] for name in expected)
    assert factory.pin(17).state is False


def test_session_ids_are_utc_start_times_with_a_random_part() -> None:
    assert new_session_id(0, "3f2a") == "19700101T000000Z-3f2a"
    assert re.fullmatch(r"19700101T000000Z-[0-9a-f]{4}", new_session_id(0))
    # Sortable by start time: the time comes first, in a fixed width.
    assert new_session_id(59, "ffff") < new_session_id(60, "0000")


def test_two_sessions_in_the_same_second_never_share_ids() -> None:
    """Consumers drop duplicates by id: a repeated session id would discard real reps."""
    same_second = [new_session_id(1_700_000_000.0) for _ in range(500)]
    assert len(set(same_second)) == len(same_second)
    assert all("/" not in s and "+" not in s and "#" not in s for s in same_second)
    # Two stations started back to back (the same second, as after a quick restart).
    first, second = _station(EXAMPLE, session=None), _station(EXAMPLE, session=None)
    first.run()
    second.run()
    first_ids = {p["id"] for p in first.reps}
    assert first_ids and first_ids.isdisjoint(p["id"] for p in second.reps)


@pytest.mark.parametrize("speed", [0.0, -1.0])
def test_bad_speed_is_a_one_line_error(speed: float, capsys) -> None:
    from firmware.cli import main

    assert main(["run", "--sensor", f"fake:{EXAMPLE}", "--speed", str(speed)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"repsled run: error: --speed: must be positive, not {speed:g}"
    ]


def _press(factory: MockFactory, station: Station, pin: int, hold_s: float) -> None:
    """Press and release the button on the station's fake clock (MockPin edges)."""
    factory.pin(pin).drive_low()
    station.clock.advance(hold_s)
    factory.pin(pin).drive_high()


def test_button_marks_single_leg_sets_and_ends_a_set(tmp_path: Path) -> None:
    """Short presses pick left then right for the next sets; a long press ends a set now."""
    cfg_text = EXAMPLE.with_suffix(".toml").read_text(encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(cfg_text + "\n[button]\npin = 5\n", encoding="utf-8")
    cfg = load(config)
    factory = MockFactory()
    clock = FakeClock()
    source = open_source(
        f"fake:{EXAMPLE}", bus=1, address=0x29, timing_budget_ms=33, io_timeout_s=0.5, clock=clock
    )
    button = build_button(cfg.button, clock=clock, pin_factory=factory)
    station = Station(cfg, clock=clock, source=source, button=button, session="S1")
    publish = RecordingPublisher()
    station.publisher = publish  # type: ignore[assignment]
    # trace time -> hold: left, right, then end the set between reps 3 (ends ~24.7 s) and 4
    plan = {1.0: 0.2, 1.5: 0.2, 24.8: 1.2}
    original = station._on_sample

    def on_sample(t_s: float, distance_mm: int | None) -> None:
        for at_s in [a for a in plan if a <= t_s]:
            _press(factory, station, 5, plan.pop(at_s))
        original(t_s, distance_mm)

    station.loop.on_sample = on_sample
    station.run()
    assert [(s["set"], s["reps"], s["reason"]) for s in publish.sets] == [
        (1, 3, "ended"),
        (2, 3, "rest"),
    ]
    assert {r["leg"] for r in publish.reps} == {"right"}  # revised reps too
    assert [(r["set"], r["rep"], r["leg"]) for r in publish.reps if "revision" not in r] == [
        (1, 1, "right"),
        (1, 2, "right"),
        (1, 3, "right"),
        (2, 1, "right"),
        (2, 2, "right"),
        (2, 3, "right"),
    ]
    assert publish.states > 0


def test_watchdog_pings_through_a_sensor_fault(tmp_path: Path) -> None:
    """A real AF_UNIX datagram socket stands in for systemd's notify socket."""
    address = str(tmp_path / "notify.sock")
    systemd = FakeSystemd(address)
    try:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"})
        station = _station(EXAMPLE)
        station.notifier = notifier
        station._pinger = WatchdogPinger(notifier, station.clock)
        station.loop.source.chip.inject("vanish", at_s=20.0, for_s=12.0)
        messages: list[str] = []
        inner_sample, inner_status = station.loop.on_sample, station.loop.on_status

        def drained(inner):  # the kernel queues few datagrams: read them as they come
            def hook(*args):
                inner(*args)
                messages.extend(systemd.received())

            return hook

        station.loop.on_sample = drained(inner_sample)
        station.loop.on_status = drained(inner_status)
        station.run()
        messages.extend(systemd.received())
    finally:
        systemd.sock.close()
    ready = [i for i, m in enumerate(messages) if m.startswith("READY=1")]
    assert len(ready) == 1
    fault = next(i for i, m in enumerate(messages) if m.startswith("STATUS=sensor_fault"))
    recovered = next(i for i, m in enumerate(messages) if m == "STATUS=sensor_ok: recovered")
    assert ready[0] < fault < recovered
    assert "WATCHDOG=1" in messages[:fault]
    # The loop stays alive through the 12 s fault, retrying: it keeps pinging (every 1 s with
    # WatchdogSec=2), so systemd does not restart the service and split the session.
    assert messages[fault:recovered].count("WATCHDOG=1") >= 10
    assert "WATCHDOG=1" in messages[recovered:]
    assert messages[-1] == "STOPPING=1"


class StalledOutbox(Outbox):
    """An outbox whose commit does not return until released: an SD card stalling in fsync
    for 500 ms, or for as long as the test likes. Records which threads wrote."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.release = threading.Event()
        self.writers: set[str] = set()
        self.entered = 0
        self.stuck = threading.Event()  # a writer sits in the first commit

    def put(self, topic: str, payload: str, qos: int = 1) -> int:
        self.writers.add(threading.current_thread().name)
        self.entered += 1
        self.stuck.set()
        self.release.wait(WAIT_S)  # bounded: a sampling loop that waited here would crawl
        return super().put(topic, payload, qos)


@pytest.mark.broker
def test_a_stalled_disk_never_holds_up_sampling_and_loses_no_rep(tmp_path: Path) -> None:
    """Storage runs off the sampling thread: the whole trace is sampled and counted while the
    first commit is still stuck; once the disk answers, every rep and the set reach the broker
    (on disk first, then published)."""
    with Mosquitto(tmp_path / "broker") as broker:
        sub = Subscriber(broker, ["repsled/+/rep", "repsled/+/set"])
        box = StalledOutbox(tmp_path / "outbox.sqlite3", 1000)
        cfg = load(EXAMPLE.with_suffix(".toml"))
        section = mqtt_section(broker, station=cfg.station, discovery=False)
        pub = MqttPublisher(section, box, station=cfg.station).start()
        try:
            station = _station(EXAMPLE, publisher=pub)
            stats = station.run()
            # The loop finished the trace while the worker still sat in its first commit
            # (or had not even reached it: on a busy machine the worker may start late).
            assert box.stuck.wait(WAIT_S)
            assert box.entered == 1 and len(box) == 0 and not box.release.is_set()
            assert stats.ended_by == "end_of_trace" and stats.overruns == 0
            ids = {p["id"] for p in station.reps}
            assert len(ids) >= 2
            box.release.set()

            def delivered(msgs: list[tuple[str, str, bool]]) -> set[str]:
                return {json.loads(p)["id"] for t, p, _ in msgs if t.endswith("/rep")}

            assert sub.wait_for(lambda m: ids <= delivered(m))
            assert sub.wait_for(lambda m: any(t.endswith("/set") for t, _, _ in m))
            assert box.writers == {"repsled-mqtt"}
        finally:
            box.release.set()
            pub.close()
            sub.close()
        assert len(box) == 0
        box.close()


def test_a_revised_rep_is_published_again_and_the_buzzer_stays_silent(caplog) -> None:
    factory = MockFactory()
    publisher = RecordingPublisher()
    station = _station(EXAMPLE, pin_factory=factory, publisher=publisher)
    with caplog.at_level(logging.INFO):
        station.run()
    for _ in range(200):  # let the last pattern play out
        station.clock.advance(0.05)
        station.cues.update(station.clock.monotonic())
    sent = publisher.reps
    first = [p for p in sent if "revision" not in p]
    revised = [p for p in sent if p.get("revision") == 1]
    assert revised  # the example's lowerings creep onto the stops
    # the log says each one as revised, its lockout verdict too (a revision may change it)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("revised rep")]
    assert [s.split(":")[0] for s in said] == [
        f"revised rep {p['set']}.{p['rep']}" for p in revised
    ]
    assert all(f"), {p['lockout']}" in s for s, p in zip(said, revised, strict=True))
    assert len({p["id"] for p in first}) == len(first)
    for p in revised:
        before = sent[: sent.index(p)]
        (original,) = [q for q in before if q["id"] == p["id"]]
        assert original["t_confirmed"] == p["t_confirmed"]
        assert p["eccentric_s"] == pytest.approx(p["t_end"] - p["t_ecc"], abs=1e-3)
    final = {p["id"]: p for p in sent}
    assert list(station.reps) == list(final.values())
    _, session = [c for c in publisher.retained if c[0] == "session"][-1]
    assert session["reps"] == [final[p["id"]] for p in session["reps"]]
    # The buzzer spoke once per rep, for the rep as first sent.
    beeps_per_cue = {
        name: sum(1 for sound, _ in steps if sound) for name, steps in PATTERNS.items()
    }
    ons = [s.state for s in factory.pin(17).states if s.state]
    assert len(ons) == sum(beeps_per_cue[name] for name in _expected_cues(first))
