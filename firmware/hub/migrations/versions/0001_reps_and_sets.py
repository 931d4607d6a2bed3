"""Reps and sets by id, their payloads verbatim, and payloads kept aside.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reps",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("station", sa.String, nullable=False),
        sa.Column("session", sa.String, nullable=False),
        sa.Column("set_no", sa.Integer, nullable=False),
        sa.Column("rep_no", sa.Integer, nullable=False),
        sa.Column("set_id", sa.String, nullable=False),
        sa.Column("leg", sa.String),
        sa.Column("lockout", sa.String),
        sa.Column("eccentric_s", sa.Float),
        sa.Column("mean_velocity_m_s", sa.Float),
        sa.Column("tut_s", sa.Float),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_reps_session", "reps", ["station", "session", "set_no", "rep_no"])
    op.create_table(
        "sets",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("station", sa.String, nullable=False),
        sa.Column("session", sa.String, nullable=False),
        sa.Column("set_no", sa.Integer, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_sets_session", "sets", ["station", "session", "set_no"])
    op.create_table(
        "kept_aside",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kept_aside")
    op.drop_table("sets")
    op.drop_table("reps")
