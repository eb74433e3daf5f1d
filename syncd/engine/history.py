"""The decision history: what changed in one cycle, as events. Pure.

Only changes become events: a cycle over an unchanged org yields none. Everything comes
from what the cycle already holds — its landed writes (with what the fields held when
planned), the records it saw change (as the previous cycle left them and as read now),
and the ledger entries it saves — so recording history costs no API call and never
compares the whole org again.

Flags are named by the domain (``status``, ``expected_lead``, ``protected_partner_id``,
…), never by Salesforce field: ``syncd.sync.audit`` translates at the edge. People's
actions (an override, an exception request or decision, a hand edit of a flag) carry who
and when as Salesforce reported them: the record's last modifier and SystemModstamp when
syncd read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from syncd.engine.domain import Opportunity

ACCOUNT, OPPORTUNITY = "Account", "Opportunity"
# syncd's decision flags (the mapping's write attributes); other fields it writes (the
# resync and exception-request boxes it clears) are not decisions.
ACCOUNT_FLAGS = ("lead", "lead_partner_id", "reason")
OPPORTUNITY_FLAGS = (
    "expected_lead",
    "protected_partner_id",
    "status",
    "comp_eligible",
    "remedy",
    "reason",
)
REQUEST_BOX = "exception_requested"  # written by syncd only to clear a rejected request

Flags = Mapping[str, Any]
_NONE: Mapping[str, Any] = MappingProxyType({})


class Kind(StrEnum):
    DECIDED = "decided"  # syncd changed its flags: a new decision
    EDITED_BY_HAND = "edited_by_hand"  # someone changed syncd's flags in Salesforce
    RESTORED = "restored"  # syncd wrote its decision back over such an edit
    OVERRIDE_SET = "override_set"
    OVERRIDE_REMOVED = "override_removed"
    EXCEPTION_REQUESTED = "exception_requested"
    EXCEPTION_WITHDRAWN = "exception_withdrawn"
    EXCEPTION_DECIDED = "exception_decided"
    EXCEPTION_DECISION_REMOVED = "exception_decision_removed"
    OCCURRENCE_OPENED = "occurrence_opened"  # a violation (or review) entered the ledger
    OCCURRENCE_RESOLVED = "occurrence_resolved"
    TASK_CREATED = "task_created"  # the Task of an earlier occurrence landed (a retry)
    TASK_ADOPTED = "task_adopted"  # a Task found in the org by its key
    TASK_CLOSED_IN_ORG = "task_closed_in_org"  # a person closed the Task in Salesforce


PEOPLE = frozenset(
    {
        Kind.EDITED_BY_HAND,
        Kind.OVERRIDE_SET,
        Kind.OVERRIDE_REMOVED,
        Kind.EXCEPTION_REQUESTED,
        Kind.EXCEPTION_WITHDRAWN,
        Kind.EXCEPTION_DECIDED,
        Kind.EXCEPTION_DECISION_REMOVED,
        Kind.TASK_CLOSED_IN_ORG,
    }
)  # what people did; the rest is syncd's doing


@dataclass(frozen=True, slots=True)
class Stamp:
    """The cycle an event belongs to: its run, its one clock reading, its policy."""

    run_id: str
    at: datetime
    policy_version: str
    syncd_user: str | None = None  # the integration user syncd writes as


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    sobject: str  # ACCOUNT or OPPORTUNITY
    record_id: str
    kind: Kind
    at: datetime  # the cycle's now
    run_id: str
    policy_version: str
    account_id: str | None = None  # a deal's account, so the account's timeline shows it
    changes: Mapping[str, tuple[Any, Any]] = field(
        default_factory=lambda: _NONE
    )  # flag: (was, now)
    codes: tuple[str, ...] = ()
    actor_id: str | None = None  # who, as Salesforce reported it (None: syncd itself)
    acted_at: datetime | None = None  # when, as Salesforce reported it
    data: Mapping[str, Any] = field(default_factory=lambda: _NONE)  # the kind's own facts


@dataclass(frozen=True, slots=True)
class Seen:
    """One record as this cycle found it, decided it and wrote it."""

    sobject: str
    record_id: str
    account_id: str | None = None
    codes: tuple[str, ...] = ()  # the decision's reason codes (when decided this cycle)
    written: Flags | None = None  # what syncd's landed write set, by flag
    held: Flags = field(default_factory=lambda: _NONE)  # syncd's fields as read this cycle
    known: Flags | None = None  # as syncd last knew them (None: never seen before)
    before: Opportunity | None = None  # the deal as the previous cycle left it
    after: Opportunity | None = None  # the deal as read this cycle


def record_events(stamp: Stamp, seen: Seen) -> list[HistoryEvent]:
    """What happened to one record this cycle, in the order it happened."""
    made = _Maker(stamp, seen)
    events = [made(kind, data=data) for kind, data in _people(seen)]
    edited = _hand_edits(seen)
    if edited and _own_write(stamp, seen):
        # syncd's own write, landed by a cycle that died before it could commit: a decision
        events.append(made(Kind.DECIDED, changes=edited, by_syncd=True, codes=seen.codes))
        seen, edited = replace(seen, known=seen.held), {}
    if edited:
        events.append(made(Kind.EDITED_BY_HAND, changes=edited))
    if seen.written:
        restored, decided = _written(seen, edited)
        if restored:
            events.append(made(Kind.RESTORED, changes=restored, by_syncd=True))
        if decided:
            events.append(made(Kind.DECIDED, changes=decided, by_syncd=True, codes=seen.codes))
    return events


class _Maker:
    def __init__(self, stamp: Stamp, seen: Seen) -> None:
        self.stamp, self.seen = stamp, seen

    def __call__(
        self,
        kind: Kind,
        *,
        changes: Mapping[str, tuple[Any, Any]] = _NONE,
        data: Mapping[str, Any] = _NONE,
        codes: tuple[str, ...] = (),
        by_syncd: bool = False,
    ) -> HistoryEvent:
        seen, after = self.seen, self.seen.after
        person = not by_syncd and after is not None
        return HistoryEvent(
            sobject=seen.sobject,
            record_id=seen.record_id,
            kind=kind,
            at=self.stamp.at,
            run_id=self.stamp.run_id,
            policy_version=self.stamp.policy_version,
            account_id=seen.account_id,
            changes=changes,
            codes=codes,
            actor_id=after.last_modified_by if person and after else None,
            acted_at=after.last_modified_at if person and after else None,
            data=data,
        )


def _flags(seen: Seen) -> tuple[str, ...]:
    return ACCOUNT_FLAGS if seen.sobject == ACCOUNT else OPPORTUNITY_FLAGS


def _own_write(stamp: Stamp, seen: Seen) -> bool:
    who = seen.after.last_modified_by if seen.after is not None else None
    return who is not None and who == stamp.syncd_user


def _hand_edits(seen: Seen) -> dict[str, tuple[Any, Any]]:
    """Flags whose value in the org is no longer what syncd last knew: a person's edit."""
    if seen.known is None:
        return {}
    return {
        name: (seen.known.get(name), seen.held.get(name))
        for name in _flags(seen)
        if name in seen.held and not same(seen.known.get(name), seen.held.get(name))
    }


