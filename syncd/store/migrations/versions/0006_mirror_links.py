"""The links between mirrored records (``mirror_links``), so a fresh process loads only
what a change cascades to; ``cycle_state.links_complete`` says whether the table holds
every record's links (not yet here: the next cycle that holds the whole org fills it).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mirror_links",
        sa.Column("link", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(18), primary_key=True),
        sa.Column("target", sa.String(18), nullable=False),
    )
    op.create_index("ix_mirror_links_target", "mirror_links", ["link", "target"])
    with op.batch_alter_table("cycle_state") as state:
        state.add_column(
            sa.Column("links_complete", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cycle_state") as state:
        state.drop_column("links_complete")
    op.drop_index("ix_mirror_links_target", "mirror_links")
    op.drop_table("mirror_links")
