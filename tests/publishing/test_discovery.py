"""Home Assistant discovery configs and the summary their sensors read."""

from __future__ import annotations

import json
import re

from firmware.publishing import discovery

from .conftest import STATION, make_rep, make_set


def configs(station: str = STATION) -> list[tuple[str, dict]]:
    msgs = discovery.config_messages(
        prefix="repsled", station=station, discovery_prefix="homeassistant", sw_version="9.9"
    )
    return [(topic, json.loads(payload)) for topic, payload in msgs]


def test_every_config_is_complete():
    msgs = configs()
    assert len(msgs) == len(discovery.SENSORS) == 6
    for topic, cfg in msgs:
        assert re.fullmatch(r"homeassistant/sensor/legpress-1_[a-z_]+/config", topic)
        assert cfg["unique_id"].startswith("repsled_legpress-1_")
        assert cfg["state_topic"] == "repsled/legpress-1/summary"
        assert cfg["value_template"].startswith("{{ value_json.")
        assert cfg["availability_topic"] == "repsled/legpress-1/status"
        assert (cfg["payload_available"], cfg["payload_not_available"]) == ("online", "offline")
        dev = cfg["device"]
        assert dev["identifiers"] == ["repsled_legpress-1"]
        assert dev["sw_version"] == "9.9" and dev["name"] and dev["model"] and dev["manufacturer"]
    assert len({cfg["unique_id"] for _, cfg in msgs}) == len(msgs)
    units = {cfg["unique_id"]: cfg.get("unit_of_measurement") for _, cfg in msgs}
    assert units["repsled_legpress-1_eccentric_s"] == "s"
    assert units["repsled_legpress-1_velocity"] == "m/s"
    assert units["repsled_legpress-1_reps"] is None


def test_value_templates_name_summary_fields():
    summary = discovery.Summary(STATION)
    summary.update_rep(make_rep(1, 1))
    data = json.loads(summary.payload() or "")
    for _, cfg in configs():
        field = re.fullmatch(r"\{\{ value_json\.(\w+) \}\}", cfg["value_template"]).group(1)
        assert field in data


def test_station_names_are_made_safe_for_ids():
    topic, cfg = configs("gym pi.1")[0]
    assert topic.startswith("homeassistant/sensor/gym_pi_1_")
    assert cfg["device"]["identifiers"] == ["repsled_gym_pi_1"]
    assert cfg["state_topic"] == "repsled/gym pi.1/summary"


def test_summary_follows_reps_and_sets():
    summary = discovery.Summary(STATION)
    assert summary.payload() is None
    summary.update_set(make_set(1, 0))  # a set before any rep: still nothing to show
    assert summary.payload() is None
    summary.update_rep(make_rep(2, 1))
    summary.update_rep(make_rep(2, 2))
    data = json.loads(summary.payload() or "")
    assert data["schema"] == 1
    assert (data["set"], data["reps_in_set"], data["sets"]) == (2, 2, 1)
    assert data["last_eccentric_s"] == 3.0 and data["last_lockout"] == "full"
    assert data["velocity_m_s"] == 0.35 and data["last_eccentric_score"] == 92
    summary.update_set(make_set(2, 2))
    data = json.loads(summary.payload() or "")
    assert (data["set"], data["reps_in_set"], data["sets"]) == (2, 2, 2)
    assert data["last_id"] == f"{STATION}/20250101T000000Z/s2"
