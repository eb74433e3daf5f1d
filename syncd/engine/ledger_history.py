"""The violation ledger's moves in one cycle, as decision-history events. Pure.

An occurrence opened (with its level and Task owner), resolved (with why), a Task created
on retry, adopted from the org by its key, or closed there by a person: what the entries
a cycle saves changed against the ledger it found.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from syncd.engine.enforcement import LedgerEntry
from syncd.engine.history import OPPORTUNITY, HistoryEvent, Kind, Stamp


def ledger_events(
    stamp: Stamp,
    before: Mapping[str, LedgerEntry],
    saved: Iterable[LedgerEntry],
    adopted: Collection[str],
    accounts: Mapping[str, str | None],
) -> list[HistoryEvent]:
    """The ledger's moves this cycle: what ``saved`` changed against ``before`` (by key).

    ``adopted``: keys of entries learned from the org's Tasks this cycle; ``accounts``:
    deal -> its account (for the account's timeline).
    """
    latest = {e.key: e for e in saved}  # the last word on a key wins, as in the store
    events = []
    for key, entry in latest.items():
        for kind in _ledger_kinds(before.get(key), entry, key in adopted):
            events.append(
                HistoryEvent(
                    sobject=OPPORTUNITY,
                    record_id=entry.opportunity_id,
                    kind=kind,
                    at=stamp.at,
                    run_id=stamp.run_id,
                    policy_version=stamp.policy_version,
                    account_id=accounts.get(entry.opportunity_id),
                    codes=(entry.code,),
                    data=_entry_facts(entry, kind),
                )
            )
    return events


def _ledger_kinds(was: LedgerEntry | None, now: LedgerEntry, adopted: bool) -> list[Kind]:
    if was is None:
        return [Kind.TASK_ADOPTED if adopted else Kind.OCCURRENCE_OPENED]
    kinds = []
    if was.task_id is None and now.task_id is not None:
        kinds.append(Kind.TASK_ADOPTED if adopted else Kind.TASK_CREATED)
    if was.resolved_at is None and now.resolved_at is not None:
        kinds.append(Kind.OCCURRENCE_RESOLVED)
    elif not was.task_closed and now.task_closed and adopted:
        kinds.append(Kind.TASK_CLOSED_IN_ORG)
    return kinds


def _entry_facts(entry: LedgerEntry, kind: Kind) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "key": entry.key,
        "kind": entry.kind,
        "code": entry.code,
        "occurrence": entry.occurrence,
        "level": entry.level,
        "owner_id": entry.owner_id,
        "rep_id": entry.rep_id,
        "task_id": entry.task_id,
    }
    if kind is Kind.OCCURRENCE_OPENED:
        facts.update(
            partner_id=entry.partner_id,
            priority=entry.priority,
            due=entry.due.isoformat() if entry.due else None,
            remedy=entry.remedy,
        )
    if kind is Kind.OCCURRENCE_RESOLVED:
        facts["resolution"] = entry.resolution
    if kind is Kind.TASK_ADOPTED:
        facts["task_closed"] = entry.task_closed
    return facts
