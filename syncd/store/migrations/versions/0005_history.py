"""The decision history: one row per change of a decision, a person's action or a ledger move.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("policy_version", sa.String(80)),
        sa.Column("sobject", sa.String(80), nullable=False),
        sa.Column("record_id", sa.String(18), nullable=False),
        sa.Column("account_id", sa.String(18)),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.String(18)),
        sa.Column("acted_at", sa.DateTime(timezone=True)),
        sa.Column("codes", sa.Text),
        sa.Column("changes", sa.Text),
        sa.Column("data", sa.Text),
    )
    op.create_index("ix_history_at", "history", ["at"])
    op.create_index("ix_history_record", "history", ["record_id", "at"])
    op.create_index("ix_history_account", "history", ["account_id", "at"])
