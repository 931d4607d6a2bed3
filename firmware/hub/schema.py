"""The database tables at the latest migration, as SQLAlchemy Core objects for the queries.

The tables are created and changed only by the Alembic migrations in migrations/versions;
tests/hub/test_migrations.py checks that a migrated database matches these definitions.
Each rep and set keeps its payload exactly as published (`payload`, JSON text), so fields
added by later firmware are never lost; the other columns are copies for indexes and queries.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

reps = Table(
    "reps",
    metadata,
    Column("id", String, primary_key=True),
    Column("station", String, nullable=False),
    Column("session", String, nullable=False),
    Column("set_no", Integer, nullable=False),
    Column("rep_no", Integer, nullable=False),
    Column("set_id", String, nullable=False),
    Column("leg", String),
    Column("lockout", String),
    Column("eccentric_s", Float),
    Column("mean_velocity_m_s", Float),
    Column("tut_s", Float),
    Column("received_at", Float, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_reps_session", "station", "session", "set_no", "rep_no"),
)

sets = Table(
    "sets",
    metadata,
    Column("id", String, primary_key=True),
    Column("station", String, nullable=False),
    Column("session", String, nullable=False),
    Column("set_no", Integer, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("payload", Text, nullable=False),
    # Added by revision 0003, for the load-velocity profile.
    Column("athlete", String),
    Column("load_kg", Float),
    Column("best_velocity_m_s", Float),
    Index("ix_sets_session", "station", "session", "set_no"),
    Index("ix_sets_athlete", "athlete", "station"),
)

kept_aside = Table(
    "kept_aside",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("topic", String, nullable=False),
    Column("reason", String, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("payload", Text, nullable=False),
)

# Added by revision 0002.
sessions = Table(
    "sessions",
    metadata,
    Column("station", String, nullable=False),
    Column("session", String, nullable=False),
    Column("started_at", String, nullable=False),  # ISO UTC, sorts as text
    PrimaryKeyConstraint("station", "session"),
    Index("ix_sessions_started", "started_at"),
)

payload_fields = Table(
    "payload_fields",
    metadata,
    Column("kind", String, nullable=False),
    Column("name", String, nullable=False),
    Column("first_seen", Float, nullable=False),
    PrimaryKeyConstraint("kind", "name"),
)
