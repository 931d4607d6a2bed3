"""The profile message the hub publishes for a station, and the first-rep velocity zone."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from firmware.station.next_set import NextSet
from firmware.station.zones import (
    MAX_MESSAGE_BYTES,
    ProfileError,
    VelocityZones,
    decode_profiles,
    zone_fields,
)
from firmware.vbt.profile import fit_profile

TOPIC = "repsled/legpress-1/profile"
ANA_SETS = [(100.0, 0.7), (100.0, 0.65), (140.0, 0.5), (180.0, 0.3)]


def _doc_example() -> str:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "prescriptions.md").read_text("utf-8")
    return re.findall(r"```json\n(.*?)\n```", doc, re.S)[1]


def test_the_documented_message_is_what_the_hubs_profiles_give() -> None:
    example = json.loads(_doc_example())
    assert example["athletes"]["Ana"] == fit_profile(ANA_SETS).to_dict()
    profiles = decode_profiles(_doc_example().encode())
    assert list(profiles) == ["Ana"]  # Ben has not enough data
    assert profiles["Ana"].to_dict() == fit_profile(ANA_SETS).to_dict()


def _message(**athletes: object) -> bytes:
    return json.dumps({"type": "profile", "schema": 1, "athletes": athletes}).encode()


def _ana(**changes: object) -> dict:
    profile = fit_profile(ANA_SETS).to_dict()
    profile.update(changes)
    return profile


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff", "not UTF-8 text"),
        (b"[1]", "message: expected a JSON object, got list"),
        (b'{"type":"profile","schema":1}', "message: missing field(s) athletes"),
        (
            b'{"type":"next","schema":1,"athletes":{}}',
            "type: expected 'profile', got 'next'",
        ),
        (
            b'{"type":"profile","schema":2,"athletes":{}}',
            "schema 2 is not supported (this repsled reads schema 1)",
        ),
        (
            _message(Ana=_ana(slope_m_s_per_kg=0.001)),
            "athletes['Ana']: slope_m_s_per_kg 0.001: velocity must fall with load",
        ),
        (
            _message(Ana=_ana(intercept_m_s="1.2")),
            "athletes['Ana']: intercept_m_s: expected a finite number, got '1.2'",
        ),
        (
            b'{"type":"profile","schema":1,"athletes":{"Ana":{"status":"ok","e1rm_kg":NaN}}}',
            "not JSON: NaN is not a number in JSON",
        ),
        (
            _message(Ana=_ana(extra=1)),
            "athletes['Ana']: unknown field(s) 'extra' (known: status, "
            "points, slope_m_s_per_kg, intercept_m_s, r_squared, mvt_m_s, e1rm_kg)",
        ),
        (
            _message(**{"Ana/Ben": _ana()}),
            "athletes: athlete: 'Ana/Ben' has characters not allowed in a name: '/' "
            "(letters, digits, space and . ' - _ are)",
        ),
        (
            b" " * (MAX_MESSAGE_BYTES + 1),
            f"{MAX_MESSAGE_BYTES + 1} bytes, over the 65536-byte limit",
        ),
    ],
)
def test_an_invalid_message_is_one_line_and_keeps_the_profiles(
    payload: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ProfileError) as caught:
        decode_profiles(payload)
    assert str(caught.value) == reason
    zones = VelocityZones(0.5)
    assert zones.receive(TOPIC, _message(Ana=_ana()))
    with caplog.at_level(logging.WARNING):
        assert not zones.receive(TOPIC, payload)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"{TOPIC}: message ignored: {reason}; keeping the profiles of 1 athlete(s)"
    ]
    assert list(zones.profiles) == ["Ana"]


def test_advice_needs_a_target_an_athlete_and_their_profile() -> None:
    ana = NextSet("Ana", 140.0)
    zones = VelocityZones(0.5)
    assert zones.advise(0.8, ana) is None  # no profile yet
    zones.receive(TOPIC, _message(Ana=_ana()))
    assert zones.advise(0.8, NextSet()) is None  # nobody named
    assert zones.advise(0.8, NextSet("Ben", 140.0)) is None  # no profile for Ben
    assert VelocityZones(None).advise(0.8, ana) is None  # no target
    # slope -0.005 m/s per kg: 0.3 m/s too fast is 60 kg more
    assert zone_fields(zones.advise(0.8, ana)) == {
        "verdict": "too_light",
        "first_rep_velocity_m_s": 0.8,
        "target_m_s": 0.5,
        "suggested_load_kg": 200.0,
    }
    assert zone_fields(zones.advise(0.52, ana))["verdict"] == "on_target"
    assert zones.receive(TOPIC, b"")  # the retained message was cleared
    assert zones.advise(0.8, ana) is None
