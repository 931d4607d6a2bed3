"""One row per rep with every field of its payload, its set's fields and its session's start.

Streams: rows come from a server-side cursor a thousand at a time and leave as text lines, so
memory stays flat whatever the size of the history (docs/hub.md, "Export").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from firmware.hub.store import Filters, Store

EXPORT_VERSION = 1
# The rep payload's fields in the documented order (docs/payloads.md); fields a newer station
# adds follow, by name.
REP_FIELDS = (
    "type", "schema", "id", "station", "session", "leg", "set", "rep", "t_start", "t_top",
    "t_ecc", "t_end", "concentric_s", "top_pause_s", "eccentric_s", "bottom_pause_s", "rom_mm",
    "rom_fraction", "lockout", "eccentric_score", "mean_concentric_velocity_m_s",
    "peak_concentric_velocity_m_s", "flags", "t_confirmed",
)  # fmt: skip
# Set fields already in the rep's columns (or meaningless per row) are not repeated.
SET_SKIPPED = frozenset({"type", "schema", "station", "session", "leg", "set"})
SET_FIELDS = (
    "id", "reps", "t_start", "t_end", "mean_eccentric_s", "time_under_tension_s",
    "mean_concentric_velocity_m_s", "best_concentric_velocity_m_s",
    "last_concentric_velocity_m_s", "velocity_loss_pct", "reason", "imbalance",
)  # fmt: skip
SESSION_COLUMNS = ("session_started_at",)
FORMATS = ("csv", "jsonl")


def columns(store: Store) -> tuple[list[str], list[str]]:
    """(rep fields, set fields) to export: the documented ones, then any others ever stored."""
    rep = list(REP_FIELDS) + sorted(set(store.fields("rep")) - set(REP_FIELDS))
    known_set = set(SET_FIELDS) | SET_SKIPPED
    set_fields = list(SET_FIELDS) + sorted(set(store.fields("set")) - known_set)
    return rep, set_fields


def header(store: Store) -> list[str]:
    rep, set_fields = columns(store)
    return [*rep, *(f"set_{name}" for name in set_fields), *SESSION_COLUMNS]


def _cell(value: Any) -> str:
    """CSV text of one value: lists joined by ';', objects as JSON, absent as empty."""
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is float or kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def rows(store: Store, filters: Filters) -> Iterator[dict[str, Any]]:
    """Each exported rep as an ordered dict of the export's columns (absent fields: None)."""
    rep_fields, set_fields = columns(store)
    for rep_raw, set_raw, started in store.export_rows(filters):
        rep = json.loads(rep_raw)
        set_payload = json.loads(set_raw) if set_raw is not None else {}
        row = {name: rep.get(name) for name in rep_fields}
        for name in set_fields:
            row[f"set_{name}"] = set_payload.get(name)
        row["session_started_at"] = started
        yield row


def csv_lines(store: Store, filters: Filters) -> Iterator[str]:
    """The CSV export as text chunks: the header line, then one line per rep."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header(store))
    for row in rows(store, filters):
        writer.writerow([_cell(v) for v in row.values()])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_lines(store: Store, filters: Filters) -> Iterator[str]:
    """The JSON Lines export: one object per rep with the same keys as the CSV columns."""
    for row in rows(store, filters):
        yield json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


def lines(store: Store, filters: Filters, fmt: str) -> Iterator[str]:
    return csv_lines(store, filters) if fmt == "csv" else jsonl_lines(store, filters)
