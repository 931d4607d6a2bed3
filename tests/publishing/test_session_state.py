"""The retained session document (docs/mqtt.md) and the station publishing it and the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware.clock import FakeClock
from firmware.config import load
from firmware.publishing import session_state
from firmware.publishing.payloads import dumps
from firmware.publishing.session_state import RetainedState, SessionState
from firmware.station.sensors import open_source
from firmware.station.station import Station
from tests.publisher_stub import RecordingPublisher

from .conftest import STATION, make_rep, make_set, mqtt_section

ROOT = Path(__file__).resolve().parents[2]
TWO_SETS = ROOT / "examples" / "traces" / "two_sets_with_rest.csv"
SESSION = "20250101T000000Z"


def test_document_holds_finished_sets_and_the_latest_sets_reps():
    state = SessionState(STATION, SESSION)
    assert state.document() == {
        "type": "session",
        "schema": 1,
        "station": STATION,
        "session": SESSION,
        "sets": [],
        "reps": [],
    }
    for i in (1, 2):
        state.add_rep(make_rep(1, i))
    state.add_set(make_set(1, 2))
    doc = state.document()
    assert [r["id"] for r in doc["reps"]] == [f"{STATION}/{SESSION}/s1/r{i}" for i in (1, 2)]
    assert doc["sets"] == [make_set(1, 2)]
    state.add_rep(make_rep(2, 1))  # the next set's first rep replaces the reps kept
    doc = json.loads(state.text())
    assert [r["id"] for r in doc["reps"]] == [f"{STATION}/{SESSION}/s2/r1"]
    assert doc["reps"][0] == make_rep(2, 1)  # exactly as published
    assert len(doc["sets"]) == 1


def test_document_is_bounded():
    state = SessionState(STATION, SESSION)
    for s in range(1, session_state.MAX_SETS + 11):
        state.add_set(make_set(s, 1))
    for r in range(1, session_state.MAX_REPS + 11):
        state.add_rep(make_rep(1, r))
    doc = state.document()
    assert len(doc["sets"]) == session_state.MAX_SETS and doc["sets"][0]["set"] == 11
    assert len(doc["reps"]) == session_state.MAX_REPS and doc["reps"][-1]["rep"] == 510


def test_retained_state_gives_the_session_and_the_summary():
    state = RetainedState(STATION, SESSION, wall_clock=lambda: 0.0)
    kinds = dict(state.messages())
    assert set(kinds) == {"session", "summary"}
    assert json.loads(kinds["summary"])["session"] == SESSION
    state.add_rep(make_rep(1, 1))
    kinds = dict(state.messages())
    assert json.loads(kinds["summary"])["last_rep_at"] == "1970-01-01T00:00:00+00:00"
    assert len(json.loads(kinds["session"])["reps"]) == 1


def test_a_revised_rep_replaces_its_first_version_in_the_document_and_the_summary():
    state = RetainedState(STATION, SESSION, wall_clock=lambda: 0.0)
    for i in (1, 2):
        state.add_rep(make_rep(1, i))
    before = json.loads(dict(state.messages())["summary"])
    first = make_rep(1, 2)
    revised = {
        **first,
        "t_end": first["t_end"] + 0.25,
        "eccentric_s": first["eccentric_s"] + 0.25,
        "eccentric_score": 100,
        "revision": 1,
    }
    state.revise_rep(revised)
    kinds = dict(state.messages())
    assert json.loads(kinds["session"])["reps"] == [make_rep(1, 1), revised]
    summary = json.loads(kinds["summary"])
    assert summary["last_eccentric_s"] == revised["eccentric_s"]
    assert summary["last_eccentric_score"] == 100
    assert summary["reps_total"] == before["reps_total"] == 2  # no rep more
    assert summary["time_under_tension_s"] == pytest.approx(before["time_under_tension_s"] + 0.25)
    # a revision of an earlier rep changes the set's figures, not the last rep's
    state.revise_rep({**make_rep(1, 1), "eccentric_score": 10, "revision": 1})
    assert json.loads(dict(state.messages())["summary"])["last_eccentric_score"] == 100


def test_station_publishes_the_session_at_start_and_after_every_rep_and_set(tmp_path: Path):
    cfg = load(TWO_SETS.with_suffix(".toml"))
    cfg.storage["state_dir"] = str(tmp_path / "state")
    clock = FakeClock()
    source = open_source(
        f"fake:{TWO_SETS}", bus=1, address=0x29, timing_budget_ms=33, io_timeout_s=0.5, clock=clock
    )
    recorder = RecordingPublisher()
    station = Station(cfg, clock=clock, source=source, publisher=recorder, session="S1")  # type: ignore[arg-type]
    station.run()
    kinds = [kind for kind, _ in recorder.calls]
    # Both retained documents before anything else: the new session replaces the old at once.
    assert kinds[:2] == ["session", "summary"]
    assert recorder.calls[0][1]["sets"] == [] and recorder.calls[1][1]["reps_in_set"] == 0
    for i, kind in enumerate(kinds):
        if kind in ("rep", "set"):
            assert kinds[i + 1 : i + 3] == ["session", "summary"]
    sets = [p for k, p in recorder.calls if k == "set"]
    # each rep as last revised (docs/payloads.md, "Revised reps")
    reps = list({p["id"]: p for k, p in recorder.calls if k == "rep"}.values())
    assert len(sets) == 2
    last_doc = [p for k, p in recorder.calls if k == "session"][-1]
    assert last_doc["sets"] == sets
    assert last_doc["reps"] == [r for r in reps if r["set"] == 2]
    last_summary = [p for k, p in recorder.calls if k == "summary"][-1]
    assert (last_summary["reps_total"], last_summary["sets_total"]) == (len(reps), 2)
    totals = json.loads((tmp_path / "state" / "totals.json").read_text())
    assert (totals["reps"], totals["sets"]) == (len(reps), 2)


@pytest.mark.broker
def test_retained_session_reaches_a_late_subscriber(broker, outbox, subscribe, publisher):
    topic = f"repsled/{STATION}/session"
    early = subscribe(broker, [topic])
    pub, watch = publisher(mqtt_section(broker, discovery=False), outbox)
    state = RetainedState(STATION, SESSION)
    for kind, text in state.messages():
        pub.publish_retained(kind, text)  # maybe before the connection: kept, sent on connect
    assert watch.wait(True)
    rep = make_rep(1, 1)
    pub.publish_rep(rep)
    state.add_rep(rep)
    for kind, text in state.messages():
        pub.publish_retained(kind, text)
    assert early.wait_for(lambda m: any(json.loads(p)["reps"] for _, p, _ in m))
    late = subscribe(broker, [topic])
    assert late.wait_for(lambda m: len(m) >= 1)
    assert late.messages[0][2] is True  # retained
    assert json.loads(late.messages[0][1])["reps"] == [json.loads(dumps(rep))]
