"""`repsled replay TRACE`: reps and sets of a recorded trace, as a table or JSON lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, help="trace CSV (docs/trace-format.md)")
    parser.add_argument(
        "--config",
        type=Path,
        help="config TOML (default: TRACE with .toml beside it if present, else built-in defaults)",
    )
    parser.add_argument("--format", choices=("table", "jsonl"), default="table")
    parser.add_argument("--station", default="replay", help="station name used in payload ids")


def _default_config(trace: Path) -> Path | None:
    beside = trace.with_suffix(".toml")
    return beside if beside.is_file() else None


# (payload key, title, width, format): the person-readable table of `--format table`.
_TABLE_COLUMNS = (
    ("set", "set", 3, "{:>3}"),
    ("rep", "rep", 3, "{:>3}"),
    ("t_start", "start s", 8, "{:>8.2f}"),
    ("concentric_s", "conc s", 6, "{:>6.2f}"),
    ("top_pause_s", "top s", 6, "{:>6.2f}"),
    ("eccentric_s", "ecc s", 6, "{:>6.2f}"),
    ("eccentric_score", "score", 5, "{:>5}"),
    ("rom_fraction", "ROM", 5, "{:>5.0%}"),
    ("lockout", "lockout", 7, "{:<7}"),
    ("mean_concentric_velocity_m_s", "v m/s", 5, "{:>5.2f}"),
)


def _table_header() -> str:
    titles = [
        title.ljust(width) if fmt.startswith("{:<") else title.rjust(width)
        for _, title, width, fmt in _TABLE_COLUMNS
    ]
    return "  ".join(titles) + "  flags"


def _table_row(p: dict[str, Any]) -> str:
    cells = [
        "-".rjust(width) if p[key] is None else fmt.format(p[key])  # times_unknown
        for key, _, width, fmt in _TABLE_COLUMNS
    ]
    return "  ".join(cells) + "  " + ",".join(p["flags"])


def _set_line(p: dict[str, Any]) -> str:
    return (
        f"set {p['set']}: {p['reps']} reps, mean eccentric {p['mean_eccentric_s']:.2f} s, "
        f"time under tension {p['time_under_tension_s']:.1f} s, "
        f"velocity loss {p['velocity_loss_pct']:.0f} %"
    )


def write(payloads: Any, fmt: str, out: TextIO) -> int:
    """Print payloads; returns the number of reps."""
    from firmware.publishing.payloads import dumps

    reps = 0
    header_done = False
    for p in payloads:
        if p["type"] == "rep":
            reps += 1
        if fmt == "jsonl":
            out.write(dumps(p) + "\n")
            continue
        if p["type"] == "rep":
            if not header_done:
                out.write(_table_header() + "\n")
                header_done = True
            out.write(_table_row(p) + "\n")
        else:
            out.write(_set_line(p) + "\n\n")
            header_done = False
    if fmt == "table":
        out.write(f"{reps} reps\n")
    return reps


def run(args: argparse.Namespace) -> int:
    from firmware import config as config_mod

    cfg = config_mod.load(args.config or _default_config(args.trace))
    from firmware.replay import replay_payloads

    write(replay_payloads(args.trace, cfg.engine, station=args.station), args.format, sys.stdout)
    return 0
