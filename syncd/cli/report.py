"""What a person reads after a cycle: leads, statuses, violations, API calls (rich tables)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.table import Table

from syncd.cli.names import Directory
from syncd.cli.words import LIST_LIMIT, NOTHING, amount, day, more, named
from syncd.engine.domain import Lead, OpportunityDecision, Status
from syncd.sync.plan import Plan, RecordWrite
from syncd.sync.report import CycleReport

_STATUS_STYLE = {
    Status.COMPLIANT: "green",
    Status.VIOLATION: "bold red",
    Status.REVIEW: "yellow",
    Status.EXEMPT: "cyan",
    Status.ADVISORY: "magenta",
}


def print_summary(console: Console, report: CycleReport, *, state_location: str) -> None:
    decisions = report.decisions
    console.print(
        f"[bold]Cycle {report.run_id[:8]}[/bold] — {report.mode}, {report.outcome}; "
        f"read {sum(report.read.values())} records "
        f"({', '.join(f'{n} {o}' for o, n in report.read.items())}); "
        f"policy {decisions.policy_version}"
    )
    if report.mode == "incremental":
        console.print(
            f"{report.changed} records changed since the last cycle; "
            f"{report.evaluated} accounts and deals re-decided (the rest stand as they were)"
        )
    elif report.why_full:
        console.print(f"Read the whole org: {report.why_full}.")

    scope = " (re-decided this cycle)" if report.mode == "incremental" else ""
    leads = Counter(d.lead.value for d in decisions.accounts.values())
    _counts(console, f"Accounts by engagement lead{scope}", "lead", "accounts", leads, list(Lead))
    statuses = Counter(d.status.value for d in decisions.opportunities.values())
    _counts(
        console, f"Open and won deals by status{scope}", "status", "deals", statuses, list(Status)
    )

    standing = [
        d for _, d in sorted(decisions.opportunities.items()) if d.status is Status.VIOLATION
    ]
    console.print(f"\n[bold]Violations[/bold] ({len(standing):,})")
    if not standing:
        console.print("[green]No violations.[/green]")
    for decision in standing[:LIST_LIMIT]:
        _print_violation(console, report, decision)
    if len(standing) > LIST_LIMIT:
        hidden = len(standing) - LIST_LIMIT
        console.print(more(hidden, "syncd violations --open --format csv"), highlight=False)
    console.print()
    console.print(
        f"Writes: {report.written} records updated"
        + (f", [red]{len(report.failures)} failed[/red]" if report.failures else "")
        + f" (planned: {len(report.plan.accounts)} accounts, "
        f"{len(report.plan.opportunities)} opportunities)"
    )
    if report.outcome == "budget-hold":
        console.print(
            "[yellow]Writes skipped: the org's API allowance is below the reserve "
            "(api_reserve_percent); syncd resumes writing once it recovers.[/yellow]"
        )
    if report.mode != "dry-run":
        console.print(
            f"Violation Tasks: {report.tasks_opened} opened, {report.tasks_closed} closed"
        )
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(report.api_calls_by_kind.items()))
    console.print(f"API calls used: {report.api_calls}" + (f" ({kinds})" if kinds else ""))
    if report.api_usage:
        used, limit = report.api_usage
        console.print(f"Org API usage (24 h): {used} of {limit}")
    _print_failures(console, report)
    if report.decisions.errors:
        console.print(
            f"[red]{len(report.decisions.errors)} records could not be decided[/red] (a rule "
            "raised; they show Review): see the log's engine.record_failed lines"
        )
    console.print(f"State database: {state_location}")


def _counts(
    console: Console,
    title: str,
    key: str,
    unit: str,
    counts: Counter[str],
    order: list[Lead] | list[Status],
) -> None:
    console.print(f"\n[bold]{title}[/bold]")
    table = Table(show_edge=False, box=None, padding=(0, 2))
    table.add_column(key)
    table.add_column(unit, justify="right")
    for value in order:
        if counts[value.value]:
            style = _STATUS_STYLE.get(value) if isinstance(value, Status) else None
            label = f"[{style}]{value.value}[/]" if style else value.value
            table.add_row(label, str(counts[value.value]))
    console.print(table)


def _print_violation(console: Console, report: CycleReport, decision: OpportunityDecision) -> None:
    snap = report.snapshot
    opp = snap.opportunities[decision.opportunity_id]
    rep = snap.users.get(opp.owner_id or "")
    partner = snap.accounts.get(decision.protected_partner_id or "")
    account = snap.accounts.get(opp.account_id or "")
    state = "closed won" if opp.is_won else "closed" if opp.is_closed else "open"
    money = f", {amount(opp.amount, opp.currency)}" if opp.amount is not None else ""
    console.print(
        f"  [bold red]•[/bold red] {opp.name} ({state}{money}, closes {day(opp.close_date)}) "
        f"[dim]{opp.id}[/dim]",
        highlight=False,
    )
    codes = ", ".join(v.code for v in decision.violations)
    console.print(
        f"    account {account.name if account else opp.account_id or NOTHING} · rep "
        f"{rep.name if rep else opp.owner_id or NOTHING} · partner "
        f"{partner.name if partner else NOTHING} · {codes}",
        highlight=False,
    )
    console.print(f"    {decision.reason_text}", highlight=False, style="dim")
    if decision.remedy:
        console.print(f"    remedy owed: {decision.remedy}", highlight=False)


def _print_failures(console: Console, report: CycleReport) -> None:
    names = Directory.from_snapshot(report.snapshot)
    for failure in report.failures[:LIST_LIMIT]:
        console.print(
            f"[red]failed[/red] {names.label(failure.record_id)}: {failure.code} {failure.message}",
            highlight=False,
        )
    if len(report.failures) > LIST_LIMIT:
        hidden = len(report.failures) - LIST_LIMIT
        console.print(more(hidden, "the cycle's log lines (push.record_failed)"), highlight=False)


PLAN_COLUMNS = ("object", "record_id", "record_name", "field", "now", "now_name", "would_be",
                "would_be_name")  # fmt: skip


def plan_rows(plan: Plan, names: Directory) -> Iterator[dict[str, Any]]:
    """One row per field a dry run would write, values as they are; a lookup's by name too."""
    for write in (*plan.accounts, *plan.opportunities):
        for field, value in write.values.items():
            now = write.before.get(field)
            yield {
                "object": write.sobject,
                "record_id": write.record_id,
                "record_name": names.name(write.record_id),
                "field": field,
                "now": now,
                "now_name": names.name(now) if isinstance(now, str) else None,
                "would_be": value,
                "would_be_name": names.name(value) if isinstance(value, str) else None,
            }


