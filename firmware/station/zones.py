"""Velocity zones at the station: is the load right for today's target velocity?

The hub fits each athlete's load-velocity profile (firmware/vbt/profile.py) and publishes
the profiles of a station's athletes as one retained message on `PREFIX/STATION/profile`
(docs/prescriptions.md). With `[vbt] target_velocity_m_s` set and a profile known for the
set's athlete, the first rep of a set says whether the load is too light or too heavy: the
rep gets a flag (and its cue), the set payload the verdict and a load to try.

A profile message is valid as a whole or ignored with a reason; the profiles held stay.
They live in memory only: the broker re-delivers the retained message on every connect.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from firmware.station.next_set import NextSet, NextSetError, check_athlete
from firmware.vbt.profile import (
    LoadVelocityProfile,
    ProfilePoint,
    ZoneAdvice,
    velocity_zone,
)

log = logging.getLogger(__name__)

PROFILE_SCHEMA = 1
MESSAGE_TYPE = "profile"
FIELDS = ("type", "schema", "athletes")
PROFILE_FIELDS = (
    "status",
    "points",
    "slope_m_s_per_kg",
    "intercept_m_s",
    "r_squared",
    "mvt_m_s",
    "e1rm_kg",
)
POINT_FIELDS = ("load_kg", "velocity_m_s", "sets")
# A profile is a few hundred bytes (a point per load); a gym's athletes fit well under this.
MAX_MESSAGE_BYTES = 64 * 1024

# Flags of a set's first rep, after the engine's and `short_pause`.
LOAD_TOO_LIGHT = "load_too_light"
LOAD_TOO_HEAVY = "load_too_heavy"
VERDICT_FLAGS = {"too_light": LOAD_TOO_LIGHT, "too_heavy": LOAD_TOO_HEAVY}


class ProfileError(ValueError):
    """Why a profile message was ignored: one line naming the field."""


def _number(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _exact_fields(where: str, data: object, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        shown = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise ProfileError(f"{where}: unknown field(s) {shown} (known: {', '.join(fields)})")
    missing = [f for f in fields if f not in data]
    if missing:
        raise ProfileError(f"{where}: missing field(s) {', '.join(missing)}")
    return data


def _profile(where: str, data: object) -> LoadVelocityProfile | None:
    """One athlete's `LoadVelocityProfile.to_dict()`; None for a `not_enough_data` one."""
    if isinstance(data, dict) and data.get("status") == "not_enough_data":
        return None
    fields = _exact_fields(where, data, PROFILE_FIELDS)
    if fields["status"] != "ok":
        raise ProfileError(f"{where}: status must be 'ok' or 'not_enough_data'")
    slope = _number(f"{where}: slope_m_s_per_kg", fields["slope_m_s_per_kg"])
    intercept = _number(f"{where}: intercept_m_s", fields["intercept_m_s"])
    if slope >= 0:
        raise ProfileError(f"{where}: slope_m_s_per_kg {slope:g}: velocity must fall with load")
    if intercept <= 0:
        raise ProfileError(f"{where}: intercept_m_s {intercept:g}: must be positive")
    if not isinstance(fields["points"], list):
        raise ProfileError(f"{where}: points: expected a list")
    points = []
    for i, point in enumerate(fields["points"]):
        p = _exact_fields(f"{where}: points[{i}]", point, POINT_FIELDS)
        sets = p["sets"]
        if isinstance(sets, bool) or not isinstance(sets, int) or sets < 1:
            raise ProfileError(f"{where}: points[{i}]: sets must be a positive whole number")
        points.append(
            ProfilePoint(
                _number(f"{where}: points[{i}]: load_kg", p["load_kg"]),
                _number(f"{where}: points[{i}]: velocity_m_s", p["velocity_m_s"]),
                sets,
            )
        )
    return LoadVelocityProfile(
        points=tuple(points),
        slope_m_s_per_kg=slope,
        intercept_m_s=intercept,
        r_squared=_number(f"{where}: r_squared", fields["r_squared"]),
        mvt_m_s=_number(f"{where}: mvt_m_s", fields["mvt_m_s"]),
        e1rm_kg=_number(f"{where}: e1rm_kg", fields["e1rm_kg"]),
    )


def _no_constants(name: str) -> float:
    raise ProfileError(f"not JSON: {name} is not a number in JSON")


def decode_profiles(payload: bytes) -> dict[str, LoadVelocityProfile]:
    """The profiles of a message, by athlete (those with not enough data left out)."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ProfileError(f"{len(payload)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ProfileError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"not JSON: {exc}") from None
    message = _exact_fields("message", data, FIELDS)
    if message["type"] != MESSAGE_TYPE:
        raise ProfileError(f"type: expected {MESSAGE_TYPE!r}, got {message['type']!r}")
    schema = message["schema"]
    if schema != PROFILE_SCHEMA or isinstance(schema, bool):
        raise ProfileError(
            f"schema {schema!r} is not supported (this repsled reads schema {PROFILE_SCHEMA})"
        )
    athletes = message["athletes"]
    if not isinstance(athletes, dict):
        raise ProfileError("athletes: expected an object of profiles by athlete name")
    profiles: dict[str, LoadVelocityProfile] = {}
    for name, value in athletes.items():
        try:
            athlete = check_athlete(name)
        except NextSetError as exc:
            raise ProfileError(f"athletes: {exc}") from None
        profile = _profile(f"athletes[{athlete!r}]", value)
        if profile is not None and athlete is not None:
            profiles[athlete] = profile
    return profiles


class VelocityZones:
    """The profiles heard last and the target velocity; advice for a set's first rep.

    `receive` runs on the MQTT worker thread while the sampling thread calls `advise`: the
    profiles are one dict swapped in a single assignment, never changed in place.
    """

    def __init__(self, target_m_s: float | None) -> None:
        self.target_m_s = target_m_s
        self._profiles: Mapping[str, LoadVelocityProfile] = {}

    @property
    def profiles(self) -> Mapping[str, LoadVelocityProfile]:
        return self._profiles

    def receive(self, topic: str, payload: bytes) -> bool:
        """Take a profile message (empty: forget all); log and ignore an invalid one."""
        try:
            profiles = decode_profiles(payload) if payload else {}
        except ProfileError as exc:
            log.warning(
                "%s: message ignored: %s; keeping the profiles of %d athlete(s)",
                topic,
                exc,
                len(self._profiles),
            )
            return False
        self._profiles = profiles
        log.info("%s: profiles of %d athlete(s)", topic, len(profiles))
        return True

    def advise(self, velocity_m_s: float, next_set: NextSet) -> ZoneAdvice | None:
        """For a set's first rep: None without a target or a profile of the set's athlete."""
        if self.target_m_s is None or next_set.athlete is None:
            return None
        profile = self._profiles.get(next_set.athlete)
        if profile is None:
            return None
        return velocity_zone(
            velocity_m_s, self.target_m_s, profile=profile, load_kg=next_set.load_kg
        )


def zone_fields(advice: ZoneAdvice | None) -> dict[str, Any] | None:
    """The set payload's `velocity_zone` object, or None."""
    if advice is None:
        return None
    return {
        "verdict": advice.verdict,
        "first_rep_velocity_m_s": round(advice.velocity_m_s, 3),
        "target_m_s": advice.target_m_s,
        "suggested_load_kg": advice.suggested_load_kg,
    }
