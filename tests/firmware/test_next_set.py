"""The next-set message: validation with reasons, set binding, persistence across restarts."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.state_dir import state_dir
from firmware.station.next_set import (
    FIELDS,
    MAX_LOAD_KG,
    MAX_MESSAGE_BYTES,
    NextSet,
    NextSetError,
    NextSetStore,
    NextSetTracker,
    decode,
    encode,
    field_value,
    from_config,
    from_message,
    on_field_command,
    on_message,
    start_tracker,
)
from tempo.prescription import parse_tempo

TOPIC = "repsled/legpress-1/next"


def message(**fields):
    base = {
        "type": "next",
        "schema": 1,
        "athlete": "Ana",
        "load_kg": 140,
        "leg": "both",
        "tempo": "3-1-X-0",
    }
    base.update(fields)
    return base


ANA = NextSet("Ana", 140.0, "both", parse_tempo("3-1-X-0"))
BEN = NextSet("Ben", 100.0, "left", None)


# ---- the message ----


def test_valid_message_round_trips():
    assert decode(json.dumps(message())) == ANA
    text = encode(ANA)
    assert text == (
        '{"type":"next","schema":1,"athlete":"Ana","load_kg":140.0,"leg":"both","tempo":"3-1-X-0"}'
    )
    assert decode(text) == ANA
    assert decode(text.encode()) == ANA


def test_nulls_mean_not_given():
    got = decode(json.dumps(message(athlete=None, load_kg=None, tempo=None)))
    assert got == NextSet(None, None, "both", None)
    assert got.stamp() == {"athlete": None, "load_kg": None, "tempo": None}


def test_stamp_carries_the_canonical_tempo():
    got = decode(json.dumps(message(tempo="31x0", load_kg=142.5)))
    assert got.stamp() == {"athlete": "Ana", "load_kg": 142.5, "tempo": "3-1-X-0"}


@pytest.mark.parametrize(
    "name",
    ["Ana", "José", "Zoë Müller", "J. O'Neil", "Ana-Lu", "bob_2", "李小龍", "Ольга", " Ana "],
)
def test_names_in_any_script(name):
    assert decode(json.dumps(message(athlete=name))).athlete == name.strip()


def test_names_are_normalised_so_one_person_is_one_name():
    decomposed = "Jose\u0301"  # e + combining acute accent, as some keyboards send it
    assert decode(json.dumps(message(athlete=decomposed))).athlete == "José"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"athlete": "Ana/Ben"},
            "athlete: 'Ana/Ben' has characters not allowed in a name: '/' "
            "(letters, digits, space and . ' - _ are)",
        ),
        (
            {"athlete": "<b>Ana</b>"},
            "athlete: '<b>Ana</b>' has characters not allowed in a name: '/' '<' '>' "
            "(letters, digits, space and . ' - _ are)",
        ),
        (
            {"athlete": "Ana\nBen"},
            "athlete: 'Ana\\nBen' has characters not allowed in a name: '\\n' "
            "(letters, digits, space and . ' - _ are)",
        ),
        ({"athlete": "   "}, "athlete: empty name (use null for nobody)"),
        ({"athlete": "A" * 41}, "athlete: 41 characters, at most 40"),
        ({"athlete": 7}, "athlete: expected a name or null, got int"),
        ({"load_kg": -20}, "load_kg: -20 kg: must be more than 0 (the sled itself counts)"),
        ({"load_kg": 0}, "load_kg: 0 kg: must be more than 0 (the sled itself counts)"),
        ({"load_kg": 14000}, "load_kg: 14000 kg is over the 1500 kg maximum"),
        ({"load_kg": "140"}, "load_kg: expected a number of kg or null, got '140'"),
        ({"load_kg": True}, "load_kg: expected a number of kg or null, got True"),
        ({"leg": "middle"}, "leg: must be one of both, left, right, not 'middle'"),
        ({"leg": None}, "leg: must be one of both, left, right, not None"),
        (
            {"tempo": "3-1-1"},
            "tempo '3-1-1': 3 part(s), expected 4 "
            "(eccentric-bottom pause-concentric-top pause, e.g. 3-1-X-0)",
        ),
        ({"tempo": 3110}, "tempo must be a string like 3-1-X-0, not int 3110"),
        ({"type": "rep"}, "type: expected 'next', got 'rep'"),
        ({"schema": 2}, "schema 2 is not supported (this repsled reads schema 1)"),
        ({"schema": True}, "schema True is not supported (this repsled reads schema 1)"),
        (
            {"load": 140},
            "unknown field(s) 'load' (known: type, schema, athlete, load_kg, leg, tempo)",
        ),
    ],
)
def test_invalid_messages_give_the_reason(fields, reason):
    with pytest.raises(NextSetError) as info:
        decode(json.dumps(message(**fields)))
    assert str(info.value) == reason


def test_missing_fields_are_named():
    data = message()
    del data["tempo"], data["leg"]
    with pytest.raises(NextSetError, match=r"^missing field\(s\) leg, tempo$"):
        from_message(data)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not UTF-8 text"),
        (b"hello", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'"3-1-X-0"', "expected a JSON object, got str"),
        (
            b'{"type":"next","schema":1,"athlete":null,"load_kg":NaN,"leg":"both","tempo":null}',
            "not JSON: NaN is not a number in JSON",
        ),
        (
            b'{"type":"next","schema":1,"athlete":null,"load_kg":1e999,"leg":"both","tempo":null}',
            "load_kg: inf is not a finite number",
        ),
        (b"{" + b" " * MAX_MESSAGE_BYTES + b"}", "1026 bytes, over the 1024-byte limit"),
    ],
)
def test_hostile_payloads_give_one_line_reasons(payload, reason):
    with pytest.raises(NextSetError) as info:
        decode(payload)
    assert str(info.value) == reason
    assert "\n" not in str(info.value)


def test_load_is_kept_to_hundredths_and_the_maximum_is_allowed():
    assert decode(json.dumps(message(load_kg=142.499999))).load_kg == 142.5
    assert decode(json.dumps(message(load_kg=MAX_LOAD_KG))).load_kg == MAX_LOAD_KG


def test_config_defaults():
    assert from_config({"name": "Ana", "load_kg": 140}) == NextSet("Ana", 140.0)
    assert from_config({"name": None, "load_kg": None}) == NextSet()
    assert from_config({}) == NextSet()
    with pytest.raises(NextSetError, match=r"^\[athlete\] name: 'A/B' has characters"):
        from_config({"name": "A/B"})
    with pytest.raises(NextSetError, match=r"^\[athlete\] load_kg: -1 kg: must be more"):
        from_config({"load_kg": -1})


def test_one_field_at_a_time_as_home_assistant_entities_set_them():
    assert ANA.with_field("load_kg", 142.5) == NextSet("Ana", 142.5, "both", ANA.tempo)
    assert ANA.with_field("tempo", "4-0-x-0").stamp()["tempo"] == "4-0-X-0"
    assert ANA.with_field("tempo", None).tempo is None
    assert ANA.with_field("leg", "right").leg == "right"
    assert ANA.with_field("athlete", " Ben ").athlete == "Ben"
    with pytest.raises(NextSetError, match=r"^load_kg: -1 kg: must be more than 0"):
        ANA.with_field("load_kg", -1)
    with pytest.raises(NextSetError, match=r"^'schema' is not a next-set field"):
        ANA.with_field("schema", 2)


# ---- which set follows which next set ----


def test_applies_from_the_next_set_that_starts():
    tracker = NextSetTracker(ANA)
    assert tracker.for_set(1) == ANA  # first rep of set 1 binds it
    tracker.offer(BEN)  # set from the dashboard during set 1
    assert tracker.for_set(1) == ANA  # the rest of set 1 keeps what it started with
    assert tracker.finish_set(1) == ANA
    assert tracker.for_set(2) == BEN


def test_a_set_that_ends_with_no_rep_follows_the_pending_one():
    tracker = NextSetTracker(ANA)
    tracker.offer(BEN)
    assert tracker.finish_set(3) == BEN


def test_invalid_message_keeps_the_previous_next_set():
    tracker = NextSetTracker(ANA)
    with pytest.raises(NextSetError):
        tracker.receive(json.dumps(message(load_kg=-5)))
    assert tracker.pending == ANA


def test_cleared_retained_message_restores_config_defaults():
    defaults = NextSet("Solo", 80.0)
    tracker = NextSetTracker(ANA, defaults)
    assert tracker.receive(b"") == defaults
    assert tracker.pending == defaults


# ---- persistence ----


def test_store_round_trip_leaves_no_temporary_files(tmp_path):
    store = NextSetStore(tmp_path / "next_set.json")
    assert store.load() is None
    assert store.save(ANA)
    assert store.save(BEN)
    assert store.load() == BEN
    assert [p.name for p in tmp_path.iterdir()] == ["next_set.json"]
    assert json.loads(store.path.read_text()) == BEN.to_message()


def test_store_in_the_outbox_state_dir(tmp_path):
    directory = state_dir(str(tmp_path / "state"))
    store = NextSetStore.in_dir(directory)
    assert store.path == tmp_path / "state" / "next_set.json"
    assert store.save(ANA)
    assert store.load() == ANA


def test_corrupt_saved_file_is_logged_and_ignored(tmp_path, caplog):
    path = tmp_path / "next_set.json"
    path.write_text('{"type":"next","schema":1,"athle', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert NextSetStore(path).load() is None
    assert "ignoring the saved next set: not JSON" in caplog.text


def test_failed_save_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    store = NextSetStore(blocker / "next_set.json")
    with caplog.at_level(logging.ERROR):
        assert store.save(ANA) is False
    assert "cannot save the next set" in caplog.text


def test_a_restarted_station_keeps_its_next_set(tmp_path, caplog):
    defaults = NextSet("Solo", 80.0)
    store = NextSetStore(tmp_path / "next_set.json")
    tracker = start_tracker(store, defaults)
    assert tracker.pending == defaults
    assert on_message(tracker, store, TOPIC, encode(ANA).encode())

    with caplog.at_level(logging.WARNING):  # a bad message later changes nothing, on disk too
        assert not on_message(tracker, store, TOPIC, b'{"type":"next"}')
    assert f"{TOPIC}: message ignored: missing field(s)" in caplog.text
    assert "the next set stays: athlete Ana, load 140 kg, leg both, tempo 3-1-X-0" in caplog.text

    restarted = start_tracker(NextSetStore(tmp_path / "next_set.json"), defaults)
    assert restarted.pending == ANA
    assert restarted.for_set(1) == ANA


def test_clearing_the_retained_message_forgets_the_saved_one(tmp_path):
    defaults = NextSet("Solo", 80.0)
    store = NextSetStore(tmp_path / "next_set.json")
    tracker = start_tracker(store, defaults)
    on_message(tracker, store, TOPIC, encode(ANA).encode())
    assert on_message(tracker, store, TOPIC, b"")
    assert tracker.pending == defaults
    assert not store.path.exists()
    assert start_tracker(store, defaults).pending == defaults


# ---- the docs ----


def _doc() -> str:
    return (Path(__file__).resolve().parents[2] / "docs" / "prescriptions.md").read_text("utf-8")


def test_documented_message_is_what_the_station_reads_and_writes():
    examples = re.findall(r"```json\n(.*?)\n```", _doc(), re.S)
    assert len(examples) == 2  # the next-set message, then the profile message (test_zones)
    assert decode(examples[0]) == ANA
    assert encode(ANA) == examples[0]


def test_documented_fields_are_the_message_fields():
    section = _doc().split("## The next set", 1)[1].split("### `repsled next`", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", section, re.M)
    assert documented == list(ANA.to_message())


def test_documented_log_line_is_the_real_one(tmp_path, caplog):
    line = next(x for x in _doc().splitlines() if ": message ignored: " in x)
    tracker = NextSetTracker(ANA)
    store = NextSetStore(tmp_path / "next_set.json")
    with caplog.at_level(logging.WARNING):
        on_message(tracker, store, TOPIC, json.dumps(message(load_kg=-20)).encode())
    assert [r.getMessage() for r in caplog.records] == [line]


def test_documented_field_command_line_is_the_real_one(caplog):
    line = next(x for x in _doc().splitlines() if ": command ignored: " in x)
    tracker = NextSetTracker(ANA)
    topic = f"{TOPIC}/set/load_kg"
    with caplog.at_level(logging.WARNING):
        assert on_field_command(tracker, None, "load_kg", topic, b"14000") is None
    assert [r.getMessage() for r in caplog.records] == [line]


def test_mqtt_doc_field_command_line_is_the_real_one(caplog):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "mqtt.md").read_text("utf-8")
    line = next(x for x in doc.splitlines() if ": command ignored: " in x)
    tracker = NextSetTracker(NextSet("Ana", 140.0))
    topic = f"{TOPIC}/set/tempo"
    with caplog.at_level(logging.WARNING):
        assert on_field_command(tracker, None, "tempo", topic, b"3-X-1-0") is None
    assert [r.getMessage() for r in caplog.records] == [line]


# ---- properties ----

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.binary(max_size=200)
    | st.dictionaries(st.sampled_from(FIELDS), json_values).map(
        lambda d: json.dumps({**message(), **d}).encode()
    )
)
def test_any_payload_is_a_next_set_or_one_reason(payload):
    tracker = NextSetTracker(ANA)
    try:
        got = tracker.receive(payload)
    except NextSetError as exc:
        assert "\n" not in str(exc)
        assert tracker.pending == ANA
    else:
        assert tracker.pending == got
        assert decode(encode(got)) == got  # what is kept on disk reads back the same


# ---- Home Assistant controls: one plain-text field per command ----------------------------


@pytest.mark.parametrize(
    ("field", "payload", "value"),
    [
        ("athlete", b" Ana ", "Ana"),
        ("athlete", b"", None),
        ("tempo", b"31x0", "31x0"),
        ("tempo", b"  ", None),
        ("load_kg", b"142.5", 142.5),
        ("load_kg", b"140", 140.0),
        ("load_kg", b"", None),
        ("leg", b"left", "left"),
    ],
)
def test_field_values_as_home_assistant_sends_them(field, payload, value):
    assert field_value(field, payload) == value


@pytest.mark.parametrize(
    ("field", "payload", "reason"),
    [
        ("load_kg", b"nan", "load_kg: 'nan' is not a number of kg"),
        ("load_kg", b"1_400", "load_kg: '1_400' is not a number of kg"),
        ("load_kg", b"-20", "load_kg: -20 kg: must be more than 0 (the sled itself counts)"),
        ("load_kg", b"14000", "load_kg: 14000 kg is over the 1500 kg maximum"),
        ("athlete", b"Ana/Ben", "athlete: 'Ana/Ben' has characters not allowed in a name: '/'"),
        ("tempo", b"3-1-1", "tempo '3-1-1': 3 part(s), expected 4"),
        ("leg", b"", "leg: must be one of both, left, right, not ''"),
        ("leg", b"\xff", "not UTF-8 text"),
        ("athlete", b"x" * (MAX_MESSAGE_BYTES + 1), "1025 bytes, over the 1024-byte limit"),
    ],
)
def test_field_commands_are_checked_like_messages(field, payload, reason, caplog):
    tracker = NextSetTracker(NextSet("Ana", 140.0))
    topic = f"{TOPIC}/set/{field}"
    with caplog.at_level(logging.WARNING):
        assert on_field_command(tracker, None, field, topic, payload) is None
    assert tracker.pending == NextSet("Ana", 140.0)
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"{topic}: command ignored: {reason}")
    assert line.endswith("; the next set stays: athlete Ana, load 140 kg, leg both, tempo none")


def test_a_field_command_changes_that_field_and_is_saved(tmp_path):
    store = NextSetStore.in_dir(tmp_path)
    tracker = NextSetTracker(NextSet("Ana", 140.0, "both", parse_tempo("3-1-X-0")))
    got = on_field_command(tracker, store, "load_kg", f"{TOPIC}/set/load_kg", b"142.5")
    assert got == NextSet("Ana", 142.5, "both", parse_tempo("3-1-X-0"))
    assert tracker.pending == got and store.load() == got
    cleared = on_field_command(tracker, store, "tempo", f"{TOPIC}/set/tempo", b"")
    assert cleared == NextSet("Ana", 142.5) and store.load() == cleared
