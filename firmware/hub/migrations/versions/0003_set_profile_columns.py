"""Each set's athlete, load and best velocity as columns, for the load-velocity profile.

The profile of one athlete reads only that athlete's sets through ix_sets_athlete instead of
parsing every stored payload. Fills the columns from the sets already stored.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from firmware.hub.records import number

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH_ROWS = 5000


def upgrade() -> None:
    with op.batch_alter_table("sets") as batch:
        batch.add_column(sa.Column("athlete", sa.String))
        batch.add_column(sa.Column("load_kg", sa.Float))
        batch.add_column(sa.Column("best_velocity_m_s", sa.Float))
    op.create_index("ix_sets_athlete", "sets", ["athlete", "station"])
    conn = op.get_bind()
    sets = sa.table(
        "sets",
        sa.column("id", sa.String),
        sa.column("athlete", sa.String),
        sa.column("load_kg", sa.Float),
        sa.column("best_velocity_m_s", sa.Float),
    )
    query = sa.text("SELECT id, payload FROM sets")
    updates: list[dict[str, object]] = []
    for set_id, payload in conn.execute(query).all():
        p = json.loads(payload)
        athlete = p.get("athlete")
        if not isinstance(athlete, str) or not athlete:
            continue
        updates.append(
            {
                "key": set_id,
                "athlete": athlete,
                "load_kg": number(p.get("load_kg")),
                "best_velocity_m_s": number(p.get("best_concentric_velocity_m_s")),
            }
        )
    statement = (
        sets.update()
        .where(sets.c.id == sa.bindparam("key"))
        .values(
            athlete=sa.bindparam("athlete"),
            load_kg=sa.bindparam("load_kg"),
            best_velocity_m_s=sa.bindparam("best_velocity_m_s"),
        )
    )
    for start in range(0, len(updates), BATCH_ROWS):
        conn.execute(statement, updates[start : start + BATCH_ROWS])


def downgrade() -> None:
    op.drop_index("ix_sets_athlete", "sets")
    with op.batch_alter_table("sets") as batch:
        batch.drop_column("best_velocity_m_s")
        batch.drop_column("load_kg")
        batch.drop_column("athlete")
