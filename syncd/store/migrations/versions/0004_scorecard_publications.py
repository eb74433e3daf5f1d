"""The days scorecards were published into Salesforce, so each day is published once.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scorecard_publications",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("api_calls", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scorecard_publications")
