"""`repsled replay TRACE`: reps and sets of a recorded trace, as a table or JSON lines."""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument(
        "--athlete", metavar="A", help="who lifted (default: the config's [athlete] name)"
    )
    parser.add_argument(
        "--load-kg",
        type=float,
        metavar="KG",
        help="load on the sled, plates plus sled (default: the config's [athlete] load_kg)",
    )
    parser.add_argument(
        "--tempo", metavar="E-B-C-T", help="tempo prescription to score against, e.g. 3-1-X-0"
    )


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


def _table_header(tempo: bool) -> str:
    titles = [
        title.ljust(width) if fmt.startswith("{:<") else title.rjust(width)
        for _, title, width, fmt in _TABLE_COLUMNS
    ]
    if tempo:
        titles.append("tempo")
    return "  ".join(titles) + "  flags"


def _table_row(p: dict[str, Any], tempo: bool) -> str:
    cells = [
        "-".rjust(width) if p[key] is None else fmt.format(p[key])  # times_unknown
        for key, _, width, fmt in _TABLE_COLUMNS
    ]
    if tempo:
        score = p.get("tempo_score")
        cells.append(f"{'-' if score is None else score:>5}")
    return "  ".join(cells) + "  " + ",".join(p["flags"])


def _set_line(p: dict[str, Any]) -> str:
    line = (
        f"set {p['set']}: {p['reps']} reps, mean eccentric {p['mean_eccentric_s']:.2f} s, "
        f"time under tension {p['time_under_tension_s']:.1f} s, "
        f"velocity loss {p['velocity_loss_pct']:.0f} %"
    )
    if p.get("velocity_loss_exceeded"):
        line += ", went past the velocity-loss stop"
    prescribed = []
    if p.get("athlete"):
        prescribed.append(p["athlete"])
    if p.get("load_kg") is not None:
        prescribed.append(f"{p['load_kg']:g} kg")
    if p.get("tempo"):
        score = p.get("mean_tempo_score")
        prescribed.append(f"tempo {p['tempo']} (score {'-' if score is None else score})")
    return line + (f"; {', '.join(prescribed)}" if prescribed else "")


def write(payloads: Any, fmt: str, out: TextIO) -> int:
    """Print payloads; returns the number of reps (a revision is not another rep).

    JSON lines are every payload as it came, revisions included; the table shows each
    rep as last revised, so a set's reps are printed when its set payload comes.
    """
    from firmware.publishing.payloads import dumps

    reps = 0
    open_set: dict[int, dict[str, Any]] = {}  # the table's reps of the open set, by number
    for p in payloads:
        if p["type"] == "rep" and not p.get("revision"):
            reps += 1
        if fmt == "jsonl":
            out.write(dumps(p) + "\n")
        elif p["type"] == "rep":
            open_set[p["rep"]] = p
        else:
            _write_reps(list(open_set.values()), out)
            open_set.clear()
            out.write(_set_line(p) + "\n\n")
    if fmt == "table":
        _write_reps(list(open_set.values()), out)
        out.write(f"{reps} reps\n")
    return reps


def _write_reps(reps: list[dict[str, Any]], out: TextIO) -> None:
    if not reps:
        return
    tempo = reps[0].get("tempo") is not None  # the set's prescription: the same on its reps
    out.write(_table_header(tempo) + "\n")
    for p in reps:
        out.write(_table_row(p, tempo) + "\n")


class _UsageError(Exception):
    """A bad option value: one line, exit status 2."""


def _next_set(args: argparse.Namespace, defaults: Any) -> Any:
    """The config's [athlete] defaults with the options given on the command line."""
    from firmware.station.next_set import NextSetError

    next_set = defaults
    for option, field in (("--athlete", "athlete"), ("--load-kg", "load_kg"), ("--tempo", "tempo")):
        value = getattr(args, field)
        if value is None:
            continue
        try:
            next_set = next_set.with_field(field, value)
        except NextSetError as exc:
            raise _UsageError(f"{option}: {str(exc).removeprefix(field + ': ')}") from None
    return next_set


def run(args: argparse.Namespace) -> int:
    from firmware import config as config_mod

    cfg = config_mod.load(config_mod.choose(args.config, args.trace)[0])
    try:
        next_set = _next_set(args, cfg.next_set_defaults)
    except _UsageError as exc:
        print(f"repsled replay: error: {exc}", file=sys.stderr)
        return 2
    from firmware.replay import replay_payloads

    try:
        payloads = replay_payloads(
            args.trace,
            cfg.engine,
            station=args.station,
            next_set=next_set,
            stop_at_velocity_loss_pct=float(cfg.vbt["stop_at_velocity_loss_pct"]),
        )
        write(payloads, args.format, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        raise  # `| head`: the reader left; the CLI ends quietly
    except OSError as exc:  # `> /dev/full`, a disk that filled up, a closed terminal
        # Nothing more can reach stdout: point it at /dev/null so Python's own flush at exit
        # does not print a second, traceback-like complaint.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        reason = exc.strerror or str(exc)
        print(f"repsled replay: error: standard output: cannot write: {reason}", file=sys.stderr)
        return 1
    return 0
