"""What-if: the difference a candidate rules file makes to the org, against today's rules. Pure.

Both policies decide the same snapshot at the same instant, and enforcement reconciles
each set of decisions with the same ledger (``syncd.engine.enforcement.reconcile``), so
the report is what a cycle under the candidate would do beyond what one under today's
rules would: the records whose flags change (field by field), the violations that
appear or disappear, the Tasks that open (with the escalation level each reaches) or
close, the compensation withheld or released, and the remedies owed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncd.engine.attribution import Attribution
from syncd.engine.domain import Decisions, OpportunityDecision, Snapshot, Violation
from syncd.engine.enforcement import Closure, Enforcement, LedgerEntry
from syncd.engine.scorecard import remedy_amount

Slot = tuple[str, str]  # (opportunity Id, violation code)


@dataclass(frozen=True, slots=True)
class Side:
    """One policy's view: its decisions, what enforcement makes of them, its remedy rate."""

    decisions: Decisions
    enforcement: Enforcement
    fee_percent: Decimal


@dataclass(frozen=True, slots=True)
class RecordChange:
    sobject: str  # Account / Opportunity
    record_id: str
    name: str
    changes: Mapping[str, tuple[Any, Any]]  # field -> (today, candidate), in people's words


@dataclass(frozen=True, slots=True)
class Money:
    deals: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class WhatIf:
    accounts: tuple[RecordChange, ...]
    deals: tuple[RecordChange, ...]
    appear: tuple[Slot, ...]  # enforced violations the candidate adds
    disappear: tuple[Slot, ...]  # ... and removes
    appear_by: Mapping[str, Counter[str]]  # code / rep / partner / region -> counts
    disappear_by: Mapping[str, Counter[str]]
    tasks_opened: tuple[LedgerEntry, ...]  # beyond today's: new occurrences, their level
    tasks_closed: tuple[Closure, ...]
    withheld: tuple[str, ...]  # deals whose compensation the candidate withholds
    released: tuple[str, ...]
    comp_today: Money  # deals withheld and their Amount, under each policy
    comp_candidate: Money
    remedies_today: Money  # remedies owed and the referral fees, under each policy
    remedies_candidate: Money

    @property
    def levels(self) -> Counter[int]:
        """How many Tasks would open at each escalation level (0: an exception review)."""
        return Counter(e.level for e in self.tasks_opened)

    @property
    def records(self) -> int:
        return len(self.accounts) + len(self.deals)


def what_if(snapshot: Snapshot, today: Side, candidate: Side, regions: Any) -> WhatIf:
    """``regions``: the candidate's ``regions.countries`` (what violations are counted by)."""
    today_slots, cand_slots = _enforced(today.decisions), _enforced(candidate.decisions)
    appear = tuple(sorted(set(cand_slots) - set(today_slots)))
    disappear = tuple(sorted(set(today_slots) - set(cand_slots)))
    known_open = {(e.opportunity_id, e.code) for e in today.enforcement.opened}
    known_closed = {c.entry.key for c in today.enforcement.closed}
    withheld, released = _comp_changes(today, candidate)
    opened = [e for e in candidate.enforcement.opened if e.slot not in known_open]
    closed = [c for c in candidate.enforcement.closed if c.entry.key not in known_closed]
    return WhatIf(
        accounts=tuple(_account_changes(snapshot, today.decisions, candidate.decisions)),
        deals=tuple(_deal_changes(snapshot, today, candidate)),
        appear=appear,
        disappear=disappear,
        appear_by=_counted(snapshot, candidate.decisions, regions, appear, cand_slots),
        disappear_by=_counted(snapshot, today.decisions, regions, disappear, today_slots),
        tasks_opened=tuple(opened),
        tasks_closed=tuple(closed),
        withheld=tuple(sorted(withheld)),
        released=tuple(sorted(released)),
        comp_today=_withheld(snapshot, today),
        comp_candidate=_withheld(snapshot, candidate),
        remedies_today=_remedies(snapshot, today),
        remedies_candidate=_remedies(snapshot, candidate),
    )


def _enforced(decisions: Decisions) -> dict[Slot, Violation]:
    return {
        (key, v.code): v
        for key, d in decisions.opportunities.items()
        if d.enforced
        for v in d.violations
    }


def _eligible(side: Side, key: str, decision: OpportunityDecision | None) -> bool | None:
    """Compensation eligibility as a cycle writes it (the ledger's holds win); None: undecided."""
    if decision is None:
        return None
    return decision.comp_eligible and key not in side.enforcement.holds


def _comp_changes(today: Side, candidate: Side) -> tuple[list[str], list[str]]:
    """(deals the candidate withholds that today's rules do not, deals it releases)."""
    before = today.decisions.opportunities
    withheld, released = [], []
    for key, decision in candidate.decisions.opportunities.items():
        now, was = _eligible(candidate, key, decision), _eligible(today, key, before.get(key))
        if now is False and was is not False:
            withheld.append(key)
        elif now is True and was is False:
            released.append(key)
    return withheld, released


