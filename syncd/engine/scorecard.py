"""Scorecards: how the rules of engagement were kept, per rep, manager, partner and region.

Pure: computed from the org as the last cycle read it (a snapshot), the decisions the
current policy gives it at the period's as-of instant (the period's last instant, or now
for a period still running), the compensation holds enforcement derives from them, and
the violation ledger. No I/O, no clock. Every figure, precisely:

- **deals under the rules**: opportunities the engine decides (open and closed-won deals;
  not closed-lost ones, not deals on partner accounts) whose status is not *Advisory*
  (their region's enforcement date has passed and they are not grandfathered), that were
  live during the period: created before its end and not closed before its start.
- **compliance rate** = deals under the rules with no enforced violation ÷ deals under
  the rules (an Exempt deal counts as compliant; a Review deal whose violation stands
  does not). Undefined (shown "–") when there are no such deals.
- **violations by code**: violation occurrences in the ledger (exception reviews are not
  violations): *opened* = first seen in the period, *resolved* = resolved in the period,
  *open* = still open at the period's end (first seen before it, not resolved before it).
- **median days to resolve**: the median of (resolved_at - first_seen), in days, over the
  occurrences resolved in the period.
- **compensation withheld**: deals under the rules whose RoE_Comp_Eligible__c is false
  at the as-of instant (a standing violation, or a sticky code's hold), and the sum of
  their Amount.
- **remedies owed**: deals under the rules with a remedy for a displaced partner, and the
  sum of referral fees (Amount times the rules file's ``referral_fee_percent``; a deal
  without an Amount counts with 0).
- **partner deals protected by registration**: deals under the rules whose protected
  partner is the partner of their approved, unexpired deal registration.
- **pipeline by lead**: the Amount of open deals under the rules, by expected lead
  (Direct, Partner, Joint).

Who a figure belongs to: a deal to its owner (*rep*), the owner's manager (*manager*;
"(no manager)" when there is none), its protected partner or else the partner account
working it (*partner*; deals with neither are in no partner's card) and its account's
region from BillingCountry and the rules file's ``regions.countries`` (*region*; "Other"
for countries it does not list). A ledger occurrence belongs to the rep it was first
seen with, that rep's manager, the partner it displaced (else its deal's protected
partner) and its deal's region ("(unknown)" once the deal is gone). Cards are ranked by
compliance rate (highest first; undefined last), then fewer open violations, then more
deals; the total covers the whole org, not the sum of the cards (a deal may have no
partner). Amounts are summed as stored: a multi-currency org's figures mix currencies.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from syncd.engine.attribution import DIMENSIONS, Attribution
from syncd.engine.domain import Decisions, Lead, Opportunity, OpportunityDecision, Snapshot, Status
from syncd.engine.enforcement import VIOLATION, Hold, LedgerEntry
from syncd.engine.period import Period

LEADS = tuple(lead.value for lead in Lead)
_CENT = Decimal("0.01")
# What each figure means, in words (the HTML report and --format json carry them).
DEFINITIONS = {
    "deals": "deals under the rules: decided, not Advisory, live during the period "
    "(created before its end, not closed before its start)",
    "compliance_rate": "deals under the rules with no enforced violation ÷ deals under the rules",
    "violations": "violation occurrences: opened (first seen in the period), resolved "
    "(in the period), open (still open at its end)",
    "median_days_to_resolve": "median days from first seen to resolved, over the "
    "occurrences resolved in the period",
    "comp_withheld": "deals under the rules whose compensation is withheld at the as-of "
    "instant (a standing violation or a sticky hold), and their Amount",
    "remedies_owed": "deals under the rules owing a displaced partner a referral fee, and "
    "the fees (Amount times referral_fee_percent)",
    "protected_deals": "deals under the rules whose protected partner is the partner of "
    "their approved, unexpired registration",
    "pipeline": "Amount of open deals under the rules, by expected lead",
}
_EXPIRED = "DEAL_REG_EXPIRED"


@dataclass(frozen=True, slots=True)
class CodeCounts:
    opened: int = 0
    resolved: int = 0
    open: int = 0


@dataclass(frozen=True, slots=True)
class Card:
    """One subject's figures for one period (see the module docstring for each)."""

    subject_id: str | None  # User or Account Id; None for regions and "(no manager)"
    name: str
    deals: int = 0
    compliant: int = 0
    by_code: Mapping[str, CodeCounts] = field(default_factory=dict)
    median_days_to_resolve: float | None = None
    comp_withheld_deals: int = 0
    comp_withheld_amount: Decimal = Decimal(0)
    remedies_owed: int = 0
    remedies_owed_amount: Decimal = Decimal(0)
    protected_deals: int = 0
    pipeline: Mapping[str, Decimal] = field(default_factory=dict)  # lead -> open Amount
    rank: int = 0

    @property
    def compliance_rate(self) -> float | None:
        return self.compliant / self.deals if self.deals else None

    @property
    def opened(self) -> int:
        return sum(c.opened for c in self.by_code.values())

    @property
    def resolved(self) -> int:
        return sum(c.resolved for c in self.by_code.values())

    @property
    def open(self) -> int:
        return sum(c.open for c in self.by_code.values())


