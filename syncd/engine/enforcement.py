"""Enforcement: reconcile the engine's violations with the ledger and the org's Tasks. Pure.

Each violation *occurrence* (a deal, a code, an occurrence number) gets exactly one Task,
keyed by an idempotency key stored in Task.RoE_Key__c. What the promises are, because
people's pay and jobs depend on them:

- **Only Compliant or Exempt resolves a violation.** While the rules still find it, or
  the deal shows Review or Advisory (an exception request, an override without a reason,
  a data defect, a region moved to a later date), the entry, its Task, the compensation
  hold and the remedy stay as the violation left them.
- **Escalation is progressive.** An occurrence's level is one above the highest notice
  the rep was actually given (a Task that landed in an earlier cycle) within the window,
  so a rep rises at most one level per cycle, and three pre-existing violations on the
  first day are three warnings. Level, owner, priority and due date are fixed when the
  occurrence is first seen: a Task retried after a refusal keeps them.
- **The org's Tasks are the truth the ledger agrees with.** Tasks found in the org by
  their key are adopted (a lost store, a cycle that died after creating Tasks), and a
  Task the org holds closed — a manager completed it — is never written again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from syncd.engine.domain import (
    Decisions,
    Opportunity,
    OpportunityDecision,
    Snapshot,
    Status,
    User,
    Violation,
)
from syncd.engine.policy import Policy

Users = Mapping[str, User]
REVIEW_CODE = "EXCEPTION_REQUESTED"
APPROVED_CODE = "EXCEPTION_APPROVED"
REVIEW, VIOLATION = "review", "violation"
_LEVEL = re.compile(r"escalation level (\d+)")


@dataclass(frozen=True, slots=True)
class Rung:
    level: int
    action: str  # warning / compensation_review / termination_review
    owner: str  # manager / channel_chief / channel_ops
    priority: str  # Task.Priority: Normal / High


@dataclass(frozen=True, slots=True)
class EnforcementRules:
    """The parts of the policy enforcement needs."""

    window_days: int
    ladder: tuple[Rung, ...]
    sticky_codes: frozenset[str]
    channel_ops_user_id: str | None
    channel_chief_user_id: str | None
    due_days: Mapping[str, int]  # Task.Priority -> days until due

    @classmethod
    def from_policy(cls, policy: Policy) -> EnforcementRules:
        escalation = policy.escalation
        return cls(
            window_days=escalation.window_days,
            ladder=tuple(
                Rung(r.level, str(r.action), str(r.owner), str(r.priority))
                for r in sorted(escalation.ladder, key=lambda r: r.level)
            ),
            sticky_codes=frozenset(policy.compensation.sticky_codes),
            channel_ops_user_id=policy.owners.channel_ops_user_id,
            channel_chief_user_id=policy.owners.channel_chief_user_id,
            due_days={str(k): v for k, v in escalation.due_days.items()},
        )


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
    # The Task's terms, fixed when the occurrence is first seen: a retried Task keeps them.
    subject: str = ""
    priority: str = "Normal"
    due: date | None = None
    remedy: str | None = None  # owed to the displaced partner, as the violation left it
    task_opened_at: datetime | None = None  # when the Task landed in the org
    task_closed: bool = False  # the org's Task is closed (by syncd or a person)
    resolution: str | None = None  # why the occurrence was resolved

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def slot(self) -> tuple[str, str]:
        return self.opportunity_id, self.code


@dataclass(frozen=True, slots=True)
class TaskSpec:
    key: str
    what_id: str
    owner_id: str | None
    subject: str
    description: str
    priority: str
    due: date

    @classmethod
    def of(cls, entry: LedgerEntry) -> TaskSpec:
        """The Task of an entry, from the terms fixed when it was first seen."""
        return cls(
            key=entry.key,
            what_id=entry.opportunity_id,
            owner_id=entry.owner_id,
            subject=entry.subject,
            description=entry.description,
            priority=entry.priority,
            due=entry.due or entry.first_seen.date(),
        )


@dataclass(frozen=True, slots=True)
class OrgTask:
    """A violation Task as the org holds it (read by its key)."""

    id: str
    key: str
    closed: bool
    owner_id: str | None = None
    created: datetime | None = None
    description: str = ""
    priority: str | None = None
    due: date | None = None
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Closure:
    entry: LedgerEntry  # already marked resolved
    note: str

    @property
    def writes_task(self) -> bool:
        """Close the org's Task — unless it is closed already (never rewrite a person's)."""
        return self.entry.task_id is not None and not self.entry.task_closed


@dataclass(frozen=True, slots=True)
class Hold:
    """What the ledger keeps on a deal whatever the engine's present view."""

    remedy: str | None  # the remedy as the violation left it (kept under Review)
    # The sticky codes that keep compensation withheld although no violation stands on
    # the deal any more (empty while one stands: that violation's reason says why).
    sticky: tuple[str, ...] = ()

    @property
    def words(self) -> str | None:
        """Why compensation is still withheld, for RoE_Reason__c; None while a violation stands."""
        return sticky_words(self.sticky, brief=True) if self.sticky else None