def _remedy(side: Side, key: str, decision: OpportunityDecision) -> str | None:
    hold = side.enforcement.holds.get(key)
    return decision.remedy or (hold.remedy if hold is not None else None)


def _deal_changes(snapshot: Snapshot, today: Side, candidate: Side) -> Iterable[RecordChange]:
    for key in sorted(set(today.decisions.opportunities) | set(candidate.decisions.opportunities)):
        before = today.decisions.opportunities.get(key)
        after = candidate.decisions.opportunities.get(key)
        pairs = {
            "lead": (_lead(before), _lead(after)),
            "status": (_value(before, "status"), _value(after, "status")),
            "protected partner": (
                _value(before, "protected_partner_id"),
                _value(after, "protected_partner_id"),
            ),
            "comp eligible": (
                _comp(_eligible(today, key, before)),
                _comp(_eligible(candidate, key, after)),
            ),
            "remedy": (
                _remedy(today, key, before) if before else None,
                _remedy(candidate, key, after) if after else None,
            ),
            "reason": (_value(before, "reason_text"), _value(after, "reason_text")),
        }
        changed = _changed(pairs, snapshot, "protected partner")
        if changed:
            opp = snapshot.opportunities.get(key)
            yield RecordChange("Opportunity", key, opp.name if opp else key, changed)


def _changed(
    pairs: Mapping[str, tuple[Any, Any]], snapshot: Snapshot, partner_field: str
) -> dict[str, tuple[Any, Any]]:
    """The pairs that differ (Ids compared), partners shown by name."""
    changed = {k: v for k, v in pairs.items() if v[0] != v[1]}
    if partner_field in changed:
        before, after = changed[partner_field]
        changed[partner_field] = (_name(snapshot.accounts, before), _name(snapshot.accounts, after))
    return changed


def _account_changes(
    snapshot: Snapshot, today: Decisions, candidate: Decisions
) -> Iterable[RecordChange]:
    for key in sorted(set(today.accounts) | set(candidate.accounts)):
        before, after = today.accounts.get(key), candidate.accounts.get(key)
        pairs = {
            "lead": (_lead(before), _lead(after)),
            "lead partner": (_value(before, "lead_partner_id"), _value(after, "lead_partner_id")),
            "reason": (_value(before, "reason_text"), _value(after, "reason_text")),
        }
        changed = _changed(pairs, snapshot, "lead partner")
        if changed:
            yield RecordChange("Account", key, _name(snapshot.accounts, key) or key, changed)


def _counted(
    snapshot: Snapshot,
    decisions: Decisions,
    regions: Any,
    slots: Sequence[Slot],
    violations: Mapping[Slot, Violation],
) -> dict[str, Counter[str]]:
    who = Attribution(snapshot, decisions, regions)
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("code", "rep", "partner", "region")}
    for slot in slots:
        opp = snapshot.opportunities[slot[0]]
        counts["code"][slot[1]] += 1
        decision = decisions.opportunities.get(slot[0])
        subjects = dict(who.of_deal(opp, decision))
        partner = violations[slot].partner_id or subjects.get("partner")
        counts["rep"][who.name("rep", subjects["rep"])] += 1
        counts["region"][who.name("region", subjects["region"])] += 1
        if partner:
            counts["partner"][who.name("partner", partner)] += 1
    return counts


def _withheld(snapshot: Snapshot, side: Side) -> Money:
    keys = [k for k, d in side.decisions.opportunities.items() if not _eligible(side, k, d)]
    return Money(len(keys), sum((_amount(snapshot, k) for k in keys), Decimal(0)))


def _remedies(snapshot: Snapshot, side: Side) -> Money:
    owed = [k for k, d in side.decisions.opportunities.items() if _remedy(side, k, d)]
    fees = (remedy_amount(_amount(snapshot, k), side.fee_percent) for k in owed)
    return Money(len(owed), sum(fees, Decimal(0)))


def _amount(snapshot: Snapshot, key: str) -> Decimal:
    opp = snapshot.opportunities.get(key)
    amount = opp.amount if opp is not None else None
    return amount if amount is not None and amount.is_finite() else Decimal(0)


def _comp(eligible: bool | None) -> str | None:
    return None if eligible is None else "eligible" if eligible else "withheld"


def _lead(decision: Any) -> str | None:
    lead = getattr(decision, "lead", None) or getattr(decision, "expected_lead", None)
    return lead.value if lead is not None else None


def _value(decision: Any, name: str) -> Any:
    value = getattr(decision, name, None)
    return getattr(value, "value", value)


def _name(accounts: Mapping[str, Any], key: str | None) -> str | None:
    if key is None:
        return None
    account = accounts.get(key)
    return (account.name if account is not None else "") or key