def _written(
    seen: Seen, edited: Mapping[str, tuple[Any, Any]]
) -> tuple[dict[str, tuple[Any, Any]], dict[str, tuple[Any, Any]]]:
    """(flags put back as syncd had them, flags a new decision changed)."""
    restored: dict[str, tuple[Any, Any]] = {}
    decided: dict[str, tuple[Any, Any]] = {}
    last = seen.known if seen.known is not None else seen.held
    for name in _flags(seen):
        if seen.written is None or name not in seen.written:
            continue
        value = seen.written[name]
        if name in edited and same(value, edited[name][0]):
            restored[name] = (edited[name][1], value)
        elif not same(last.get(name), value):
            decided[name] = (last.get(name), value)
    return restored, decided


def _people(seen: Seen) -> Iterator[tuple[Kind, dict[str, Any]]]:
    """People's actions on a deal: override, exception request, exception decision."""
    was, now = seen.before, seen.after
    if was is None or now is None:
        return
    if (was.override_lead, was.override_reason) != (now.override_lead, now.override_reason):
        if now.override_lead:
            yield Kind.OVERRIDE_SET, {"lead": now.override_lead, "reason": now.override_reason}
        elif was.override_lead:
            yield Kind.OVERRIDE_REMOVED, {"lead": was.override_lead}
    if now.exception_requested and not was.exception_requested:
        yield Kind.EXCEPTION_REQUESTED, {"reason": now.exception_reason}
    elif was.exception_requested and not now.exception_requested and not _syncd_cleared(seen):
        yield Kind.EXCEPTION_WITHDRAWN, {"reason": was.exception_reason}
    decision = (now.exception_decision, now.exception_decision_reason)
    if (was.exception_decision, was.exception_decision_reason) != decision:
        if now.exception_decision:
            yield Kind.EXCEPTION_DECIDED, {"decision": decision[0], "reason": decision[1]}
        elif was.exception_decision:
            yield Kind.EXCEPTION_DECISION_REMOVED, {"decision": was.exception_decision}


def _syncd_cleared(seen: Seen) -> bool:
    """The request box went blank because syncd cleared it (a rejected request)."""
    return seen.known is not None and seen.known.get(REQUEST_BOX) is False


def same(was: Any, now: Any) -> bool:
    """Salesforce reads back an empty text as null, a checkbox as a boolean."""
    if was == now:
        return True
    if was in ("", None) and now in ("", None):
        return True
    if isinstance(was, str) and isinstance(now, bool):
        return was.lower() == str(now).lower()
    if isinstance(now, str) and isinstance(was, bool):
        return now.lower() == str(was).lower()
    return bool(was == now)


# -- reading the history back ---------------------------------------------------------


def happened(event: HistoryEvent) -> datetime:
    """When it happened: as Salesforce reported a person's action, else when syncd acted."""
    return event.acted_at or event.at


def flags_at(
    events: Iterable[HistoryEvent], moment: datetime, now: Mapping[str, Any]
) -> dict[str, Any]:
    """A record's flags at ``moment``: today's values with every later change undone.

    ``events``: the record's own, oldest first. Working back from the present means a
    record whose history starts after ``moment`` still answers with what syncd found.
    """
    flags = dict(now)
    for event in reversed(list(events)):
        if happened(event) > moment:
            for name, (was, _) in event.changes.items():
                flags[name] = was
    return flags


def deciding(events: Iterable[HistoryEvent], moment: datetime) -> HistoryEvent | None:
    """The last decision recorded at or before ``moment`` (its codes, policy and run)."""
    found = None
    for event in events:
        if event.kind is Kind.DECIDED and event.at <= moment:
            found = event
    return found
