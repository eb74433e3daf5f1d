"""The rules engine: (snapshot, policy, now) -> decisions. Pure and total.

No I/O, no clock (``now`` is passed in), no randomness; any Snapshot gives Decisions —
a record whose values cannot be used becomes Review with DATA_DEFECT, never an
exception. ``trace=False`` is the fast path used by cycles and the benchmark;
``trace=True`` (and ``explain``) records every rule in precedence order.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from syncd.engine.cascade import Scope
from syncd.engine.domain import (
    AccountDecision,
    Decisions,
    OpportunityDecision,
    RuleOutcome,
    Snapshot,
)
from syncd.engine.policy import Policy
from syncd.engine.rules import codes
from syncd.engine.rules.build import new_account_decision
from syncd.engine.rules.context import Context
from syncd.engine.rules.deal import decide
from syncd.engine.rules.named import AccountFacts

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fact:
    """One input the engine used: ``account.named`` = True, from ``Account.named``."""

    name: str
    value: Any
    source: str  # domain attribute ("Account.named"); the CLI maps it to a Salesforce field

    @property
    def source_attr(self) -> str:
        return self.source


@dataclass(frozen=True, slots=True)
class Explanation:
    record_id: str
    sobject: str  # "Account" | "Opportunity"
    decision: AccountDecision | OpportunityDecision | None
    not_evaluated: str | None  # why there is no decision, when there is none
    facts: tuple[Fact, ...]
    trace: tuple[RuleOutcome, ...]
    policy_version: str


def evaluate(
    snapshot: Snapshot,
    policy: Policy,
    now: datetime,
    *,
    trace: bool = False,
    scope: Scope | None = None,
) -> Decisions:
    """Decide every account and opportunity of the snapshot, or only those in ``scope``.

    A scoped evaluation still sees the whole snapshot (parents, owners, registrations on
    other deals); it just decides fewer records. ``syncd.engine.cascade`` says which.
    """
    with _gc_paused():
        return _evaluate(snapshot, policy, now, trace, scope)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while deciding.

    Decisions are acyclic (frozen dataclasses, tuples), so reference counting frees them;
    but the collector, triggered by a million new objects, rescans the whole snapshot
    over and over — about a quarter of the evaluation time of a large org.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _evaluate(
    snapshot: Snapshot, policy: Policy, now: datetime, trace: bool, scope: Scope | None
) -> Decisions:
    ctx = Context(snapshot, policy, now)
    accounts: dict[str, AccountDecision] = {}
    for key, account in _chosen(snapshot.accounts, None if scope is None else scope.accounts):
        account_decision = _account_decision(ctx, key, account, trace)
        if account_decision is not None:
            accounts[key] = account_decision
    opportunities: dict[str, OpportunityDecision] = {}
    for key, opp in _chosen(snapshot.opportunities, None if scope is None else scope.opportunities):
        try:
            decision = decide(ctx, key, opp, [] if trace else None)
        except Exception as exc:  # totality: a record we cannot read is Review, not a crash
            decision = _unusable(ctx, key, opp, exc)
        if decision is not None:
            opportunities[key] = decision
    return Decisions(accounts=accounts, opportunities=opportunities, policy_version=policy.version)


def _chosen(records: Mapping[str, T], keys: Iterable[str] | None) -> Iterable[tuple[str, T]]:
    if keys is None:
        return records.items()
    return ((k, records[k]) for k in sorted(keys) if k in records)


def _opportunity_decision(
    ctx: Context, key: str, opp: Any, tr: list[RuleOutcome] | None
) -> OpportunityDecision | None:
    try:
        return decide(ctx, key, opp, tr)
    except Exception as exc:  # totality: a record we cannot read is Review, not a crash
        return _unusable(ctx, key, opp, exc)


def _unusable(ctx: Context, key: str, opp: Any, exc: Exception) -> OpportunityDecision:
    account_id = getattr(opp, "account_id", None)
    return ctx.review(key, account_id, codes.DATA_DEFECT, f"unusable values ({exc})")


def _account_decision(ctx: Context, key: str, account: Any, trace: bool) -> AccountDecision | None:
    """None for partner accounts and accounts whose values cannot be used."""
    try:
        if account.is_partner is True:
            return None
    except AttributeError:
        return None
    facts = ctx.facts(key)
    if facts is None:
        return None
    details = [
        *account.defects[:1],
        *([facts.incumbent_problem] if facts.incumbent_problem else []),
    ]
    text = ctx.reasons(list(facts.reasons), "; ".join(details))[1]
    return new_account_decision(
        key,
        facts.lead,
        facts.incumbent_partner_id,
        facts.reasons,
        text,
        ctx.version,
        _account_trace(facts) if trace else (),
    )


def _account_trace(facts: AccountFacts) -> tuple[RuleOutcome, ...]:
    return (
        RuleOutcome(
            "named_account",
            facts.named,
            f"named (via parent: {facts.named_via_parent})"
            if facts.named
            else "not named, nor any parent",
        ),
        RuleOutcome("global_account", facts.global_account, f"global: {facts.global_account}"),
        RuleOutcome(
            "partner_default",
            not (facts.named or facts.global_account),
            "partner-led unless named or global",
        ),
        RuleOutcome(
            "parent_cycle",
            facts.parent_cycle,
            "the parent chain loops" if facts.parent_cycle else "the parent chain ends",
        ),
    )


def explain(
    snapshot: Snapshot, policy: Policy, now: datetime, record_id: str
) -> Explanation | None:
    """Why a record got its decision; None when the snapshot has no such record."""
    ctx = Context(snapshot, policy, now)
    if record_id in snapshot.opportunities:
        opp = snapshot.opportunities[record_id]
        tr: list[RuleOutcome] = []
        decision = _opportunity_decision(ctx, record_id, opp, tr)
        why = None if decision is not None else (tr[-1].detail if tr else "outside the rules")
        trace = decision.trace if decision is not None and decision.trace else tuple(tr)
        facts = _opportunity_facts(ctx, opp)
        return Explanation(record_id, "Opportunity", decision, why, facts, trace, ctx.version)
    if record_id in snapshot.accounts:
        account = snapshot.accounts[record_id]
        adecision = _account_decision(ctx, record_id, account, True)
        why = None
        if adecision is None:
            is_partner = getattr(account, "is_partner", None) is True
            why = "partner accounts are not evaluated" if is_partner else "unusable values"
        facts = _account_fact_list(ctx, record_id, account)
        trace = adecision.trace if adecision is not None else ()
        return Explanation(record_id, "Account", adecision, why, facts, trace, ctx.version)
    return None


def _account_fact_list(ctx: Context, key: str, account: Any) -> tuple[Fact, ...]:
    facts = ctx.facts(key) if getattr(account, "is_partner", None) is not True else None
    found = [
        Fact("account.is_partner", getattr(account, "is_partner", None), "Account.is_partner"),
        Fact("account.named_field", getattr(account, "named", None), "Account.named"),
        Fact(
            "account.in_named_csv",
            key in ctx.policy.named_account_ids,
            "rules: named_accounts.csv_file",
        ),
        Fact("account.parent_id", getattr(account, "parent_id", None), "Account.parent_id"),
        Fact("account.global", getattr(account, "global_account", None), "Account.global_account"),
        Fact(
            "account.incumbent_partner",
            getattr(account, "incumbent_partner_id", None),
            "Account.incumbent_partner_id",
        ),
        Fact(
            "account.billing_country",
            getattr(account, "billing_country", None),
            "Account.billing_country",
        ),
        Fact("account.defects", getattr(account, "defects", ()), "Account.defects"),
    ]
    if facts is not None:
        found += [
            Fact("account.named", facts.named, "Account.named"),
            Fact("account.named_via_parent", facts.named_via_parent, "Account.parent_id"),
            Fact("account.parent_cycle", facts.parent_cycle, "Account.parent_id"),
            Fact("account.region", facts.region, "rules: regions.countries"),
            Fact("account.enforced_from", facts.enforced_from, "rules: regions.enforcement"),
        ]
    return tuple(found)


_OPP_FACTS = (
    "account_id",
    "owner_id",
    "type",
    "is_renewal",
    "lead_source",
    "is_closed",
    "is_won",
    "amount",
    "created_at",
    "partner_id",
    "registration",
    "override_lead",
    "override_reason",
    "exception_requested",
    "exception_reason",
    "exception_decision",
    "exception_decision_reason",
    "currency",
    "last_modified_by",
    "defects",
)


def _opportunity_facts(ctx: Context, opp: Any) -> tuple[Fact, ...]:
    found = [
        Fact(f"opportunity.{n}", getattr(opp, n, None), f"Opportunity.{n}") for n in _OPP_FACTS
    ]
    owner_id = getattr(opp, "owner_id", None)
    owner = ctx.users.get(owner_id) if isinstance(owner_id, str) else None
    found.append(Fact("owner.role", getattr(owner, "role", None), "User.role"))
    found.append(
        Fact(
            "owner.partner_account_id",
            getattr(owner, "partner_account_id", None),
            "User.partner_account_id",
        )
    )
    account_id = getattr(opp, "account_id", None)
    if isinstance(account_id, str) and account_id in ctx.accounts:
        found += _account_fact_list(ctx, account_id, ctx.accounts[account_id])
    reg = ctx.registrations.get(getattr(opp, "id", ""))
    if reg is not None:
        found.append(
            Fact(
                "registration.state", f"{reg.state}: {reg.detail}", "rules: registration.valid_days"
            )
        )
    return tuple(found)


def decisions_by_id(decisions: Decisions) -> Mapping[str, Any]:
    """Account and opportunity decisions in one mapping (handy for reports and tests)."""
    return {**decisions.accounts, **decisions.opportunities}
