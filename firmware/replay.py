"""Replay a trace through the engine: the same code path as live sampling, minus the sensor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from firmware.publishing.payloads import rep_payload, set_payload
from firmware.station.next_set import NextSet, NextSetTracker
from firmware.station.prescribed import SetPrescriptions
from sensor.trace import read_trace
from tempo.engine import TempoEngine
from tempo.events import Rep, RepRevised, SetDone
from tempo.settings import EngineSettings


def session_name(metadata: dict[str, str], trace_path: Path) -> str:
    """A stable session id for a trace: its recorded start time, else the file's name."""
    return metadata.get("session") or metadata.get("start_time") or trace_path.stem


# `[vbt] stop_at_velocity_loss_pct`'s default, for callers without a config.
DEFAULT_STOP_AT_VELOCITY_LOSS_PCT = 20.0


def replay_payloads(
    trace_path: str | Path,
    settings: EngineSettings,
    *,
    station: str = "replay",
    next_set: NextSet | None = None,
    stop_at_velocity_loss_pct: float = DEFAULT_STOP_AT_VELOCITY_LOSS_PCT,
) -> Iterator[dict[str, Any]]:
    """Rep and set payloads of a trace, in the order the engine emits them.

    Every set follows `next_set` (athlete, load, tempo), as a station's sets follow theirs.
    """
    path = Path(trace_path)
    reader = read_trace(path)
    session = session_name(reader.metadata, path)
    engine = TempoEngine(settings)
    given = next_set if next_set is not None else NextSet()
    prescriptions = SetPrescriptions(
        NextSetTracker(given, given),
        settings,
        stop_at_velocity_loss_pct=stop_at_velocity_loss_pct,
    )

    def payloads(events: list[Any]) -> Iterator[dict[str, Any]]:
        for event in events:
            if isinstance(event, Rep):
                rep, fields = prescriptions.apply(event)
                payload = rep_payload(rep, station=station, session=session, leg=given.leg)
                yield {**payload, **fields}
            elif isinstance(event, RepRevised):
                rep, fields = prescriptions.revise(event.rep)
                payload = rep_payload(
                    rep, station=station, session=session, leg=given.leg, revised=True
                )
                yield {**payload, **fields}
            elif isinstance(event, SetDone):
                fields = prescriptions.finish(event)
                payload = set_payload(event, station=station, session=session, leg=given.leg)
                yield {**payload, **fields}

    feed = engine.feed
    with reader:
        for t_s, distance_mm in reader.pairs():
            events = feed(t_s, distance_mm)
            if events:  # most samples emit nothing: no generator for them
                yield from payloads(events)
    yield from payloads(engine.finish())
