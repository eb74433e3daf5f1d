"""`syncd violations` output: the ledger as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from syncd.engine.enforcement import LedgerEntry

COLUMNS = (
    "key",
    "kind",
    "opportunity_id",
    "code",
    "occurrence",
    "rep_id",
    "partner_id",
    "level",
    "owner_id",
    "first_seen",
    "last_seen",
    "resolved_at",
    "task_id",
)


def _flat(entry: LedgerEntry) -> dict[str, object]:
    row = asdict(entry)
    for name in ("first_seen", "last_seen", "resolved_at"):
        row[name] = row[name].isoformat() if row[name] else None
    return {name: row[name] for name in COLUMNS}


def render_ledger(console: Console, entries: Sequence[LedgerEntry], fmt: str) -> None:
    rows = [_flat(e) for e in entries]
    if fmt == "json":
        console.file.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(console.file, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=f"Violation ledger ({len(rows)} occurrences)", show_edge=False)
    for column in (
        "deal",
        "code",
        "#",
        "rep",
        "level",
        "Task owner",
        "first seen",
        "state",
        "Task",
    ):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(
            e.opportunity_id,
            e.code,
            str(e.occurrence),
            e.rep_id or "–",
            str(e.level) if e.kind == "violation" else "review",
            e.owner_id or "–",
            e.first_seen.date().isoformat(),
            f"resolved {e.resolved_at.date().isoformat()}" if e.resolved_at else "open",
            e.task_id or "–",
        )
    console.print(table)
