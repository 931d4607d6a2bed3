"""Sessions with their start time (history by date) and the payload fields seen (export).

Fills both from the reps and sets already stored, so a revision-0001 database keeps its
history.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from firmware.hub.records import session_started_at

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH_ROWS = 5000


def upgrade() -> None:
    sessions = op.create_table(
        "sessions",
        sa.Column("station", sa.String, nullable=False),
        sa.Column("session", sa.String, nullable=False),
        sa.Column("started_at", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("station", "session"),
    )
    op.create_index("ix_sessions_started", "sessions", ["started_at"])
    fields = op.create_table(
        "payload_fields",
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("kind", "name"),
    )
    conn = op.get_bind()
    first_seen = sa.text(
        "SELECT station, session, MIN(received_at) FROM "
        "(SELECT station, session, received_at FROM reps "
        " UNION ALL SELECT station, session, received_at FROM sets) AS seen "
        "GROUP BY station, session"
    )
    rows = [
        {"station": st, "session": se, "started_at": session_started_at(se, float(at))}
        for st, se, at in conn.execute(first_seen)
    ]
    for start in range(0, len(rows), BATCH_ROWS):
        conn.execute(sessions.insert(), rows[start : start + BATCH_ROWS])
    seen: dict[tuple[str, str], float] = {}
    for kind, table in (("rep", "reps"), ("set", "sets")):
        query = sa.text(f"SELECT payload, received_at FROM {table} ORDER BY received_at")
        result = conn.execute(query.execution_options(stream_results=True, yield_per=BATCH_ROWS))
        for payload, at in result:
            for name in json.loads(payload):
                seen.setdefault((kind, name), float(at))
    if seen:
        rows = [{"kind": k, "name": n, "first_seen": at} for (k, n), at in seen.items()]
        conn.execute(fields.insert(), rows)


def downgrade() -> None:
    op.drop_table("payload_fields")
    op.drop_table("sessions")
