"""Enforcement: reconcile the engine's violations with the ledger. Pure.

Each violation *occurrence* (a deal, a code, an occurrence number) gets exactly one Task,
keyed by an idempotency key stored in Task.RoE_Key__c. The key is derived from the ledger
alone, so a cycle that dies after creating a Task and before committing the ledger
computes the same key next time, and the upsert by key finds the Task it already made.

Escalation counts a rep's occurrences over a rolling window (resolved ones count too):
the n-th within the window takes the n-th rung of the ladder (capped at the top rung).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from syncd.engine.domain import Decisions, OpportunityDecision, Snapshot, Status, User, Violation

REVIEW_CODE = "EXCEPTION_REQUESTED"


@dataclass(frozen=True, slots=True)
class Rung:
    level: int
    action: str  # warning / compensation_review / termination_review
    owner: str  # manager / channel_chief / channel_ops
    priority: str  # Task.Priority: Normal / High


@dataclass(frozen=True, slots=True)
class EnforcementRules:
    """The parts of the policy enforcement needs (built from Policy by the cycle)."""

    window_days: int
    ladder: tuple[Rung, ...]
    sticky_codes: frozenset[str]
    channel_ops_user_id: str | None
    channel_chief_user_id: str | None
    due_days: Mapping[str, int]  # Task.Priority -> days until due


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    key: str
    kind: str  # violation / review
    opportunity_id: str
    code: str
    occurrence: int
    rep_id: str | None
    partner_id: str | None
    level: int
    owner_id: str | None
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    task_id: str | None = None
    description: str = ""

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class TaskSpec:
    key: str
    what_id: str
    owner_id: str | None
    subject: str
    description: str
    priority: str
    due: date


@dataclass(frozen=True, slots=True)
class Closure:
    entry: LedgerEntry  # already marked resolved
    note: str


@dataclass(frozen=True, slots=True)
class Enforcement:
    opened: tuple[tuple[LedgerEntry, TaskSpec], ...]
    closed: tuple[Closure, ...]
    seen: tuple[LedgerEntry, ...]  # still open, last_seen moved
    comp_holds: frozenset[str]  # opportunity Ids whose compensation stays withheld


def occurrence_key(opportunity_id: str, code: str, occurrence: int) -> str:
    return f"{opportunity_id}:{code}:{occurrence}"[:80]  # Task.RoE_Key__c is text(80)


def reconcile(
    history: Sequence[LedgerEntry],
    decisions: Decisions,
    snapshot: Snapshot,
    rules: EnforcementRules,
    now: datetime,
    *,
    scope: Collection[str] | None = None,
    gone: Mapping[str, str] | None = None,
) -> Enforcement:
    """Open, keep and close ledger entries against the decisions.

    ``scope``: the deals this (incremental) cycle decided; entries of other deals stand
    as they are. None means every deal in the snapshot was decided. ``gone``: deals
    deleted or merged away (Id -> how), whose open entries close.
    """
    gone = gone or {}
    open_by_slot = {(e.opportunity_id, e.code): e for e in history if e.is_open}
    last_occurrence: dict[tuple[str, str], int] = defaultdict(int)
    for entry in history:
        slot = (entry.opportunity_id, entry.code)
        last_occurrence[slot] = max(last_occurrence[slot], entry.occurrence)
    counts = _recent_counts(history, now - timedelta(days=rules.window_days))

    wanted = dict(_standing(decisions))
    opened, seen = [], []
    for slot in sorted(wanted):
        violation, decision = wanted[slot]
        if slot in open_by_slot:
            seen.append(replace(open_by_slot[slot], last_seen=now))
            continue
        occurrence = last_occurrence[slot] + 1
        opened.append(_open(slot, occurrence, violation, decision, snapshot, rules, counts, now))

    decided = snapshot.opportunities if scope is None else scope
    closed = [
        Closure(
            replace(entry, resolved_at=now, last_seen=now),
            _why_resolved(entry, decisions, gone.get(entry.opportunity_id)),
        )
        for slot, entry in sorted(open_by_slot.items())
        if slot not in wanted and (entry.opportunity_id in decided or entry.opportunity_id in gone)
    ]
    holds = _comp_holds([*history, *(e for e, _ in opened)], decisions, rules.sticky_codes)
    return Enforcement(tuple(opened), tuple(closed), tuple(seen), holds)


def _standing(
    decisions: Decisions,
) -> Iterable[tuple[tuple[str, str], tuple[Violation | None, OpportunityDecision]]]:
    """(deal, code) slots that should have an open Task now."""
    for opp_id, decision in decisions.opportunities.items():
        if decision.enforced:
            for violation in decision.violations:
                yield (opp_id, violation.code), (violation, decision)
        if REVIEW_CODE in decision.reasons:
            yield (opp_id, REVIEW_CODE), (None, decision)


def _recent_counts(history: Iterable[LedgerEntry], since: datetime) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for entry in history:
        if entry.kind == "violation" and entry.rep_id and entry.first_seen >= since:
            counts[entry.rep_id] += 1
    return counts


def _open(
    slot: tuple[str, str],
    occurrence: int,
    violation: Violation | None,
    decision: OpportunityDecision,
    snapshot: Snapshot,
    rules: EnforcementRules,
    counts: dict[str, int],
    now: datetime,
) -> tuple[LedgerEntry, TaskSpec]:
    opp_id, code = slot
    opp = snapshot.opportunities[opp_id]
    rep_id = opp.owner_id
    if violation is None:  # an exception request: a review for channel operations
        level, owner, priority, action = 0, rules.channel_ops_user_id, "Normal", "review"
    else:
        counts[rep_id or ""] += 1
        rung = _rung(rules.ladder, counts[rep_id or ""])
        level, priority, action = rung.level, rung.priority, rung.action
        owner = _owner(rung.owner, snapshot.users.get(rep_id or ""), snapshot, rules)
    key = occurrence_key(opp_id, code, occurrence)
    description = _describe(code, violation, decision, snapshot, action, level)
    entry = LedgerEntry(
        key=key,
        kind="review" if violation is None else "violation",
        opportunity_id=opp_id,
        code=code,
        occurrence=occurrence,
        rep_id=rep_id,
        partner_id=violation.partner_id if violation else None,
        level=level,
        owner_id=owner,
        first_seen=now,
        last_seen=now,
        description=description,
    )
    task = TaskSpec(
        key=key,
        what_id=opp_id,
        owner_id=owner,
        subject=f"[RoE] {code}: {opp.name}"[:255],
        description=description,
        priority=priority,
        due=now.date() + timedelta(days=rules.due_days.get(priority, 7)),
    )
    return entry, task


def _rung(ladder: Sequence[Rung], count: int) -> Rung:
    ordered = sorted(ladder, key=lambda r: r.level)
    return ordered[min(count, len(ordered)) - 1]


def _owner(who: str, rep: User | None, snapshot: Snapshot, rules: EnforcementRules) -> str | None:
    if who == "channel_chief" and rules.channel_chief_user_id:
        return rules.channel_chief_user_id
    if who == "manager" and rep and rep.manager_id:
        manager = snapshot.users.get(rep.manager_id)
        if manager is not None and manager.is_active:
            return manager.id
    return rules.channel_ops_user_id


def _describe(
    code: str,
    violation: Violation | None,
    decision: OpportunityDecision,
    snapshot: Snapshot,
    action: str,
    level: int,
) -> str:
    opp = snapshot.opportunities[decision.opportunity_id]
    rep = snapshot.users.get(opp.owner_id or "")
    lines = [
        f"Deal: {opp.name} ({opp.id})",
        f"Owner: {rep.name if rep else opp.owner_id or 'unknown'}",
        f"Rule: {code} — {violation.message if violation else 'the rep asked for an exception'}",
        f"Why: {decision.reason_text}",
    ]
    if violation is not None:
        lines.append(f"Action: {action.replace('_', ' ')} (escalation level {level})")
        lines.append("Compensation on this deal is withheld while the violation stands.")
    if decision.remedy:
        lines.append(f"Remedy owed: {decision.remedy}")
    lines.append(
        "To dispute: tick 'RoE Exception Requested' on the opportunity and explain in the "
        "description; channel operations reviews every request."
        if violation
        else "Review the request; set an admin override with a reason to exempt the deal."
    )
    lines.append(f"Policy: {decision.policy_version}")
    return "\n".join(lines)


def _why_resolved(entry: LedgerEntry, decisions: Decisions, gone: str | None) -> str:
    if gone is not None:
        return f"Resolved: the deal was {gone} in Salesforce."
    decision = decisions.opportunities.get(entry.opportunity_id)
    if decision is None:
        return "Resolved: the deal is no longer evaluated (closed lost or on a partner account)."
    if decision.status is Status.EXEMPT:
        return "Resolved: an admin override exempts the deal."
    return f"Resolved: the deal is now {decision.status.value} ({decision.reason_text})."


def _comp_holds(
    entries: Iterable[LedgerEntry], decisions: Decisions, sticky: frozenset[str]
) -> frozenset[str]:
    held = {e.opportunity_id for e in entries if e.kind == "violation" and e.code in sticky}
    exempt = {i for i, d in decisions.opportunities.items() if d.status is Status.EXEMPT}
    return frozenset(held - exempt)