@dataclass(frozen=True, slots=True)
class Scorecard:
    dimension: str
    period: Period
    cards: tuple[Card, ...]  # ranked
    total: Card


@dataclass(frozen=True, slots=True)
class Inputs:
    """What scorecards are computed from (built by ``syncd.sync.insight``)."""

    snapshot: Snapshot
    decisions: Decisions  # the current policy's, at the period's as-of instant
    holds: Mapping[str, Hold]  # enforcement's compensation holds at that instant
    ledger: Sequence[LedgerEntry]
    regions: Mapping[str, Sequence[str]]  # the rules file's regions.countries
    fee_percent: Decimal  # the rules file's remedy.referral_fee_percent


@dataclass(slots=True)
class _Tally:
    deals: int = 0
    compliant: int = 0
    withheld: int = 0
    withheld_amount: Decimal = Decimal(0)
    remedies: int = 0
    remedies_amount: Decimal = Decimal(0)
    protected: int = 0
    pipeline: dict[str, Decimal] = field(default_factory=dict)
    codes: dict[str, list[int]] = field(default_factory=dict)  # code -> [opened, resolved, open]
    resolve_days: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Deal:
    """What one deal under the rules adds to every card it belongs to."""

    compliant: bool
    withheld: bool
    amount: Decimal
    remedy: Decimal | None
    protected: bool
    lead: str | None  # open deals only: the pipeline's lead


def scorecards(inputs: Inputs, period: Period) -> dict[str, Scorecard]:
    """Every dimension's scorecard for ``period``."""
    who = Attribution(inputs.snapshot, inputs.decisions, inputs.regions)
    tallies: dict[str, dict[str | None, _Tally]] = {d: {} for d in DIMENSIONS}
    total = _Tally()
    for opp_id, decision in inputs.decisions.opportunities.items():
        opp = inputs.snapshot.opportunities.get(opp_id)
        if opp is None or not _under_rules(opp, decision, period):
            continue
        deal = _deal(opp, decision, inputs)
        _add_deal(total, deal)
        for dimension, subject in who.of_deal(opp, decision):
            _add_deal(_tally(tallies[dimension], subject), deal)
    for entry in inputs.ledger:
        if entry.kind != VIOLATION:
            continue
        counts = _entry_counts(entry, period)
        if counts is None:
            continue
        _add_entry(total, entry, counts)
        for dimension, subject in who.of_entry(entry):
            _add_entry(_tally(tallies[dimension], subject), entry, counts)
    totals = _card(None, "All", total)
    return {
        d: Scorecard(d, period, _ranked(_cards(who, d, tallies[d])), totals) for d in DIMENSIONS
    }


def _cards(who: Attribution, dimension: str, tallies: dict[str | None, _Tally]) -> list[Card]:
    return [
        _card(who.subject_id(dimension, subject), who.name(dimension, subject), tally)
        for subject, tally in tallies.items()
    ]


def remedy_amount(amount: Decimal | None, fee_percent: Decimal) -> Decimal:
    if amount is None:
        return Decimal(0)
    return (amount * fee_percent / 100).quantize(_CENT)


