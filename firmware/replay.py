"""Replay a trace through the engine: the same code path as live sampling, minus the sensor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from firmware.publishing.payloads import rep_payload, set_payload
from sensor.trace import read_trace
from tempo.engine import TempoEngine
from tempo.events import Rep, SetDone
from tempo.settings import EngineSettings


def session_name(metadata: dict[str, str], trace_path: Path) -> str:
    """A stable session id for a trace: its recorded start time, else the file's name."""
    return metadata.get("session") or metadata.get("start_time") or trace_path.stem


def replay_payloads(
    trace_path: str | Path, settings: EngineSettings, *, station: str = "replay"
) -> Iterator[dict[str, Any]]:
    """Rep and set payloads of a trace, in the order the engine emits them."""
    path = Path(trace_path)
    reader = read_trace(path)
    session = session_name(reader.metadata, path)
    engine = TempoEngine(settings)

    def payloads(events: list[Any]) -> Iterator[dict[str, Any]]:
        for event in events:
            if isinstance(event, Rep):
                yield rep_payload(event, station=station, session=session)
            elif isinstance(event, SetDone):
                yield set_payload(event, station=station, session=session)

    feed = engine.feed
    with reader:
        for t_s, distance_mm in reader.pairs():
            events = feed(t_s, distance_mm)
            if events:  # most samples emit nothing: no generator for them
                yield from payloads(events)
    yield from payloads(engine.finish())
