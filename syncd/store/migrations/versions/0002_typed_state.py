"""Typed cycle state instead of the ``facts`` bag; ledger entries keep their Task's terms.

- ``cycle_state``: one typed row (org binding, fingerprints, named accounts, the day last
  evaluated, the retry list, the run the mirror belongs to), filled from the old facts.
- ``ledger``: subject, priority, due date and remedy fixed at first sight (a retried Task
  keeps them), when the Task opened, whether the org's Task is closed, why it resolved.
- ``runs``: the API budget the cycle saw (was the ``api_budget`` fact).
- ``mirror_written``: what syncd's landed writes set, until their echo is read.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("api_used", sa.Integer))
        runs.add_column(sa.Column("api_max", sa.Integer))
        runs.add_column(
            sa.Column("budget_hold", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("ledger") as ledger:
        ledger.add_column(sa.Column("subject", sa.Text, nullable=False, server_default=""))
        ledger.add_column(
            sa.Column("priority", sa.String(20), nullable=False, server_default="Normal")
        )
        ledger.add_column(sa.Column("due", sa.Date))
        ledger.add_column(sa.Column("remedy", sa.Text))
        ledger.add_column(sa.Column("task_opened_at", sa.DateTime(timezone=True)))
        ledger.add_column(
            sa.Column("task_closed", sa.Boolean, nullable=False, server_default=sa.false())
        )
        ledger.add_column(sa.Column("resolution", sa.Text))
    # 0.1.0 saved an entry only once its Task had landed, and closed the Task on resolution.
    entries = sa.table(
        "ledger",
        sa.column("task_id"),
        sa.column("first_seen"),
        sa.column("task_opened_at"),
        sa.column("resolved_at"),
        sa.column("task_closed", sa.Boolean),
    )
    op.execute(
        entries.update()
        .where(entries.c.task_id.is_not(None))
        .values(task_opened_at=entries.c.first_seen)
    )
    op.execute(entries.update().where(entries.c.resolved_at.is_not(None)).values(task_closed=True))
    op.create_table(
        "mirror_written",
        sa.Column("sobject", sa.String(80), primary_key=True),
        sa.Column("id", sa.String(18), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    state = op.create_table(
        "cycle_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.String(18)),
        sa.Column("rules_fingerprint", sa.String(64)),
        sa.Column("policy_fingerprint", sa.String(64)),
        sa.Column("mapping_fingerprint", sa.String(64)),
        sa.Column("named_accounts", sa.Text, nullable=False, server_default="[]"),
        sa.Column("evaluated_on", sa.Date),
        sa.Column("retry_ids", sa.Text, nullable=False, server_default="[]"),
        sa.Column("state_run", sa.String(36)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    rows = op.get_bind().execute(sa.text("SELECT key, value FROM facts")).all()
    facts: dict[str, str] = {str(key): str(value) for key, value in rows}
    if facts:
        op.bulk_insert(state, [_state_row(facts)])
    op.drop_table("facts")


def _state_row(facts: dict[str, str]) -> dict[str, Any]:
    evaluated = facts.get("evaluated_on")
    return {
        "id": 1,
        "org_id": None,  # 0.1.0 did not record it; the next cycle binds the store
        "rules_fingerprint": facts.get("rules_fingerprint"),
        "policy_fingerprint": facts.get("policy_fingerprint"),
        "mapping_fingerprint": facts.get("mapping_fingerprint"),
        "named_accounts": _json_list(facts.get("named_accounts")),
        "evaluated_on": date.fromisoformat(evaluated) if evaluated else None,
        "retry_ids": _json_list(facts.get("retry_ids")),
        "state_run": facts.get("state_run"),
        "updated_at": None,
    }


def _json_list(value: str | None) -> str:
    try:
        items = json.loads(value) if value else []
    except ValueError:
        items = []
    return json.dumps(sorted(str(i) for i in items) if isinstance(items, list) else [])