# -- deals --------------------------------------------------------------------------------


def _under_rules(opp: Opportunity, decision: OpportunityDecision, period: Period) -> bool:
    if decision.status is Status.ADVISORY:
        return False
    if opp.created_at is not None and opp.created_at >= period.end:
        return False
    closed_before = opp.is_closed and opp.close_date and opp.close_date < period.start.date()
    return not closed_before


def _deal(opp: Opportunity, decision: OpportunityDecision, inputs: Inputs) -> _Deal:
    hold = inputs.holds.get(opp.id)
    amount = opp.amount if opp.amount is not None and opp.amount.is_finite() else None
    owed = decision.remedy or (hold.remedy if hold is not None else None)
    registration = opp.registration
    protected = (
        registration is not None
        and registration.approved
        and decision.protected_partner_id is not None
        and registration.partner_id == decision.protected_partner_id
        and _EXPIRED not in decision.reasons
    )
    return _Deal(
        compliant=not decision.enforced,
        withheld=hold is not None or not decision.comp_eligible,
        amount=amount or Decimal(0),
        remedy=remedy_amount(amount, inputs.fee_percent) if owed else None,
        protected=protected,
        lead=decision.expected_lead.value if decision.expected_lead and not opp.is_closed else None,
    )


def _add_deal(tally: _Tally, deal: _Deal) -> None:
    tally.deals += 1
    tally.compliant += deal.compliant
    if deal.withheld:
        tally.withheld += 1
        tally.withheld_amount += deal.amount
    if deal.remedy is not None:
        tally.remedies += 1
        tally.remedies_amount += deal.remedy
    tally.protected += deal.protected
    if deal.lead is not None:
        tally.pipeline[deal.lead] = tally.pipeline.get(deal.lead, Decimal(0)) + deal.amount


# -- ledger -------------------------------------------------------------------------------


def _entry_counts(entry: LedgerEntry, period: Period) -> tuple[int, int, int] | None:
    """(opened, resolved, open at the end) in the period; None when it touches none."""
    opened = period.contains(entry.first_seen)
    resolved = period.contains(entry.resolved_at)
    still_open = entry.first_seen < period.end and (
        entry.resolved_at is None or entry.resolved_at >= period.end
    )
    if not (opened or resolved or still_open):
        return None
    return int(opened), int(resolved), int(still_open)


def _add_entry(tally: _Tally, entry: LedgerEntry, counts: tuple[int, int, int]) -> None:
    found = tally.codes.setdefault(entry.code, [0, 0, 0])
    for i, n in enumerate(counts):
        found[i] += n
    if counts[1] and entry.resolved_at is not None:
        tally.resolve_days.append((entry.resolved_at - entry.first_seen).total_seconds() / 86400)


# -- subjects -----------------------------------------------------------------------------


def _tally(tallies: dict[str | None, _Tally], subject: str | None) -> _Tally:
    found = tallies.get(subject)
    if found is None:
        found = tallies[subject] = _Tally()
    return found


def _card(subject: str | None, name: str, tally: _Tally) -> Card:
    days = statistics.median(tally.resolve_days) if tally.resolve_days else None
    return Card(
        subject_id=subject,
        name=name,
        deals=tally.deals,
        compliant=tally.compliant,
        by_code={code: CodeCounts(*n) for code, n in sorted(tally.codes.items())},
        median_days_to_resolve=round(days, 1) if days is not None else None,
        comp_withheld_deals=tally.withheld,
        comp_withheld_amount=tally.withheld_amount,
        remedies_owed=tally.remedies,
        remedies_owed_amount=tally.remedies_amount,
        protected_deals=tally.protected,
        pipeline={lead: tally.pipeline.get(lead, Decimal(0)) for lead in LEADS},
    )


def _ranked(cards: Iterable[Card]) -> tuple[Card, ...]:
    def order(card: Card) -> tuple[Any, ...]:
        rate = card.compliance_rate
        return (rate is None, -(rate or 0), card.open, -card.deals, card.name.casefold())

    ranked = sorted(cards, key=order)
    return tuple(replace(card, rank=n) for n, card in enumerate(ranked, 1))
