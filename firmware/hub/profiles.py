"""An athlete's load-velocity profile from the stored sets (method in docs/prescriptions.md).

The store hands over (session start, load, best velocity) of one athlete's sets through an
index; firmware/vbt/profile.py does the arithmetic. The same results feed `repsled history
profile`, the API and the retained `PREFIX/STATION/profile` message the stations use.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from firmware.hub.store import Store
from firmware.vbt.profile import (
    DEFAULT_MVT_M_S,
    DEFAULT_WINDOW_DAYS,
    LoadVelocityProfile,
    ProfileResult,
    fit_profile,
)

PROFILE_SCHEMA = 1
# The e1RM trend looks back this many windows, so a chart shows months, not only weeks.
TREND_WINDOWS = 4


@dataclass(frozen=True, slots=True)
class ProfileQuery:
    """Whose profile, where, over which window ending when, and at which threshold."""

    athlete: str
    station: str | None = None
    window_days: float = DEFAULT_WINDOW_DAYS
    mvt_m_s: float = DEFAULT_MVT_M_S
    now: datetime | None = None  # default: the current time

    def until(self) -> datetime:
        return self.now or datetime.now(UTC)

    def since(self, windows: int = 1) -> datetime:
        return self.until() - timedelta(days=self.window_days * windows)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def current_profile(store: Store, query: ProfileQuery) -> ProfileResult:
    """The profile over the window that ends now (sessions started in it)."""
    until = _iso(query.until())
    rows = store.profile_sets(query.athlete, query.station, _iso(query.since()))
    return fit_profile(((load, v) for t, load, v in rows if t <= until), query.mvt_m_s)


def trend(store: Store, query: ProfileQuery) -> list[dict[str, Any]]:
    """The e1RM as it stood at the start of each session over the last TREND_WINDOWS windows.

    Each point is fitted over the window ending at that session (docs/prescriptions.md);
    sessions where there was not enough data yet are left out.
    """
    until = _iso(query.until())
    rows = [
        (_seconds(t), load, v)
        for t, load, v in store.profile_sets(
            query.athlete, query.station, _iso(query.since(TREND_WINDOWS + 1))
        )
        if t <= until
    ]
    rows.sort(key=lambda row: row[0])
    starts = [t for t, _, _ in rows]
    window_s = query.window_days * 86400.0
    first_shown = query.since(TREND_WINDOWS).timestamp()
    points = []
    # Each fit over (t - window, t], as e1rm_trend does, found by bisection: a few thousand
    # sets make a few hundred fits, not a scan of every set per session.
    for t in sorted({t for t in starts if t >= first_shown}):
        window = rows[bisect_right(starts, t - window_s) : bisect_right(starts, t)]
        result = fit_profile(((load, v) for _, load, v in window), query.mvt_m_s)
        if isinstance(result, LoadVelocityProfile):
            at = datetime.fromtimestamp(t, UTC)
            points.append({"at": _iso(at), "e1rm_kg": round(result.e1rm_kg, 1)})
    return points


def station_message(store: Store, station: str, query: ProfileQuery) -> bytes:
    """The retained `PREFIX/STATION/profile` payload: every athlete seen at the station."""
    athletes = {}
    for name in store.station_athletes(station):
        q = ProfileQuery(name, station, query.window_days, query.mvt_m_s, query.now)
        athletes[name] = current_profile(store, q).to_dict()
    body = {"type": "profile", "schema": PROFILE_SCHEMA, "athletes": athletes}
    return json.dumps(body, separators=(",", ":")).encode("utf-8")
