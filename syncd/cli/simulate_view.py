"""`syncd simulate` output: a summary and the records that change (table), JSON, or HTML."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from syncd.engine.whatif import Money, RecordChange
from syncd.sync.simulate import Simulation

LEVELS = {0: "exception review", 1: "warning", 2: "compensation review", 3: "termination review"}
TABLE_ROWS = 40  # records listed in the terminal; --format json has them all


def transitions(changes: tuple[RecordChange, ...], field: str) -> Counter[str]:
    return Counter(
        f"{c.changes[field][0] or '–'} → {c.changes[field][1] or '–'}"
        for c in changes
        if field in c.changes
    )


def level_name(level: int) -> str:
    return f"{level} {LEVELS.get(level, '')}".strip() if level else LEVELS[0]


def summary(sim: Simulation) -> dict[str, Any]:
    """Every figure of the report, as plain values (JSON, and the table's lines)."""
    w = sim.whatif
    snapshot = sim.state.snapshot
    return {
        "as_of": sim.as_of.isoformat(),
        "current_rules": sim.current_version,
        "candidate_rules": sim.candidate_version,
        "org": {"accounts": len(snapshot.accounts), "deals": len(snapshot.opportunities)},
        "api_calls": 0,
        "records_changing": {"accounts": len(w.accounts), "deals": len(w.deals)},
        "cycle_writes": {"candidate": sim.writes, "drift": sim.drift},
        "deal_lead": dict(transitions(w.deals, "lead")),
        "deal_status": dict(transitions(w.deals, "status")),
        "account_lead": dict(transitions(w.accounts, "lead")),
        "violations_appear": {"total": len(w.appear), **_by(w.appear_by)},
        "violations_disappear": {"total": len(w.disappear), **_by(w.disappear_by)},
        "tasks_open": {
            "total": len(w.tasks_opened),
            "by_level": {level_name(k): n for k, n in sorted(w.levels.items())},
        },
        "tasks_close": len(w.tasks_closed),
        "compensation": {
            "withheld_deals": len(w.withheld),
            "withheld_amount": _sum(sim, w.withheld),
            "released_deals": len(w.released),
            "released_amount": _sum(sim, w.released),
            "today": _money(w.comp_today),
            "candidate": _money(w.comp_candidate),
        },
        "remedies_owed": {
            "today": _money(w.remedies_today),
            "candidate": _money(w.remedies_candidate),
        },
    }


def as_json(sim: Simulation) -> dict[str, Any]:
    w = sim.whatif
    return {
        **summary(sim),
        "records": [_record(c) for c in (*w.accounts, *w.deals)],
        "tasks_opened": [
            {
                "key": e.key,
                "deal": _deal_name(sim, e.opportunity_id),
                "code": e.code,
                "level": e.level,
                "owner_id": e.owner_id,
                "priority": e.priority,
            }
            for e in w.tasks_opened
        ],
        "tasks_closed": [
            {"key": c.entry.key, "deal": _deal_name(sim, c.entry.opportunity_id), "note": c.note}
            for c in w.tasks_closed
        ],
    }


def render(console: Console, sim: Simulation, fmt: str) -> None:
    if fmt == "json":
        console.file.write(json.dumps(as_json(sim), indent=2, default=str) + "\n")
        return
    for line in lines(sim):
        console.print(line, highlight=False)
    records = (*sim.whatif.accounts, *sim.whatif.deals)
    if not records:
        return
    table = Table(title=f"Records that change ({len(records)})", title_justify="left")
    for column in ("object", "record", "field", "today", "candidate"):
        table.add_column(column, overflow="fold")
    for change in records[:TABLE_ROWS]:
        for field, (before, after) in change.changes.items():
            table.add_row(change.sobject, f"{change.name} ({change.record_id})", field,
                          _show(before), _show(after))  # fmt: skip
    console.print(table)
    if len(records) > TABLE_ROWS:
        console.print(
            f"… and {len(records) - TABLE_ROWS} more records: --format json lists them all."
        )


def lines(sim: Simulation) -> list[str]:
    s = summary(sim)
    comp, rem = s["compensation"], s["remedies_owed"]
    return [
        f"[bold]What if[/bold] rules {s['current_rules']} → {s['candidate_rules']}, as of "
        f"{sim.as_of:%Y-%m-%d %H:%M} UTC, on the org as the last cycle read it "
        f"({s['org']['accounts']:,} accounts, {s['org']['deals']:,} deals; 0 API calls)",
        f"Records that change: {len(sim.whatif.accounts)} accounts, {len(sim.whatif.deals)} deals"
        f" — a cycle under the candidate writes {sim.writes} records"
        + (f" ({sim.drift} of them today's rules would write anyway)" if sim.drift else ""),
        "Deal lead: " + _counts(s["deal_lead"]),
        "Deal status: " + _counts(s["deal_status"]),
        "Account lead: " + _counts(s["account_lead"]),
        "Violations that appear: " + _violations(s["violations_appear"]),
        "Violations that disappear: " + _violations(s["violations_disappear"]),
        f"Tasks that open: {s['tasks_open']['total']}"
        + (f" ({_counts(s['tasks_open']['by_level'])})" if s["tasks_open"]["total"] else "")
        + f"; Tasks that close: {s['tasks_close']}",
        f"Compensation: withheld on {comp['withheld_deals']} more deals "
        f"({comp['withheld_amount']:,.2f}), released on {comp['released_deals']} "
        f"({comp['released_amount']:,.2f}); withheld in all: {_pair(comp)}",
        f"Remedies owed to partners: {_pair(rem)}",
    ]


def _by(counted: Mapping[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {f"by_{k}": dict(v.most_common()) for k, v in counted.items()}


def _violations(found: dict[str, Any]) -> str:
    if not found["total"]:
        return "none"
    names = ("by_code", "by_rep", "by_partner", "by_region")
    parts = [f"{n.removeprefix('by_')}: {_counts(found[n], 4)}" for n in names if found[n]]
    return f"{found['total']} — " + "; ".join(parts)


def _counts(counts: Mapping[str, int], top: int = 6) -> str:
    if not counts:
        return "no change"
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k} {n}" for k, n in items[:top])
    return shown + (f", … {len(items) - top} more" if len(items) > top else "")


def _money(money: Money) -> dict[str, Any]:
    return {"deals": money.deals, "amount": float(money.amount)}


def _pair(pair: dict[str, Any]) -> str:
    today, cand = pair["today"], pair["candidate"]
    return (
        f"{today['deals']} ({today['amount']:,.2f}) today → "
        f"{cand['deals']} ({cand['amount']:,.2f}) under the candidate"
    )


def _sum(sim: Simulation, keys: tuple[str, ...]) -> float:
    deals = sim.state.snapshot.opportunities
    total = sum((deals[k].amount or Decimal(0) for k in keys if k in deals), Decimal(0))
    return float(total)


def _record(change: RecordChange) -> dict[str, Any]:
    return {
        "object": change.sobject,
        "id": change.record_id,
        "name": change.name,
        "changes": {k: {"today": a, "candidate": b} for k, (a, b) in change.changes.items()},
    }


def _deal_name(sim: Simulation, key: str) -> str:
    opp = sim.state.snapshot.opportunities.get(key)
    return opp.name if opp is not None else key


def _show(value: object) -> str:
    return "–" if value in (None, "") else str(value)