def print_plan(console: Console, plan: Plan, report: CycleReport, fmt: str = "table") -> None:
    """The writes a dry run would make: record, field, value now → value syncd would set."""
    names = Directory.from_snapshot(report.snapshot)
    if fmt == "json":
        console.file.write(json.dumps(list(plan_rows(plan, names)), indent=2) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(console.file, fieldnames=PLAN_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(plan_rows(plan, names))
        return
    table = Table(title=f"Planned writes (dry run, nothing written): {plan.total:,} records")
    for column in ("object", "record", "field", "now", "would be"):
        table.add_column(column, overflow="fold")
    shown: list[RecordWrite] = [*plan.accounts[:LIST_LIMIT], *plan.opportunities[:LIST_LIMIT]]
    for write in shown:  # the first of each object
        for field, value in write.values.items():
            table.add_row(write.sobject, names.label(write.record_id), field,
                          _show(write.before.get(field), names), _show(value, names))  # fmt: skip
    console.print(table)
    if plan.total > len(shown):
        hidden = plan.total - len(shown)
        console.print(more(hidden, "syncd sync --dry-run --format csv", "more records"))


def _show(value: object, names: Directory) -> str:
    if value in (None, ""):
        return NOTHING
    if isinstance(value, str) and len(value) == 18 and names.name(value):
        return named(names.name(value), value)  # a lookup: the partner by name
    return str(value)
