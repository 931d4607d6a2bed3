"""The history database: SQLite or PostgreSQL through one SQLAlchemy Core schema.

`Store.open(url)` connects and runs the Alembic migrations up to the latest revision; a
database stamped with a revision this repsled does not know (made by a newer version) is
refused with one line and left untouched. Writes are batches committed in one transaction
and idempotent by `id` (INSERT ... ON CONFLICT DO NOTHING), so a message delivered twice is
stored once; a rep payload with `revision` replaces the stored rep of its id (docs/payloads.md).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from firmware.hub import schema
from firmware.hub.records import Aside, Record, number, session_started_at

log = logging.getLogger("repsled.hub")
# Alembic says a few lines per step at INFO; the hub logs one line per migration instead.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DB_FILE_NAME = "history.sqlite3"
# A busy SQLite file (an export running beside ingest) waits this long before "locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Rows per round trip when iterating large results (export, migrations).
STREAM_ROWS = 1000


class HubDatabaseError(Exception):
    """One line naming the database and the problem (bad URL, newer schema, unreachable)."""


def default_db_url() -> str:
    """SQLite in $STATE_DIRECTORY (systemd), else $XDG_DATA_HOME/repsled, else ~/.local/share."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        base = Path(state.split(":")[0])
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        base = Path(xdg) / "repsled"
    return f"sqlite:///{base / DB_FILE_NAME}"


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a user's `--db`: postgresql:// means psycopg 3; a path is SQLite."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "postgresql+psycopg"):
        return url
    raise HubDatabaseError(
        f"--db {url!r}: use sqlite:///PATH, a file path or postgresql://USER@HOST/DB"
    )


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite `--db` value, None for another database (or a bad URL)."""
    try:
        parsed = sa.make_url(engine_url(url))
    except (HubDatabaseError, sa.exc.ArgumentError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def redact(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _alembic_config(conn: Connection | None) -> AlembicConfig:
    """Alembic's settings without an alembic.ini: the scripts, and the hub's connection."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The latest migration this code knows."""
    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    assert head is not None
    return head


