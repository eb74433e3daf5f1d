"""The schema of syncd 0.1.0, the first release (before the store had migrations).

A state database written by 0.1.0 has these tables and no ``alembic_version``; it is
stamped with this revision and upgraded from here.

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
        "runs",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("records_read", sa.Integer, nullable=False),
        sa.Column("records_written", sa.Integer, nullable=False),
        sa.Column("write_failures", sa.Integer, nullable=False),
        sa.Column("api_calls", sa.Integer, nullable=False),
        sa.Column("policy_version", sa.String(80)),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "watermarks",
        sa.Column("sobject", sa.String(80), primary_key=True),
        sa.Column("value", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ledger",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("opportunity_id", sa.String(18), nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("rep_id", sa.String(18)),
        sa.Column("partner_id", sa.String(18)),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("owner_id", sa.String(18)),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("task_id", sa.String(18)),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_index("ix_ledger_opportunity_id", "ledger", ["opportunity_id"])
    op.create_index("ix_ledger_rep_id", "ledger", ["rep_id"])
    for name in ("mirror", "mirror_stage"):
        op.create_table(
            name,
            sa.Column("sobject", sa.String(80), primary_key=True),
            sa.Column("id", sa.String(18), primary_key=True),
            sa.Column("data", sa.Text, nullable=False),
        )
    op.create_table(
        "resync_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("record_id", sa.String(18)),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "facts",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