# What releases a sticky hold (``_holds``): only an Exempt decision.
RELEASED_BY = "an admin override with a reason or an exception approved by channel operations"


def sticky_words(codes: Sequence[str], *, brief: bool = False) -> str:
    """Why compensation stays withheld after the violation of a sticky code is resolved."""
    named = ", ".join(codes)
    if brief:
        return (
            f"compensation still withheld: {named} is sticky; only an override with a reason "
            "or an approved exception releases it"
        )
    return (
        f"Compensation stays withheld although the violation is resolved: {named} holds are "
        f"sticky, and only {RELEASED_BY} releases them."
    )


@dataclass(frozen=True, slots=True)
class Enforcement:
    opened: tuple[LedgerEntry, ...]  # new occurrences and retries: their Task is to be upserted
    closed: tuple[Closure, ...]
    seen: tuple[LedgerEntry, ...]  # still open, last_seen moved
    holds: Mapping[str, Hold]  # opportunity Id -> compensation withheld (and remedy kept)

    @property
    def comp_holds(self) -> frozenset[str]:
        return frozenset(self.holds)


def occurrence_key(opportunity_id: str, code: str, occurrence: int) -> str:
    return f"{opportunity_id}:{code}:{occurrence}"[:80]  # Task.RoE_Key__c is text(80)


def parse_key(key: str) -> tuple[str, str, int] | None:
    """(opportunity, code, occurrence) of a key syncd wrote; None for anything else."""
    opp, _, rest = key.partition(":")
    code, _, number = rest.rpartition(":")
    if len(opp) != 18 or not code or not number.isdigit():
        return None
    return opp, code, int(number)


# -- adoption: the org's Tasks are the truth --------------------------------------------


def adopt(
    history: Sequence[LedgerEntry], tasks: Iterable[OrgTask], snapshot: Snapshot, now: datetime
) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
    """(the ledger as the org's Tasks say it is, the entries that changed).

    A Task the ledger does not know becomes an entry (a lost store, a cycle that died
    after creating it); a known entry learns its Task's Id and whether the org holds
    the Task closed.
    """
    by_key = {e.key: e for e in history}
    changed: dict[str, LedgerEntry] = {}
    for task in tasks:
        entry = by_key.get(task.key)
        if entry is None:
            found = _entry_from_task(task, snapshot, now)
            if found is None:
                continue
            by_key[task.key] = changed[task.key] = found
            continue
        known = replace(
            entry,
            task_id=entry.task_id or task.id,
            task_opened_at=entry.task_opened_at or task.created or now,
            task_closed=entry.task_closed or task.closed,
        )
        if known != entry:
            by_key[task.key] = changed[task.key] = known
    return list(by_key.values()), list(changed.values())


