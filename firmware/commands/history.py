"""`repsled history export`: the stored reps as CSV or JSON Lines on stdout or into a file.

Streams from the database in constant memory (docs/hub.md, "Export").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = sub.add_parser("export", help="one row per rep with its set's and session's columns")
    export.add_argument("--db", metavar="URL", help="the hub's database (default: its SQLite file)")
    export.add_argument("--station", metavar="S", help="only this station")
    export.add_argument("--session", metavar="S", help="only this session")
    export.add_argument("--since", metavar="DATE", help="sessions started on or after YYYY-MM-DD")
    export.add_argument("--until", metavar="DATE", help="sessions started up to YYYY-MM-DD")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="default csv")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")


def run(args: argparse.Namespace) -> int:
    def fail(message: str) -> int:
        print(f"repsled history: error: {message}", file=sys.stderr)
        return 2

    try:
        from firmware.hub import export
        from firmware.hub.store import (
            HubDatabaseError,
            Store,
            default_db_url,
            make_filters,
            sqlite_path,
        )
    except ImportError as exc:
        return fail(f"{exc.name} is missing: pip install 'repsled[hub]'")
    try:
        filters = make_filters(args.station, args.since, args.until, args.session)
    except ValueError as exc:
        return fail(f"--{exc}")
    url = args.db or default_db_url()
    if (path := sqlite_path(url)) is not None and not path.is_file():
        return fail(f"{url}: no such database (give the hub's with --db)")
    try:
        store = Store.open(url)
    except HubDatabaseError as exc:
        return fail(str(exc))
    try:
        if args.output is None:
            out = sys.stdout.buffer  # UTF-8 whatever the locale
            for chunk in export.lines(store, filters, args.format):
                out.write(chunk.encode("utf-8"))
            out.flush()
        else:
            try:
                with args.output.open("w", encoding="utf-8", newline="") as f:
                    for chunk in export.lines(store, filters, args.format):
                        f.write(chunk)
            except OSError as exc:
                return fail(f"{args.output}: {exc.strerror or exc}")
    finally:
        store.close()
    return 0
