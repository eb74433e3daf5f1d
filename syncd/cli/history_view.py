"""`syncd history` and `syncd explain --at`: a record's decision history in words.

Every event is said the way a channel-operations admin would say it — who did what, when,
and what it changed — with names from the mirror next to the Ids the history keeps.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from syncd.cli.names import Directory
from syncd.cli.words import LIST_LIMIT, NOTHING, amount, day, moment, more, named, plain
from syncd.engine.history import (
    ACCOUNT_FLAGS,
    OPPORTUNITY,
    OPPORTUNITY_FLAGS,
    PEOPLE,
    HistoryEvent,
    Kind,
    deciding,
    flags_at,
    happened,
)

FLAG_LABELS = {
    "lead": "lead",
    "lead_partner_id": "lead partner",
    "expected_lead": "lead",
    "protected_partner_id": "protected partner",
    "status": "status",
    "comp_eligible": "compensation",
    "remedy": "remedy",
    "reason": "reason",
}
_PARTNERS = frozenset({"lead_partner_id", "protected_partner_id"})
CSV_COLUMNS = ("at", "record_id", "record_name", "kind", "what", "who", "acted_at", "details",
               "codes", "policy_version", "run_id")  # fmt: skip


def flag_value(flag: str, value: Any, names: Directory) -> str:
    if flag in _PARTNERS:
        return names.name(value) or plain(value)
    if flag == "comp_eligible":
        return {True: "eligible", False: "withheld"}.get(value, NOTHING)
    return plain(value)


def _changes(event: HistoryEvent, names: Directory, brief: bool) -> str:
    """``status Violation → Review; compensation eligible → withheld``. ``brief``: the
    reason text is left out (the codes say it) unless it is all that changed."""
    parts = []
    for flag, (was, now) in event.changes.items():
        if flag == "reason":
            if not brief or len(event.changes) == 1:
                parts.append(f"reason now “{plain(now)}”")
            continue
        label = FLAG_LABELS.get(flag, flag)
        parts.append(f"{label} {flag_value(flag, was, names)} → {flag_value(flag, now, names)}")
    return "; ".join(parts)


def describe(event: HistoryEvent, names: Directory, *, brief: bool = False) -> tuple[str, str]:
    """(what happened, the details) in words; ``brief`` for tables."""
    d, kind = event.data, event.kind
    if kind in (Kind.DECIDED, Kind.RESTORED, Kind.EDITED_BY_HAND):
        what = {Kind.DECIDED: "decided", Kind.RESTORED: "syncd restored its flags",
                Kind.EDITED_BY_HAND: "flags edited by hand"}[kind]  # fmt: skip
        codes = f" [{', '.join(event.codes)}]" if event.codes else ""
        return what, _changes(event, names, brief) + codes
    if kind is Kind.OVERRIDE_SET:
        reason = _quoted(d.get("reason"), "no reason given")
        return "override set", f"lead {d.get('lead')}: {reason}"
    if kind is Kind.OVERRIDE_REMOVED:
        return "override removed", f"it set lead {d.get('lead')}"
    if kind is Kind.EXCEPTION_REQUESTED:
        return "exception requested", _quoted(d.get("reason"), "no reason given")
    if kind is Kind.EXCEPTION_WITHDRAWN:
        return "exception request withdrawn", _quoted(d.get("reason"), "")
    if kind is Kind.EXCEPTION_DECIDED:
        return f"exception {str(d.get('decision')).lower()}", _quoted(d.get("reason"), "no reason")
    if kind is Kind.EXCEPTION_DECISION_REMOVED:
        return "exception decision cleared", f"it was {d.get('decision')}"
    return _ledger_words(event, names)


def _ledger_words(event: HistoryEvent, names: Directory) -> tuple[str, str]:
    d, kind = event.data, event.kind
    review = d.get("kind") == "review"
    occurrence = f"{d.get('code')} #{d.get('occurrence')}"
    owner = names.name(d.get("owner_id")) or d.get("owner_id") or "the integration user"
    if kind is Kind.OCCURRENCE_OPENED:
        task = f"Task for {owner} ({d.get('priority')}, due {d.get('due') or NOTHING})"
        if not d.get("task_id"):
            task += ", not created yet: retried next cycle"
        if review:
            return "exception review opened", task
        remedy = f"; remedy {d['remedy']}" if d.get("remedy") else ""
        return "violation opened", f"{occurrence}, level {d.get('level')}; {task}{remedy}"
    if kind is Kind.OCCURRENCE_RESOLVED:
        what = "exception review closed" if review else "violation resolved"
        return what, f"{occurrence}: {d.get('resolution') or 'resolved'}"
    if kind is Kind.TASK_CREATED:
        return "Task created", f"{occurrence}, for {owner}"
    if kind is Kind.TASK_ADOPTED:
        closed = " (already closed)" if d.get("task_closed") else ""
        return "Task found in Salesforce", f"{occurrence}, by its key{closed}"
    if kind is Kind.TASK_CLOSED_IN_ORG:
        return "Task closed in Salesforce", occurrence
    return str(kind), ""


def _quoted(text: Any, otherwise: str) -> str:
    return f"“{text}”" if text else otherwise


def who(event: HistoryEvent, names: Directory) -> str:
    if event.kind in PEOPLE:
        return names.name(event.actor_id) or event.actor_id or "someone"
    return "syncd"


def header(record_id: str, names: Directory) -> str:
    deal = names.deals.get(record_id)
    if deal is not None:
        account = names.accounts.get(deal.account_id or "")
        bits = [
            f"Deal {named(deal.name, record_id)}",
            f"account {account.name if account else deal.account_id or NOTHING}",
            f"owner {names.name(deal.owner_id) or deal.owner_id or NOTHING}",
            amount(deal.amount, deal.currency),
            f"closes {day(deal.close_date)}",
        ]
        return " · ".join(bits)
    account = names.accounts.get(record_id)
    if account is not None:
        return f"Account {named(account.name, record_id)} · its own events and its deals'"
    return f"Record {record_id} (not in the mirror of the last cycle)"


# -- syncd history ID ---------------------------------------------------------------------


def as_row(event: HistoryEvent, names: Directory) -> dict[str, Any]:
    what, details = describe(event, names)
    return {
        "at": event.at.isoformat(),
        "record_id": event.record_id,
        "record_name": names.name(event.record_id),
        "sobject": event.sobject,
        "account_id": event.account_id,
        "kind": event.kind.value,
        "what": what,
        "who": who(event, names),
        "actor_id": event.actor_id,
        "acted_at": event.acted_at.isoformat() if event.acted_at else None,
        "details": details,
        "changes": {k: {"was": v[0], "now": v[1]} for k, v in event.changes.items()},
        "codes": list(event.codes),
        "data": dict(event.data),
        "policy_version": event.policy_version,
        "run_id": event.run_id,
    }


def render_history(
    console: Console,
    record_id: str,
    events: Sequence[HistoryEvent],
    names: Directory,
    fmt: str,
    *,
    everything: str,
) -> None:
    """The timeline, oldest first; a long one shows its latest LIST_LIMIT events."""
    if fmt == "json":
        console.file.write(json.dumps([as_row(e, names) for e in events], indent=2) + "\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(
            console.file, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for event in events:
            writer.writerow({**as_row(event, names), "codes": " ".join(event.codes)})
        return
    console.print(header(record_id, names), highlight=False)
    if not events:
        console.print("No change recorded (the history keeps changes only).")
        return
    hidden = max(0, len(events) - LIST_LIMIT)
    if hidden:
        console.print(more(hidden, everything, "earlier events"), highlight=False)
    console.print(_timeline(events[hidden:], names, record_id))


def _timeline(events: Sequence[HistoryEvent], names: Directory, record_id: str) -> Table:
    several = any(e.record_id != record_id for e in events)
    table = Table(show_edge=False, box=None, padding=(0, 1), show_header=True)
    table.add_column("when", no_wrap=True)
    if several:
        table.add_column("record", max_width=30)
    table.add_column("who", max_width=22)
    table.add_column("what", no_wrap=True)
    table.add_column("details", overflow="fold", min_width=30)  # what is left of the width
    for event in events:
        what, details = describe(event, names, brief=True)
        deal = (names.name(event.record_id) or event.record_id,) if several else ()
        table.add_row(moment(happened(event)), *deal, who(event, names), what, details)
    return table


# -- syncd explain ID --at TIMESTAMP --------------------------------------------------------


def render_past(
    console: Console,
    record_id: str,
    events: Sequence[HistoryEvent],
    at: datetime,
    now: Mapping[str, Any],
    names: Directory,
    fmt: str,
) -> None:
    """What syncd's flags were at ``at``, what decided them, what changed since."""
    own = [e for e in events if e.record_id == record_id]
    then = flags_at(own, at, now)
    decision = deciding(own, at)
    later = [e for e in own if happened(e) > at]
    if fmt == "json":
        console.file.write(json.dumps(_past_json(record_id, at, then, now, decision, later, names),
                                      indent=2) + "\n")  # fmt: skip
        return
    console.print(f"{header(record_id, names)}\nas of {moment(at)}", highlight=False)
    deal = record_id in names.deals or bool(own and own[0].sobject == OPPORTUNITY)
    flags = OPPORTUNITY_FLAGS if deal else ACCOUNT_FLAGS
    table = Table(show_edge=False, box=None, padding=(0, 2))
    for column in ("flag", "then", "now"):
        table.add_column(column, overflow="fold")
    for flag in flags:
        table.add_row(FLAG_LABELS[flag], flag_value(flag, then.get(flag), names),
                      flag_value(flag, now.get(flag), names))  # fmt: skip
    console.print(table)
    console.print(_decided_line(decision, own), highlight=False)
    if later:
        console.print(f"Changed since ({len(later)}):")
        console.print(_timeline(later[-LIST_LIMIT:], names, record_id))
    else:
        console.print("Nothing changed since.")


def _decided_line(decision: HistoryEvent | None, own: Sequence[HistoryEvent]) -> str:
    if decision is None:
        start = f" (it starts {moment(own[0].at)})" if own else ""
        return f"No decision recorded by then{start}: the flags were as syncd first found them."
    return (
        f"Decided {moment(decision.at)} by run {decision.run_id[:8]} under policy "
        f"{decision.policy_version}: {', '.join(decision.codes) or 'no codes'}"
    )


def _past_json(
    record_id: str,
    at: datetime,
    then: Mapping[str, Any],
    now: Mapping[str, Any],
    decision: HistoryEvent | None,
    later: Sequence[HistoryEvent],
    names: Directory,
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "record_name": names.name(record_id),
        "at": at.isoformat(),
        "flags_then": dict(then),
        "flags_now": dict(now),
        "decided_by": as_row(decision, names) if decision else None,
        "changed_since": [as_row(e, names) for e in later],
    }