def migrate(engine: Engine, target: str = "head") -> None:
    """Upgrade to `target`; refuse, without writing, a revision newer than this code knows."""
    with engine.begin() as conn:
        cfg = _alembic_config(conn)
        script = ScriptDirectory.from_config(cfg)
        known = {rev.revision for rev in script.walk_revisions()}
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in known:
            raise HubDatabaseError(
                f"{redact(str(engine.url))}: database schema revision {current!r} was made by "
                f"a newer repsled (this one knows up to {script.get_current_head()!r}); "
                "upgrade repsled, the database was left untouched"
            )
        head = script.get_current_head() if target == "head" else target
        if current != head:
            command.upgrade(cfg, target)
            log.info(
                "hub: database %s migrated from %s to %s",
                redact(str(engine.url)),
                current or "empty",
                head,
            )


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    # WAL: readers (pages, export) never block the writer. FULL: a commit is on disk before
    # the broker is acknowledged, so even a power cut loses no acknowledged rep.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine(url: str) -> Engine:
    """An engine for a user's `--db` value (SQLite files get their directory made)."""
    full = engine_url(url)
    try:
        parsed = sa.make_url(full)
    except sa.exc.ArgumentError as exc:
        raise HubDatabaseError(f"--db {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HubDatabaseError(f"--db {url!r}: {exc.strerror}") from None
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: after a PostgreSQL restart, pooled connections are dead; test before use.
    return sa.create_engine(parsed, pool_pre_ping=True)


@dataclass(frozen=True, slots=True)
class Filters:
    """Which sessions: one station (or all), sessions started in [since, until), one session."""

    station: str | None = None
    since: str | None = None  # ISO UTC, inclusive
    until: str | None = None  # ISO UTC, exclusive
    session: str | None = None


def day_bound(text: str, name: str, *, end: bool) -> str:
    """An ISO UTC bound from `YYYY-MM-DD` (an end date counts its whole day) or a full time."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"{name} {text!r}: expected a date YYYY-MM-DD") from None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_filters(
    station: str | None = None,
    since: str | None = None,
    until: str | None = None,
    session: str | None = None,
) -> Filters:
    """Filters from user text; ValueError with one line naming the bad value."""
    return Filters(
        station=station or None,
        since=day_bound(since, "since", end=False) if since else None,
        until=day_bound(until, "until", end=True) if until else None,
        session=session or None,
    )


class Store:
    """Reads and writes the history; thread-safe (one pooled connection per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._known_fields: set[tuple[str, str]] = set()

    @classmethod
    def open(cls, url: str) -> Store:
        engine = create_engine(url)
        try:
            migrate(engine)
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            reason = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc)
            raise HubDatabaseError(f"{redact(str(engine.url))}: {reason.splitlines()[0]}") from None
        except HubDatabaseError:
            engine.dispose()
            raise
        store = cls(engine)
        with engine.connect() as conn:
            store._known_fields = {
                (k, n)
                for k, n in conn.execute(
                    sa.select(schema.payload_fields.c.kind, schema.payload_fields.c.name)
                )
            }
        return store

    def close(self) -> None:
        self.engine.dispose()

    # --- writing -------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table).on_conflict_do_nothing()

    def write(self, records: Sequence[Record], asides: Sequence[Aside], received_at: float) -> None:
        """Store a batch in one transaction; rows whose id is already stored are skipped,
        but for revised reps, which replace what is stored under their id."""
        reps: list[dict[str, Any]] = []
        revised: list[dict[str, Any]] = []
        sets: list[dict[str, Any]] = []
        sessions: dict[tuple[str, str], dict[str, Any]] = {}
        fields: dict[tuple[str, str], dict[str, Any]] = {}
        for record in records:
            p = record.payload
            row = _row(record, received_at)
            (reps if record.kind == "rep" else sets).append(row)
            if record.kind == "rep" and record.revision:
                revised.append(row)
            key = (p["station"], p["session"])
            if key not in sessions:
                start = session_started_at(p["session"], received_at)
                sessions[key] = {"station": key[0], "session": key[1], "started_at": start}
            for name in p:
                if (record.kind, name) not in self._known_fields:
                    fields[(record.kind, name)] = {
                        "kind": record.kind,
                        "name": name,
                        "first_seen": received_at,
                    }
        with self.engine.begin() as conn:
            if sessions:
                conn.execute(self._insert(schema.sessions), list(sessions.values()))
            if reps:
                conn.execute(self._insert(schema.reps), reps)
            for row in revised:  # (the first receipt of a rep stays its received_at)
                replaced = {k: v for k, v in row.items() if k not in ("id", "received_at")}
                conn.execute(
                    schema.reps.update().where(schema.reps.c.id == row["id"]).values(replaced)
                )
            if sets:
                conn.execute(self._insert(schema.sets), sets)
            if fields:
                conn.execute(self._insert(schema.payload_fields), list(fields.values()))
            if asides:
                conn.execute(
                    schema.kept_aside.insert(),
                    [
                        {
                            "topic": a.topic,
                            "reason": a.reason,
                            "received_at": received_at,
                            "payload": a.raw,
                        }
                        for a in asides
                    ],
                )
        self._known_fields.update(fields)

    # --- reading -------------------------------------------------------------------------

    def count(self, kind: str = "rep") -> int:
        table = schema.reps if kind == "rep" else schema.sets
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def ids(self, kind: str = "rep") -> list[str]:
        table = schema.reps if kind == "rep" else schema.sets
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(table.c.id).order_by(table.c.id))]

    def kept_aside(self) -> list[tuple[str, str, str]]:
        t = schema.kept_aside
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.topic, t.c.reason, t.c.payload).order_by(t.c.seq))
            return [(a, b, c) for a, b, c in rows]

    def stations(self) -> list[str]:
        s = schema.sessions
        with self.engine.connect() as conn:
            return [
                r[0] for r in conn.execute(sa.select(s.c.station).distinct().order_by(s.c.station))
            ]

    def _where(self, filters: Filters) -> list[Any]:
        s = schema.sessions
        where: list[Any] = []
        if filters.station is not None:
            where.append(s.c.station == filters.station)
        if filters.session is not None:
            where.append(s.c.session == filters.session)
        if filters.since is not None:
            where.append(s.c.started_at >= filters.since)
        if filters.until is not None:
            where.append(s.c.started_at < filters.until)
        return where

    def sessions(self, filters: Filters, limit: int) -> list[dict[str, Any]]:
        """Sessions newest first, each with its counts of finished sets and reps, and the
        athletes named by its finished sets."""
        s, r, st = schema.sessions, schema.reps, schema.sets
        rep_count = (
            sa.select(sa.func.count())
            .where(r.c.station == s.c.station, r.c.session == s.c.session)
            .scalar_subquery()
        )
        set_count = (
            sa.select(sa.func.count())
            .where(st.c.station == s.c.station, st.c.session == s.c.session)
            .scalar_subquery()
        )
        query = (
            sa.select(s.c.station, s.c.session, s.c.started_at, set_count, rep_count)
            .where(*self._where(filters))
            .order_by(s.c.started_at.desc(), s.c.station)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = [
                {
                    "station": a,
                    "session": b,
                    "started_at": c,
                    "sets": int(d),
                    "reps": int(e),
                    "athletes": [],
                }
                for a, b, c, d, e in conn.execute(query)
            ]
            if rows:
                by_key = {(r["station"], r["session"]): r for r in rows}
                named = (
                    sa.select(st.c.station, st.c.session, st.c.athlete)
                    .distinct()
                    .where(_any_of(st, list(by_key)), st.c.athlete.is_not(None))
                    .order_by(st.c.athlete)
                )
                for station, session, athlete in conn.execute(named):
                    by_key[(station, session)]["athletes"].append(athlete)
        return rows

    def session_payloads(
        self, station: str, session: str
    ) -> tuple[str | None, list[str], list[str]]:
        """(started_at or None if unknown, raw set payloads, raw rep payloads), in order."""
        s, r, st = schema.sessions, schema.reps, schema.sets
        with self.engine.connect() as conn:
            started = conn.execute(
                sa.select(s.c.started_at).where(s.c.station == station, s.c.session == session)
            ).scalar_one_or_none()
            if started is None:
                return None, [], []
            sets = (
                conn.execute(
                    sa.select(st.c.payload)
                    .where(st.c.station == station, st.c.session == session)
                    .order_by(st.c.set_no)
                )
                .scalars()
                .all()
            )
            reps = (
                conn.execute(
                    sa.select(r.c.payload)
                    .where(r.c.station == station, r.c.session == session)
                    .order_by(r.c.set_no, r.c.rep_no)
                )
                .scalars()
                .all()
            )
        return started, list(sets), list(reps)

    def live(self) -> list[tuple[list[str], list[str]]]:
        """Per station, its latest session: (raw finished sets, raw reps of the latest set).

        Four index lookups whatever the number of stations: the latest session of each (by
        start, then name), their highest set numbers, their sets, and those sets' reps.
        """
        s, r, st = schema.sessions, schema.reps, schema.sets
        rank = (
            sa.func.row_number()
            .over(partition_by=s.c.station, order_by=(s.c.started_at.desc(), s.c.session.desc()))
            .label("rank")
        )
        ranked = sa.select(s.c.station, s.c.session, rank).subquery()
        with self.engine.connect() as conn:
            latest = [
                (a, b)
                for a, b in conn.execute(
                    sa.select(ranked.c.station, ranked.c.session)
                    .where(ranked.c.rank == 1)
                    .order_by(ranked.c.station)
                )
            ]
            if not latest:
                return []
            last_sets = [
                (a, b, c)
                for a, b, c in conn.execute(
                    sa.select(r.c.station, r.c.session, sa.func.max(r.c.set_no))
                    .where(_any_of(r, latest))
                    .group_by(r.c.station, r.c.session)
                )
            ]
            by_station: dict[str, tuple[list[str], list[str]]] = {a: ([], []) for a, _ in latest}
            for station, payload in conn.execute(
                sa.select(st.c.station, st.c.payload)
                .where(_any_of(st, latest))
                .order_by(st.c.station, st.c.set_no)
            ):
                by_station[station][0].append(payload)
            if last_sets:
                for station, payload in conn.execute(
                    sa.select(r.c.station, r.c.payload)
                    .where(_any_of(r, last_sets))
                    .order_by(r.c.station, r.c.rep_no)
                ):
                    by_station[station][1].append(payload)
        return list(by_station.values())

    def trends(self, filters: Filters, limit: int) -> list[dict[str, Any]]:
        """Per session, oldest first: reps, mean eccentric s, full-lockout share, speeds, TUT."""
        s, r = schema.sessions, schema.reps
        full = sa.func.sum(sa.case((r.c.lockout == "full", 1), else_=0))
        recent = (
            sa.select(s.c.station, s.c.session, s.c.started_at)
            .where(*self._where(filters))
            .order_by(s.c.started_at.desc())
            .limit(limit)
            .subquery()
        )
        query = (
            sa.select(
                recent.c.station,
                recent.c.session,
                recent.c.started_at,
                sa.func.count(r.c.id),
                sa.func.avg(r.c.eccentric_s),
                full,
                sa.func.max(r.c.mean_velocity_m_s),
                sa.func.avg(r.c.mean_velocity_m_s),
                sa.func.sum(r.c.tut_s),
            )
            .join(r, sa.and_(r.c.station == recent.c.station, r.c.session == recent.c.session))
            .group_by(recent.c.station, recent.c.session, recent.c.started_at)
            .order_by(recent.c.started_at, recent.c.station)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "station": station,
                "session": session,
                "started_at": started,
                "reps": int(count),
                "mean_eccentric_s": _round(ecc, 4),
                "full_lockout_share": _round(int(full_n) / count if count else None, 3),
                "best_concentric_velocity_m_s": _round(best, 4),
                "mean_concentric_velocity_m_s": _round(mean, 4),
                "time_under_tension_s": _round(tut, 4),
            }
            for station, session, started, count, ecc, full_n, best, mean, tut in rows
        ]

    def athletes(self) -> list[dict[str, Any]]:
        """Every athlete with a stored set: name, sets, stations, latest session start."""
        st, s = schema.sets, schema.sessions
        query = (
            sa.select(
                st.c.athlete,
                sa.func.count(),
                sa.func.count(sa.distinct(st.c.station)),
                sa.func.max(s.c.started_at),
            )
            .join(s, sa.and_(s.c.station == st.c.station, s.c.session == st.c.session))
            .where(st.c.athlete.is_not(None))
            .group_by(st.c.athlete)
            .order_by(st.c.athlete)
        )
        with self.engine.connect() as conn:
            return [
                {"athlete": a, "sets": int(n), "stations": int(k), "last_session_at": last}
                for a, n, k, last in conn.execute(query)
            ]

    def station_athletes(self, station: str) -> list[str]:
        """The athletes with a stored set at `station`, by name."""
        st = schema.sets
        query = (
            sa.select(st.c.athlete)
            .distinct()
            .where(st.c.station == station, st.c.athlete.is_not(None))
            .order_by(st.c.athlete)
        )
        with self.engine.connect() as conn:
            return [a for (a,) in conn.execute(query)]

    def profile_sets(
        self, athlete: str, station: str | None = None, since: str | None = None
    ) -> list[tuple[str, float | None, float | None]]:
        """(session started_at, load_kg, best velocity) of the athlete's sets, oldest first.

        Reads through ix_sets_athlete only the athlete's sets; `since` is an ISO UTC bound on
        the session's start, inclusive.
        """
        st, s = schema.sets, schema.sessions
        where = [st.c.athlete == athlete]
        if station is not None:
            where.append(st.c.station == station)
        if since is not None:
            where.append(s.c.started_at >= since)
        query = (
            sa.select(s.c.started_at, st.c.load_kg, st.c.best_velocity_m_s)
            .join(s, sa.and_(s.c.station == st.c.station, s.c.session == st.c.session))
            .where(*where)
            .order_by(s.c.started_at, st.c.set_no)
        )
        with self.engine.connect() as conn:
            return [(str(t), load, v) for t, load, v in conn.execute(query)]

    def fields(self, kind: str) -> list[str]:
        """Every payload field name seen for `kind`, in the order first seen."""
        f = schema.payload_fields
        with self.engine.connect() as conn:
            return [
                n
                for (n,) in conn.execute(
                    sa.select(f.c.name).where(f.c.kind == kind).order_by(f.c.first_seen, f.c.name)
                )
            ]

    def export_rows(self, filters: Filters) -> Iterator[tuple[str, str | None, str]]:
        """(rep payload, its set's payload or None, session started_at), streamed in order."""
        s, r, st = schema.sessions, schema.reps, schema.sets
        query = (
            sa.select(r.c.payload, st.c.payload, s.c.started_at)
            .select_from(
                r.join(
                    s, sa.and_(r.c.station == s.c.station, r.c.session == s.c.session)
                ).outerjoin(st, st.c.id == r.c.set_id)
            )
            .where(*self._where(filters))
            .order_by(s.c.started_at, r.c.station, r.c.session, r.c.set_no, r.c.rep_no)
        )
        with self.engine.connect() as conn:
            result = conn.execute(
                query.execution_options(stream_results=True, yield_per=STREAM_ROWS)
            )
            for rep, set_payload, started in result:
                yield str(rep), set_payload, str(started)


