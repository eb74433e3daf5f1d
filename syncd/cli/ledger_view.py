"""`syncd violations` output: the ledger as a table, CSV or JSON, with names next to Ids.

Names, amounts and regions come from the mirror of the last cycle (``Directory``): the
ledger keeps Ids, because names change and Ids do not.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from syncd.cli.names import Directory, Regions
from syncd.cli.words import LIST_LIMIT, NOTHING, amount, day, more, named
from syncd.engine.enforcement import LedgerEntry

COLUMNS = (
    "key",
    "kind",
    "opportunity_id",
    "opportunity_name",
    "account_id",
    "account_name",
    "region",
    "amount",
    "currency",
    "code",
    "occurrence",
    "rep_id",
    "rep_name",
    "partner_id",
    "partner_name",
    "level",
    "owner_id",
    "owner_name",
    "first_seen",
    "last_seen",
    "resolved_at",
    "resolution",
    "task_id",
)


def ledger_ids(entries: Sequence[LedgerEntry]) -> set[str]:
    """The Ids a listing of these entries names: deals, reps, Task owners, partners."""
    return {i for e in entries for i in (e.opportunity_id, e.rep_id, e.owner_id, e.partner_id) if i}


def select(
    entries: Sequence[LedgerEntry],
    names: Directory,
    regions: Regions,
    *,
    code: str | None = None,
    level: int | None = None,
    region: str | None = None,
) -> list[LedgerEntry]:
    """The entries matching every filter given (code ignoring case, region by the policy)."""
    wanted = code.strip().casefold() if code else None
    return [
        e
        for e in entries
        if (wanted is None or e.code.casefold() == wanted)
        and (level is None or e.level == level)
        and (region is None or regions.of(names.account_of(e.opportunity_id)) == region)
    ]


def flat(entry: LedgerEntry, names: Directory, regions: Regions) -> dict[str, Any]:
    deal = names.deals.get(entry.opportunity_id)
    account = names.account_of(entry.opportunity_id)
    return {
        "key": entry.key,
        "kind": entry.kind,
        "opportunity_id": entry.opportunity_id,
        "opportunity_name": deal.name if deal else None,
        "account_id": account.id if account else deal.account_id if deal else None,
        "account_name": account.name if account else None,
        "region": regions.of(account) if account else None,
        "amount": str(deal.amount) if deal and deal.amount is not None else None,
        "currency": deal.currency if deal else None,
        "code": entry.code,
        "occurrence": entry.occurrence,
        "rep_id": entry.rep_id,
        "rep_name": names.name(entry.rep_id),
        "partner_id": entry.partner_id,
        "partner_name": names.name(entry.partner_id),
        "level": entry.level,
        "owner_id": entry.owner_id,
        "owner_name": names.name(entry.owner_id),
        "first_seen": entry.first_seen.isoformat(),
        "last_seen": entry.last_seen.isoformat(),
        "resolved_at": entry.resolved_at.isoformat() if entry.resolved_at else None,
        "resolution": entry.resolution,
        "task_id": entry.task_id,
    }


def render_ledger(
    console: Console,
    entries: Sequence[LedgerEntry],
    fmt: str,
    names: Directory,
    regions: Regions,
    *,
    everything: str = "syncd violations --format csv",
) -> None:
    """``everything``: the command that lists them all (named under a cut-short table)."""
    if fmt in ("json", "csv"):
        rows = [flat(e, names, regions) for e in entries]
        if fmt == "json":
            console.file.write(json.dumps(rows, indent=2) + "\n")
            return
        writer = csv.DictWriter(console.file, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=f"Violation ledger ({len(entries):,} occurrences)", show_edge=False)
    for column in ("deal", "amount", "region", "code", "#", "rep", "partner", "level",
                   "Task owner", "first seen", "state"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for e in entries[:LIST_LIMIT]:
        table.add_row(*_cells(e, names, regions))
    console.print(table)
    if len(entries) > LIST_LIMIT:
        console.print(more(len(entries) - LIST_LIMIT, everything), highlight=False)


def _cells(e: LedgerEntry, names: Directory, regions: Regions) -> list[str]:
    deal = names.deals.get(e.opportunity_id)
    account = names.account_of(e.opportunity_id)
    return [
        named(deal.name if deal else None, e.opportunity_id),
        amount(deal.amount, deal.currency) if deal else NOTHING,
        regions.of(account) if account else NOTHING,
        e.code,
        str(e.occurrence),
        names.name(e.rep_id) or e.rep_id or NOTHING,
        names.name(e.partner_id) or e.partner_id or NOTHING,
        str(e.level) if e.kind == "violation" else "review",
        names.name(e.owner_id) or e.owner_id or NOTHING,
        day(e.first_seen),
        f"resolved {day(e.resolved_at)}" if e.resolved_at else "open",
    ]