def _entry_from_task(task: OrgTask, snapshot: Snapshot, now: datetime) -> LedgerEntry | None:
    parsed = parse_key(task.key)
    if parsed is None:
        return None
    opp_id, code, occurrence = parsed
    opp = snapshot.opportunities.get(opp_id)
    review = code == REVIEW_CODE
    found = _LEVEL.search(task.description or "")
    opened = task.created or now
    return LedgerEntry(
        key=task.key,
        kind=REVIEW if review else VIOLATION,
        opportunity_id=opp_id,
        code=code,
        occurrence=occurrence,
        rep_id=opp.owner_id if opp is not None else None,
        partner_id=None,
        level=0 if review else int(found.group(1)) if found else 1,
        owner_id=task.owner_id,
        first_seen=opened,
        last_seen=now,
        task_id=task.id,
        description=task.description,
        subject=task.subject,
        priority=task.priority or "Normal",
        due=task.due,
        task_opened_at=opened,
        task_closed=task.closed,
    )


# -- reconciliation -----------------------------------------------------------------------


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
    open_by_slot = {e.slot: e for e in history if e.is_open}
    last_occurrence: dict[tuple[str, str], int] = defaultdict(int)
    for entry in history:
        last_occurrence[entry.slot] = max(last_occurrence[entry.slot], entry.occurrence)
    notified = _levels_notified(history, now - timedelta(days=rules.window_days), now)

    wanted = dict(_standing(decisions))
    opened: list[LedgerEntry] = []
    seen: list[LedgerEntry] = []
    for slot in sorted(wanted):
        violation, decision = wanted[slot]
        standing = open_by_slot.get(slot)
        if standing is not None:
            kept = replace(standing, last_seen=now, remedy=decision.remedy or standing.remedy)
            seen.append(kept)
            if kept.task_id is None and not kept.task_closed:
                opened.append(kept)  # its Task was refused before: retried, same terms
            continue
        occurrence = last_occurrence[slot] + 1
        opened.append(
            _new_entry(slot, occurrence, violation, decision, snapshot, rules, notified, now)
        )

    decided = snapshot.opportunities if scope is None else scope
    closed = []
    for slot, entry in sorted(open_by_slot.items()):
        if slot in wanted:
            continue
        deal = entry.opportunity_id
        if deal not in decided and deal not in gone:
            continue
        present = decisions.opportunities.get(deal)
        why = _resolution(entry, present, snapshot, gone.get(deal))
        if why is not None:
            if entry.code in rules.sticky_codes and _still_held(present, gone.get(deal)):
                why = f"{why}\n{sticky_words((entry.code,))}"
            closed.append(Closure(replace(entry, resolved_at=now, last_seen=now), why))
    holds = _holds(history, opened, closed, decisions, rules.sticky_codes)
    return Enforcement(tuple(opened), tuple(closed), tuple(seen), holds)


@dataclass(frozen=True, slots=True)
class LedgerNeeds:
    """What ``reconcile`` reads of the ledger for a scope: every entry of its deals (their
    open entries, their last occurrence, a sticky hold ever), and of their reps' other
    deals only what ``_levels_notified`` reads — a notice of the highest level delivered
    to each rep in the escalation window (first seen since ``since``, its Task opened
    before ``until``)."""

    deals: frozenset[str]
    reps: frozenset[str]
    since: datetime
    until: datetime


def ledger_needs(
    deals: Collection[str], snapshot: Snapshot, rules: EnforcementRules, now: datetime
) -> LedgerNeeds:
    """What reconciling ``deals`` (decided, or gone) reads of the ledger."""
    found = snapshot.opportunities
    reps = {found[d].owner_id for d in deals if d in found}
    since = now - timedelta(days=rules.window_days)
    return LedgerNeeds(frozenset(deals), frozenset(r for r in reps if r), since, now)


def _standing(
    decisions: Decisions,
) -> Iterable[tuple[tuple[str, str], tuple[Violation | None, OpportunityDecision]]]:
    """(deal, code) slots that should have an open entry now."""
    for opp_id, decision in decisions.opportunities.items():
        if decision.enforced:
            for violation in decision.violations:
                yield (opp_id, violation.code), (violation, decision)
        if REVIEW_CODE in decision.reasons:
            yield (opp_id, REVIEW_CODE), (None, decision)