def _any_of(table: sa.Table, keys: Sequence[tuple[Any, ...]]) -> Any:
    """(station, session[, set_no]) IN keys, as ORs: both databases then seek the index for
    each (SQLite scans the whole index for a row-value IN)."""
    names = ("station", "session", "set_no")
    return sa.or_(
        *(sa.and_(*(table.c[n] == v for n, v in zip(names, key, strict=False))) for key in keys)
    )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _row(record: Record, received_at: float) -> dict[str, Any]:
    p = record.payload
    common = {
        "id": record.id,
        "station": p["station"],
        "session": p["session"],
        "set_no": p["set"],
        "received_at": received_at,
        "payload": record.raw,
    }
    if record.kind == "set":
        athlete = p.get("athlete")
        return {
            **common,
            "athlete": athlete if isinstance(athlete, str) and athlete else None,
            "load_kg": number(p.get("load_kg")),
            "best_velocity_m_s": number(p.get("best_concentric_velocity_m_s")),
        }
    phases = [
        number(p.get(k)) for k in ("concentric_s", "top_pause_s", "eccentric_s", "bottom_pause_s")
    ]
    return {
        **common,
        "rep_no": p["rep"],
        "set_id": f"{p['station']}/{p['session']}/s{p['set']}",
        "leg": p.get("leg") if isinstance(p.get("leg"), str) else None,
        "lockout": p.get("lockout") if isinstance(p.get("lockout"), str) else None,
        "eccentric_s": number(p.get("eccentric_s")),
        "mean_velocity_m_s": number(p.get("mean_concentric_velocity_m_s")),
        "tut_s": sum(x for x in phases if x is not None)
        if any(x is not None for x in phases)
        else None,
    }


def as_json_array(raws: Iterable[str]) -> str:
    """Raw JSON payloads as one JSON array, without parsing them again."""
    return "[" + ",".join(raws) + "]"


def loads(raw: str) -> dict[str, Any]:
    value = json.loads(raw)
    assert isinstance(value, dict)
    return value
