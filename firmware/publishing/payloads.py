"""Engine events as the public JSON payloads (docs/payloads.md): replay --format jsonl and MQTT.

The engine knows nothing of stations or ids; they are added here. An id is stable: the same
session replayed gives the same ids, so consumers can drop duplicates by id.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from tempo.flags import TIMES_UNKNOWN

if TYPE_CHECKING:
    from tempo.events import Rep, SetDone

PAYLOAD_SCHEMA = 1
# Left out (null) when a sensor fault made the rep's phase times unknown (docs/payloads.md).
TIMED_FIELDS = (
    "concentric_s",
    "top_pause_s",
    "eccentric_s",
    "bottom_pause_s",
    "eccentric_score",
    "mean_concentric_velocity_m_s",
    "peak_concentric_velocity_m_s",
)
Leg = Literal["both", "left", "right"]


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    """Round floats so payloads are short and byte-identical across platforms."""
    return {
        k: round(v, 4 if k.startswith("t_") or k.endswith("_s") else 3)
        if isinstance(v, float)
        else v
        for k, v in d.items()
    }


def rep_payload(
    rep: Rep, *, station: str, session: str, leg: Leg = "both", revised: bool = False
) -> dict[str, Any]:
    """`revised`: the rep as revised (`tempo.events.RepRevised`): the payload carries
    `"revision": 1` and replaces the one sent before with the same id (docs/payloads.md)."""
    body = _rounded(rep.to_dict())
    if TIMES_UNKNOWN in rep.flags:
        for key in TIMED_FIELDS:
            body[key] = None
    payload = {
        "type": "rep",
        "schema": PAYLOAD_SCHEMA,
        "id": f"{station}/{session}/s{rep.set}/r{rep.rep}",
        "station": station,
        "session": session,
        "leg": leg,
        **body,
    }
    if revised:
        payload["revision"] = 1
    return payload


def set_payload(
    done: SetDone,
    *,
    station: str,
    session: str,
    leg: Leg = "both",
    imbalance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body = _rounded(done.to_dict())
    payload: dict[str, Any] = {
        "type": "set",
        "schema": PAYLOAD_SCHEMA,
        "id": f"{station}/{session}/s{done.set}",
        "station": station,
        "session": session,
        "leg": leg,
        **body,
    }
    if imbalance is not None:
        payload["imbalance"] = imbalance
    return payload


def dumps(payload: dict[str, Any]) -> str:
    """Canonical JSON text: stable key order as built, no spaces, UTF-8 safe."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
