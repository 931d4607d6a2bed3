"""`repsled history export` and `repsled history profile`: read the hub's database.

export: the stored reps as CSV or JSON Lines, streamed in constant memory (docs/hub.md,
"Export"). profile: an athlete's load-velocity profile, R² and e1RM, or why there is none
(docs/prescriptions.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# The longest profile window: a year; older sets say little about today's strength.
MAX_WEEKS = 52


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
    profile = sub.add_parser("profile", help="an athlete's load-velocity profile and e1RM")
    profile.add_argument("--db", metavar="URL", help="the hub's database (default: SQLite)")
    profile.add_argument("--athlete", metavar="A", required=True, help="the athlete's name")
    profile.add_argument("--station", metavar="S", help="only sets at this station")
    window = profile.add_mutually_exclusive_group()
    window.add_argument("--weeks", type=float, metavar="N", help="window length (default 6)")
    window.add_argument("--since", metavar="DATE", help="sessions started on or after YYYY-MM-DD")
    profile.add_argument("--mvt", type=float, metavar="M/S", help="minimum velocity threshold")
    profile.add_argument("--format", choices=("text", "json"), default="text", help="default text")


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
    if args.action == "profile":
        return _profile(args, fail)
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


def _profile(args: argparse.Namespace, fail: Callable[[str], int]) -> int:
    try:
        from firmware.hub.profiles import ProfileQuery, current_profile, trend
        from firmware.hub.store import (
            HubDatabaseError,
            Store,
            day_bound,
            default_db_url,
            sqlite_path,
        )
        from firmware.vbt.profile import DEFAULT_MVT_M_S, DEFAULT_WINDOW_DAYS
    except ImportError as exc:
        return fail(f"{exc.name} is missing: pip install 'repsled[hub]'")
    now = datetime.now(UTC)
    window_days = float(DEFAULT_WINDOW_DAYS)
    if args.weeks is not None:
        if not (math.isfinite(args.weeks) and 0 < args.weeks <= MAX_WEEKS):
            return fail(f"--weeks {args.weeks:g}: expected more than 0 and at most {MAX_WEEKS}")
        window_days = args.weeks * 7
    if args.since is not None:
        try:
            since = datetime.fromisoformat(day_bound(args.since, "since", end=False))
        except ValueError as exc:
            return fail(f"--{exc}")
        window_days = (now - since).total_seconds() / 86400
        if window_days <= 0:
            return fail(f"--since {args.since!r}: is in the future")
    mvt = DEFAULT_MVT_M_S if args.mvt is None else args.mvt
    if not (math.isfinite(mvt) and 0 < mvt < 1):
        return fail(f"--mvt {mvt:g}: expected a velocity in m/s between 0 and 1")
    url = args.db or default_db_url()
    if (path := sqlite_path(url)) is not None and not path.is_file():
        return fail(f"{url}: no such database (give the hub's with --db)")
    try:
        store = Store.open(url)
    except HubDatabaseError as exc:
        return fail(str(exc))
    try:
        query = ProfileQuery(args.athlete, args.station, window_days, mvt, now)
        result = current_profile(store, query)
        if args.format == "json":
            body = {"athlete": args.athlete, "station": args.station, **result.to_dict()}
            body["trend"] = trend(store, query)
            print(json.dumps(body))
            return 0
        where = f" at {args.station}" if args.station else ""
        print(f"{args.athlete}{where}, sessions since {query.since():%Y-%m-%d}:")
        for p in result.points:
            print(f"  {p.load_kg:g} kg: best {p.velocity_m_s:.3f} m/s ({p.sets} set(s))")
        print(result.describe())
    finally:
        store.close()
    return 0