def _levels_notified(
    history: Iterable[LedgerEntry], since: datetime, now: datetime
) -> dict[str, int]:
    """Per rep: the highest level of a notice delivered before this cycle, in the window."""
    levels: dict[str, int] = defaultdict(int)
    for entry in history:
        if (
            entry.kind == VIOLATION
            and entry.rep_id
            and entry.first_seen >= since
            and entry.task_opened_at is not None
            and entry.task_opened_at < now
        ):
            levels[entry.rep_id] = max(levels[entry.rep_id], entry.level)
    return levels


def _new_entry(
    slot: tuple[str, str],
    occurrence: int,
    violation: Violation | None,
    decision: OpportunityDecision,
    snapshot: Snapshot,
    rules: EnforcementRules,
    notified: Mapping[str, int],
    now: datetime,
) -> LedgerEntry:
    opp_id, code = slot
    opp = snapshot.opportunities[opp_id]
    rep_id = opp.owner_id
    if violation is None:  # an exception request: a review for channel operations
        level, owner, priority, action = 0, rules.channel_ops_user_id, "Normal", "review"
    else:
        rung = _rung(rules.ladder, notified.get(rep_id or "", 0) + 1)
        level, priority, action = rung.level, rung.priority, rung.action
        owner = _owner(rung.owner, snapshot.users.get(rep_id or ""), snapshot, rules)
    return LedgerEntry(
        key=occurrence_key(opp_id, code, occurrence),
        kind=REVIEW if violation is None else VIOLATION,
        opportunity_id=opp_id,
        code=code,
        occurrence=occurrence,
        rep_id=rep_id,
        partner_id=violation.partner_id if violation else None,
        level=level,
        owner_id=owner,
        first_seen=now,
        last_seen=now,
        description=describe(
            code, violation, decision, snapshot, action, level, code in rules.sticky_codes
        ),
        subject=f"[RoE] {code}: {opp.name}"[:255],
        priority=priority,
        due=now.date() + timedelta(days=rules.due_days.get(priority, 7)),
        remedy=decision.remedy,
    )


def _rung(ladder: Sequence[Rung], level: int) -> Rung:
    return ladder[min(level, len(ladder)) - 1]


def _owner(who: str, rep: User | None, snapshot: Snapshot, rules: EnforcementRules) -> str | None:
    if who == "channel_chief" and rules.channel_chief_user_id:
        return rules.channel_chief_user_id
    if who == "manager" and rep and rep.manager_id:
        manager = snapshot.users.get(rep.manager_id)
        if manager is not None and manager.is_active:
            return manager.id
    return rules.channel_ops_user_id


def describe(
    code: str,
    violation: Violation | None,
    decision: OpportunityDecision,
    snapshot: Snapshot,
    action: str,
    level: int,
    sticky: bool = False,
) -> str:
    """The Task's description: what happened, in words a manager can act on."""
    opp = snapshot.opportunities[decision.opportunity_id]
    rep = snapshot.users.get(opp.owner_id or "")
    lines = [
        f"Deal: {opp.name} ({opp.id})",
        f"Owner: {rep.name if rep else opp.owner_id or 'unknown'}",
        f"Rule: {code} — {violation.message if violation else 'the rep asked for an exception'}",
    ]
    partner = violation.partner_id if violation is not None else None
    if partner:
        account = snapshot.accounts.get(partner)
        lines.append(f"Partner: {(account.name if account else None) or partner} ({partner})")
    lines.append(f"Why: {decision.reason_text}")
    if violation is not None:
        lines.append(f"Action: {action.replace('_', ' ')} (escalation level {level})")
        lines.append("Compensation on this deal is withheld while the violation stands.")
        if sticky:
            lines.append(
                f"{code} is sticky: compensation stays withheld after the violation is "
                f"resolved, until {RELEASED_BY} exempts the deal."
            )
    else:
        reason = opp.exception_reason
        lines.append(f"The rep's reason: {reason or '(none given)'}")
    if decision.remedy:
        lines.append(f"Remedy owed: {decision.remedy}")
    lines.append(
        "To dispute: tick 'RoE Exception Requested' on the opportunity and give a reason in "
        "'RoE Exception Reason'; channel operations decides every request."
        if violation
        else "Decide with 'RoE Exception Decision' (Approved or Rejected) and a reason in "
        "'RoE Exception Decision Reason'. Until then the violation stands."
    )
    lines.append(f"Policy: {decision.policy_version}")
    return "\n".join(lines)


