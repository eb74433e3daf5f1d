"""`syncd scorecard` output: a ranked table, CSV or JSON (the HTML report is html_report)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from syncd.engine.scorecard import DEFINITIONS, LEADS, Card, Scorecard
from syncd.sync.insight import ScorecardReport

NUMBERS = (
    "deals", "compliant", "opened", "resolved", "open", "median_days_to_resolve",
    "comp_withheld_deals", "remedies_owed", "protected_deals",
)  # fmt: skip
AMOUNTS = ("comp_withheld_amount", "remedies_owed_amount")


PIPED_WIDTH = 240  # piped or redirected output is not wrapped at 80 columns


def unwrapped(console: Console) -> Console:
    """The console itself on a terminal; a wide one writing to the same file otherwise."""
    return console if console.is_terminal else Console(file=console.file, width=PIPED_WIDTH)


def percent(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 2)


def amount(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def card_row(card: Card) -> dict[str, Any]:
    """A card as flat values (CSV columns, JSON objects)."""
    row: dict[str, Any] = {"rank": card.rank, "subject_id": card.subject_id, "subject": card.name}
    row["compliance_percent"] = percent(card.compliance_rate)
    row.update({name: getattr(card, name) for name in NUMBERS})
    row.update({name: amount(getattr(card, name)) for name in AMOUNTS})
    row.update({f"pipeline_{lead.lower()}": amount(card.pipeline[lead]) for lead in LEADS})
    return row


def as_json(report: ScorecardReport, dimension: str) -> dict[str, Any]:
    card = report.by[dimension]
    period = report.period
    return {
        "dimension": dimension,
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "as_of": period.as_of.isoformat(),
        "open_period": period.is_open,
        "policy_version": report.policy_version,
        "cards": [_with_codes(c) for c in card.cards],
        "total": _with_codes(card.total),
        "definitions": DEFINITIONS,
    }


def _with_codes(card: Card) -> dict[str, Any]:
    row = card_row(card)
    row["violations_by_code"] = {
        code: {"opened": c.opened, "resolved": c.resolved, "open": c.open}
        for code, c in card.by_code.items()
    }
    return row


def write_csv(out: IO[str], scorecard: Scorecard) -> None:
    codes = sorted({code for c in (*scorecard.cards, scorecard.total) for code in c.by_code})
    rows = []
    for card in (*scorecard.cards, scorecard.total):
        row = card_row(card)
        for code in codes:
            found = card.by_code.get(code)
            for kind in ("opened", "resolved", "open"):
                row[f"{code}_{kind}"] = getattr(found, kind) if found else 0
        rows.append(row)
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def render(console: Console, report: ScorecardReport, dimension: str, fmt: str) -> None:
    if fmt == "json":
        console.file.write(json.dumps(as_json(report, dimension), indent=2) + "\n")
    elif fmt == "csv":
        write_csv(console.file, report.by[dimension])
    else:
        print_table(console, report, dimension)


def title(report: ScorecardReport, dimension: str) -> str:
    period = report.period
    state = "so far" if period.is_open else "closed"
    return (
        f"Scorecard by {dimension} — {period.label} ({period.start:%Y-%m-%d} to "
        f"{period.as_of:%Y-%m-%d}, {state}) · policy {report.policy_version}"
    )


def print_table(console: Console, report: ScorecardReport, dimension: str) -> None:
    scorecard = report.by[dimension]
    table = Table(title=title(report, dimension), title_justify="left", show_edge=False)
    for name, justify in (("#", "right"), (dimension, "left"), ("deals", "right"),
                          ("compliance", "right"), ("opened", "right"), ("resolved", "right"),
                          ("open", "right"), ("median days", "right"),
                          ("comp withheld", "right"), ("remedies owed", "right"),
                          ("protected", "right"), ("pipeline D / P / J", "right")):  # fmt: skip
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for card in scorecard.cards:
        table.add_row(*_cells(card, str(card.rank)))
    table.add_section()
    table.add_row(*_cells(scorecard.total, ""), style="bold")
    console.print(table)
    codes = scorecard.total.by_code
    if codes:
        console.print("\n[bold]Violations by code[/bold] (opened / resolved / open)")
        for code, c in codes.items():
            console.print(f"  {code}: {c.opened} / {c.resolved} / {c.open}", highlight=False)
    console.print(
        "[dim]compliance = deals under the rules with no enforced violation ÷ deals under "
        "the rules; see README, Scorecards, for every figure[/dim]"
    )


def _cells(card: Card, rank: str) -> list[str]:
    rate = percent(card.compliance_rate)
    days = card.median_days_to_resolve
    pipeline = " / ".join(_money(card.pipeline[lead]) for lead in LEADS)
    return [
        rank,
        card.name,
        str(card.deals),
        "–" if rate is None else f"{rate:.1f} %",
        str(card.opened),
        str(card.resolved),
        str(card.open),
        "–" if days is None else f"{days:.1f}",
        f"{card.comp_withheld_deals} · {_money(card.comp_withheld_amount)}",
        f"{card.remedies_owed} · {_money(card.remedies_owed_amount)}",
        str(card.protected_deals),
        pipeline,
    ]


def _money(value: Decimal) -> str:
    return f"{value:,.0f}"
