"""Home Assistant discovery configs (every entity), device info, the summary and the totals."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from firmware.publishing import discovery

from .conftest import STATION, make_rep, make_set, mqtt_section

SESSION = "20250101T000000Z"
HARDWARE = {"hw_version": "Raspberry Pi 4 Model B Rev 1.4", "serial_number": "10000000abcdef01"}


def configs(station: str = STATION, **kwargs: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """unique_id key (after repsled_STATION_) -> (topic, config)."""
    kwargs.setdefault("hardware", HARDWARE)
    msgs = discovery.config_messages(
        prefix="repsled",
        station=station,
        discovery_prefix="homeassistant",
        sw_version="9.9",
        **kwargs,
    )
    out = {}
    for topic, payload in msgs:
        cfg = json.loads(payload)
        key = cfg["unique_id"].removeprefix(f"repsled_{discovery.object_id(station)}_")
        out[key] = (topic, cfg)
    assert len(out) == len(msgs), "unique ids must be unique"
    return out


# Every entity, exactly: (component, name, field or topic, unit, device_class, state_class,
# suggested_display_precision). A new entity must be added here and to deploy/mosquitto/acl.
EXPECTED = {
    "reps": ("sensor", "Reps in set", "reps_in_set", None, None, None, 0),
    "set": ("sensor", "Current set", "set", None, None, None, 0),
    "sets": ("sensor", "Finished sets", "sets", None, None, None, 0),
    "eccentric_s": ("sensor", "Last eccentric", "last_eccentric_s", "s", "duration", None, 1),
    "eccentric_score": (
        "sensor", "Last eccentric score", "last_eccentric_score", None, None, None, 0,
    ),
    "lockout": ("sensor", "Last lockout", "last_lockout", None, "enum", None, None),
    "velocity": ("sensor", "Mean concentric velocity", "velocity_m_s", "m/s", None, None, 2),
    "peak_velocity": (
        "sensor", "Peak concentric velocity", "peak_velocity_m_s", "m/s", None, None, 2,
    ),
    "velocity_loss": ("sensor", "Velocity loss", "velocity_loss_pct", "%", None, None, 0),
    "time_under_tension": (
        "sensor", "Time under tension", "time_under_tension_s", "s", "duration", None, 0,
    ),
    "session": ("sensor", "Session", "session", None, None, None, None),
    "last_rep": ("sensor", "Last rep", "last_rep_at", None, "timestamp", None, None),
    "reps_total": ("sensor", "Reps (all time)", "reps_total", None, None, "total_increasing", 0),
    "sets_total": ("sensor", "Sets (all time)", "sets_total", None, None, "total_increasing", 0),
    "online": ("binary_sensor", "Connection", "status", None, "connectivity", None, None),
    "rep_event": ("event", "Rep", "rep", None, None, None, None),
    "set_event": ("event", "Set", "set", None, None, None, None),
}  # fmt: skip

# The next-set controls, exactly, but for device and origin (checked above for every entity).
# Also a new control must be added here and to deploy/mosquitto/acl.
STATE = "repsled/legpress-1/next"
AVAILABILITY = {
    "qos": 1,
    "retain": False,
    "availability_topic": "repsled/legpress-1/status",
    "payload_available": "online",
    "payload_not_available": "offline",
}
TEMPO_PATTERN = (
    r"^\s*$|^\s*([0-9]{1,2}(\.[0-9])?|[Xx])\s*(-\s*([0-9]{1,2}(\.[0-9])?|[Xx])\s*){3}$"
    r"|^\s*[0-9Xx]{4}\s*$"
)
NEXT_EXPECTED = {
    "next_athlete": ("text", {
        "name": "Next athlete",
        "state_topic": STATE,
        "command_topic": "repsled/legpress-1/next/set/athlete",
        "value_template": (
            "{{ value_json.athlete if value_json is defined and value_json.athlete is not none "
            "else '' }}"
        ),
        "min": 0,
        "max": 40,
        "icon": "mdi:account",
    }),
    "next_load": ("number", {
        "name": "Next load",
        "state_topic": STATE,
        "command_topic": "repsled/legpress-1/next/set/load_kg",
        "value_template": "{{ value_json.load_kg if value_json is defined else None }}",
        "min": 0,
        "max": 1500.0,
        "step": 2.5,
        "mode": "box",
        "unit_of_measurement": "kg",
        "icon": "mdi:weight-kilogram",
    }),
    "next_tempo": ("text", {
        "name": "Next tempo",
        "state_topic": STATE,
        "command_topic": "repsled/legpress-1/next/set/tempo",
        "value_template": (
            "{{ value_json.tempo if value_json is defined and value_json.tempo is not none "
            "else '' }}"
        ),
        "min": 0,
        "max": 32,
        "pattern": TEMPO_PATTERN,
        "icon": "mdi:metronome",
    }),
    "next_leg": ("select", {
        "name": "Next leg",
        "state_topic": STATE,
        "command_topic": "repsled/legpress-1/next/set/leg",
        "value_template": "{{ value_json.leg if value_json is defined else 'both' }}",
        "options": ["both", "left", "right"],
        "icon": "mdi:shoe-print",
    }),
}  # fmt: skip


def test_every_entity_config_exactly():
    got = configs()
    assert set(got) == set(EXPECTED) | set(NEXT_EXPECTED)
    for key, (component, fields) in NEXT_EXPECTED.items():
        topic, cfg = got.pop(key)
        assert topic == f"homeassistant/{component}/{STATION}_{key}/config"
        rest = {k: v for k, v in cfg.items() if k not in ("device", "origin")}
        assert rest == {**fields, "unique_id": f"repsled_legpress-1_{key}", **AVAILABILITY}, key
        assert cfg["device"] == got["reps"][1]["device"]
        assert cfg["origin"] == {"name": "repsled", "sw_version": "9.9"}
    for key, (component, name, source, unit, dev_class, state_class, precision) in EXPECTED.items():
        topic, cfg = got[key]
        assert topic == f"homeassistant/{component}/{STATION}_{key}/config"
        assert cfg["name"] == name
        assert cfg.get("unit_of_measurement") == unit, key
        assert cfg.get("device_class") == dev_class, key
        assert cfg.get("state_class") == state_class, key
        assert cfg.get("suggested_display_precision") == precision, key
        # Values stay when the station goes away: nothing is tied to its status.
        assert "availability_topic" not in cfg and "availability" not in cfg, key
        if component == "sensor":
            assert cfg["state_topic"] == "repsled/legpress-1/summary"
            assert cfg["value_template"] == f"{{{{ value_json.{source} }}}}"
        else:
            assert cfg["state_topic"] == f"repsled/legpress-1/{source}"
        dev = cfg["device"]
        assert dev["identifiers"] == ["repsled_legpress-1"]
        assert dev["sw_version"] == "9.9" and dev["name"] and dev["model"] and dev["manufacturer"]
        assert dev["hw_version"] == HARDWARE["hw_version"]
        assert dev["serial_number"] == HARDWARE["serial_number"]
        assert "configuration_url" not in dev
        assert cfg["origin"] == {"name": "repsled", "sw_version": "9.9"}


def test_velocity_stays_in_metres_per_second():
    """device_class speed would make Home Assistant convert to mph on a US installation."""
    for key in ("velocity", "peak_velocity"):
        cfg = configs()[key][1]
        assert cfg["unit_of_measurement"] == "m/s" and "device_class" not in cfg


def test_connectivity_binary_sensor_reads_the_status_topic():
    topic, cfg = configs()["online"]
    assert topic == "homeassistant/binary_sensor/legpress-1_online/config"
    assert (cfg["payload_on"], cfg["payload_off"]) == ("online", "offline")
    assert cfg["device_class"] == "connectivity" and cfg["entity_category"] == "diagnostic"


def test_event_entities_fire_on_every_rep_and_set_with_its_fields():
    sandbox = pytest.importorskip("jinja2.sandbox")
    env = sandbox.ImmutableSandboxedEnvironment()
    env.filters["tojson"] = json.dumps  # as Home Assistant's own filter
    got = configs()
    revised = {**make_rep(1, 2), "revision": 1}  # docs/payloads.md, "Revised reps"
    for key, payload, event_type in (
        ("rep_event", make_rep(1, 2), "rep"),
        ("rep_event", revised, "rep_revised"),
        ("set_event", make_set(1, 2), "set"),
    ):
        _, cfg = got[key]
        assert event_type in cfg["event_types"]
        rendered = env.from_string(cfg["value_template"]).render(value_json=payload)
        event = json.loads(rendered)
        assert event["event_type"] == event_type
        assert {k: v for k, v in event.items() if k != "event_type"} == payload
    assert got["rep_event"][1]["event_types"] == ["rep", "rep_revised"]
    assert got["set_event"][1]["event_types"] == ["set"]


def test_score_icon_is_not_a_stopwatch():
    icons = {key: cfg.get("icon") for key, (_, cfg) in configs().items()}
    assert icons["eccentric_score"] == "mdi:bullseye-arrow"
    assert not any(icon in ("mdi:timer", "mdi:timer-outline") for icon in icons.values())


def test_configuration_url_only_when_it_is_a_url(caplog):
    dev = configs(configuration_url="http://gym-pi.local:8080/")["reps"][1]["device"]
    assert dev["configuration_url"] == "http://gym-pi.local:8080/"
    dev = configs(configuration_url="gym-pi:8080")["reps"][1]["device"]
    assert "configuration_url" not in dev
    assert "dashboard_url" in caplog.text


def test_no_hardware_means_no_hardware_fields():
    dev = configs(hardware={})["reps"][1]["device"]
    assert "hw_version" not in dev and "serial_number" not in dev


def test_hardware_info_from_device_tree_or_cpuinfo(tmp_path: Path):
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    serial = tmp_path / "serial-number"
    serial.write_bytes(b"10000000abcdef01\x00")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nSerial\t\t: 00000000feedbeef\nModel\t: x\n")
    missing = tmp_path / "missing"
    assert discovery.hardware_info(model, serial, cpuinfo) == HARDWARE
    assert discovery.hardware_info(model, missing, cpuinfo)["serial_number"] == "00000000feedbeef"
    assert discovery.hardware_info(missing, missing, missing) == {}


def test_station_names_are_made_safe_for_ids():
    got = configs("gym pi.1")
    topic, cfg = got["reps"]
    assert topic == "homeassistant/sensor/gym_pi_1_reps/config"
    assert cfg["device"]["identifiers"] == ["repsled_gym_pi_1"]
    assert cfg["state_topic"] == "repsled/gym pi.1/summary"


def test_value_templates_name_summary_fields():
    summary = discovery.Summary(STATION, SESSION)
    data = summary.data()
    for _, cfg in configs().values():
        if cfg["state_topic"].endswith("/summary"):
            field = re.fullmatch(r"\{\{ value_json\.(\w+) \}\}", cfg["value_template"]).group(1)
            assert field in data


def test_summary_is_the_new_session_from_the_start():
    summary = discovery.Summary(STATION, SESSION)
    data = json.loads(summary.payload())
    assert data["schema"] == 1 and data["session"] == SESSION
    assert (data["set"], data["reps_in_set"], data["sets"]) == (1, 0, 0)
    assert data["last_eccentric_s"] is None and data["last_rep_at"] is None


def test_summary_follows_reps_and_sets():
    summary = discovery.Summary(STATION, SESSION)
    summary.update_set(make_set(1, 0))  # a set before any rep
    summary.update_rep(make_rep(2, 1), at_s=0.0)
    rep2 = {**make_rep(2, 2), "mean_concentric_velocity_m_s": 0.28}
    summary.update_rep(rep2, at_s=1_764_573_300.0)
    data = summary.data()
    assert (data["set"], data["reps_in_set"], data["sets"]) == (2, 2, 1)
    assert data["last_eccentric_s"] == 3.0 and data["last_lockout"] == "full"
    assert data["velocity_m_s"] == 0.28 and data["last_eccentric_score"] == 92
    assert data["velocity_loss_pct"] == 20.0  # 0.35 best, 0.28 last
    assert data["time_under_tension_s"] == pytest.approx(2 * 4.2)  # t_end - t_start of each rep
    assert data["peak_velocity_m_s"] == rep2["peak_concentric_velocity_m_s"]
    assert data["last_rep_at"] == "2025-12-01T07:15:00+00:00"
    assert (data["reps_total"], data["sets_total"]) == (2, 1)
    done = make_set(2, 2)
    summary.update_set(done)
    data = summary.data()
    assert (data["set"], data["reps_in_set"], data["sets"]) == (2, 2, 2)
    assert data["velocity_loss_pct"] == done["velocity_loss_pct"]
    assert data["time_under_tension_s"] == done["time_under_tension_s"]
    assert data["last_id"] == f"{STATION}/{SESSION}/s2"


def test_totals_survive_a_restart(tmp_path: Path):
    path = tmp_path / "state" / "totals.json"
    first = discovery.Summary(STATION, "A", totals=discovery.Totals(path))
    for i in range(1, 4):
        first.update_rep(make_rep(1, i), at_s=0.0)
    first.update_set(make_set(1, 3))
    assert first.totals.flush()
    second = discovery.Summary(STATION, "B", totals=discovery.Totals(path))
    assert (second.data()["reps_total"], second.data()["sets_total"]) == (3, 1)
    second.update_rep(make_rep(1, 1), at_s=0.0)
    assert second.totals.flush()
    assert discovery.Totals(path).reps == 4


def test_totals_never_stop_counting_on_a_bad_file(tmp_path: Path, caplog):
    path = tmp_path / "totals.json"
    path.write_text("{not json")
    totals = discovery.Totals(path)
    assert (totals.reps, totals.sets) == (0, 0)
    assert "unreadable" in caplog.text
    blocked = discovery.Totals(tmp_path / "totals.json" / "below-a-file")
    blocked.add(reps=1)
    assert blocked.flush()
    blocked.add(reps=1)
    assert blocked.flush()
    assert blocked.reps == 2
    assert caplog.text.count("cannot save") == 1


@pytest.mark.broker
def test_publisher_announces_every_entity_with_the_dashboard_url(
    broker, outbox, subscribe, publisher
):
    sub = subscribe(broker, ["homeassistant/#"])
    url = "http://gym-pi.local:8080/"
    publisher(mqtt_section(broker, dashboard_url=url), outbox)
    count = len(EXPECTED) + len(NEXT_EXPECTED)
    assert sub.wait_for(lambda m: len([t for t, _, _ in m if t.endswith("/config")]) >= count)
    got = {t: json.loads(p) for t, p, _ in sub.messages if t.endswith("/config")}
    assert set(got) == {topic for topic, _ in configs().values()}
    assert all(cfg["device"]["configuration_url"] == url for cfg in got.values())


def test_totals_add_never_waits_on_the_disk(tmp_path: Path, monkeypatch):
    """The sampling thread counts; a stuck disk holds only the writer thread."""
    release = threading.Event()
    saved: list[dict[str, int]] = []

    def slow_save(self: discovery.Totals, path: Path, body: dict[str, int]) -> None:
        release.wait()
        saved.append(body)

    monkeypatch.setattr(discovery.Totals, "_save", slow_save)
    totals = discovery.Totals(tmp_path / "totals.json")
    for _ in range(5):
        totals.add(reps=1)  # returns although the write is stuck
    assert totals.reps == 5
    assert not totals.flush(0)
    release.set()
    assert totals.flush()
    assert saved[-1] == {"schema": 1, "reps": 5, "sets": 0}


def test_next_controls_show_the_retained_next_message():
    """Rendered as Home Assistant renders value_template; null is '' for text and "None"
    (the number's default payload_reset: unknown) for the load."""
    sandbox = pytest.importorskip("jinja2.sandbox")
    env = sandbox.ImmutableSandboxedEnvironment()
    full = {"type": "next", "schema": 1, "athlete": "José", "load_kg": 142.5, "leg": "left",
            "tempo": "3-1-X-0"}  # fmt: skip
    empty = {**full, "athlete": None, "load_kg": None, "leg": "both", "tempo": None}
    shown = {
        "next_athlete": ("José", ""),
        "next_load": ("142.5", "None"),
        "next_tempo": ("3-1-X-0", ""),
        "next_leg": ("left", "both"),
    }
    got = configs()
    for key, (with_values, with_nulls) in shown.items():
        template = env.from_string(got[key][1]["value_template"])
        assert template.render(value_json=full) == with_values, key
        assert template.render(value_json=empty) == with_nulls, key
        # A cleared retained message is not JSON: Home Assistant gives no value_json.
        assert template.render() == with_nulls, key


@pytest.mark.parametrize(
    "text", ["3-1-X-0", "2.5-0-x-0", "31X0", " 3 - 1 - X - 0 ", "30-30-30-30", "10.5-0-1-0", ""]
)
def test_tempo_pattern_lets_valid_tempos_through(text: str):
    """Home Assistant refuses what does not match before sending: never a valid tempo."""
    assert re.match(configs()["next_tempo"][1]["pattern"], text)


@pytest.mark.parametrize("text", ["3-1-1", "3-1-X-0-0", "fast", "3,1,X,0", "2.25-0-1-0", "3--1-0"])
def test_tempo_pattern_stops_malformed_tempos(text: str):
    assert not re.match(configs()["next_tempo"][1]["pattern"], text)


def test_documented_next_load_config_is_the_real_one():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "mqtt.md").read_text(encoding="utf-8")
    topic = "homeassistant/number/legpress-1_next_load/config"
    block = doc.split(f"`{topic}`:", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    documented = json.loads(block.replace("{...}", "null"))
    got_topic, cfg = configs()["next_load"]
    assert got_topic == topic
    assert documented == {**cfg, "device": None, "origin": None}