def _resolution(
    entry: LedgerEntry,
    decision: OpportunityDecision | None,
    snapshot: Snapshot,
    gone: str | None,
) -> str | None:
    """Why an open entry no longer stands, or None while it must stay open."""
    if gone is not None:
        return f"Resolved: the deal was {gone} in Salesforce."
    opp = snapshot.opportunities.get(entry.opportunity_id)
    if decision is None:
        if opp is not None and opp.is_closed and not opp.is_won:
            return "Resolved: the deal was closed lost."
        return None  # moved onto a partner's own account: a person must look
    if entry.kind == REVIEW:
        return _review_answered(decision, opp, snapshot.users)
    if decision.status is Status.EXEMPT:
        return _exempt_because(decision, opp, snapshot.users)
    if decision.status is Status.COMPLIANT:
        return f"Resolved: the deal is now Compliant ({decision.reason_text})."
    if decision.status is Status.VIOLATION and entry.code not in _codes(decision):
        return f"Resolved: {entry.code} no longer applies ({decision.reason_text})."
    return None  # Review or Advisory: nothing is released until a person decides


def _still_held(decision: OpportunityDecision | None, gone: str | None) -> bool:
    """A resolved sticky violation keeps compensation withheld unless the deal is Exempt
    (or gone: deleted, merged, closed lost — nothing is written on it any more)."""
    return decision is not None and gone is None and decision.status is not Status.EXEMPT


def _review_answered(decision: OpportunityDecision, opp: Opportunity | None, users: Users) -> str:
    if APPROVED_CODE in decision.reasons:
        return "Request approved. " + _decided_by(opp, users)
    if "EXCEPTION_REJECTED" in decision.reasons:
        return "Request rejected; the violation stands. " + _decided_by(opp, users)
    return f"Request withdrawn or no longer needed: the deal is {decision.status.value}."


def _exempt_because(decision: OpportunityDecision, opp: Opportunity | None, users: Users) -> str:
    if APPROVED_CODE in decision.reasons:
        return "Resolved: channel operations approved an exception. " + _decided_by(opp, users)
    return f"Resolved: an admin override exempts the deal ({decision.reason_text})."


def _decided_by(opp: Opportunity | None, users: Users) -> str:
    """Who decided and when, as Salesforce reported the record when syncd read it."""
    if opp is None:
        return ""
    who = users.get(opp.last_modified_by or "")
    name = who.name if who is not None and who.name else opp.last_modified_by or "unknown"
    when = f" on {opp.last_modified_at:%Y-%m-%d %H:%M} UTC" if opp.last_modified_at else ""
    reason = opp.exception_decision_reason
    return f"Decided by {name}{when}" + (f": {reason}" if reason else ".")


def _codes(decision: OpportunityDecision) -> set[str]:
    return {v.code for v in decision.violations}


def _holds(
    history: Sequence[LedgerEntry],
    opened: Sequence[LedgerEntry],
    closed: Sequence[Closure],
    decisions: Decisions,
    sticky: frozenset[str],
) -> dict[str, Hold]:
    """Deals whose compensation stays withheld: an open violation, or a sticky code ever."""
    resolved = {c.entry.key for c in closed}
    exempt = {i for i, d in decisions.opportunities.items() if d.status is Status.EXEMPT}
    remedies: dict[str, str | None] = {}
    stands: set[str] = set()  # deals with a violation standing
    kept: dict[str, set[str]] = defaultdict(set)  # deal -> sticky codes resolved there
    for entry in (*history, *opened):
        deal = entry.opportunity_id
        if entry.kind != VIOLATION or deal in exempt:
            continue
        standing = entry.is_open and entry.key not in resolved
        if standing or entry.code in sticky:
            remedies[deal] = remedies.get(deal) or (entry.remedy if standing else None)
            if standing:
                stands.add(deal)
            else:
                kept[deal].add(entry.code)
    return {
        deal: Hold(remedy, () if deal in stands else tuple(sorted(kept[deal])))
        for deal, remedy in remedies.items()
    }
