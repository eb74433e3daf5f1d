"""The rules engine: (snapshot, policy, now) -> decisions. Pure and total.

No I/O, no clock (``now`` is passed in), no randomness. Records arrive typed: the
mapping has already turned values it could not use into ``defects``, which the rules
show as Review DATA_DEFECT. Should a rule still fail on a record (a bug), the record
becomes Review too, so a cycle goes on — and its Id and the error are collected on
``Decisions.errors`` for the cycle to log, so the bug is seen rather than hidden.
``trace=False`` is the fast path used by cycles and the benchmark; ``trace=True`` (and
``explain``) records every rule in precedence order.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from syncd.engine.cascade import Scope
from syncd.engine.domain import (
    Account,
    AccountDecision,
    Decisions,
    Opportunity,
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
    other deals) — or, when the scope knows them, just the records its decisions read
    (``Scope.reads``); it decides fewer records. ``syncd.engine.cascade`` says which.
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
    if scope is not None and scope.reads is not None:
        snapshot = scope.reads  # registrations, conflicts and facts of these records only
    ctx = Context(snapshot, policy, now)
    errors: dict[str, str] = {}
    accounts: dict[str, AccountDecision] = {}
    for key, account in _chosen(snapshot.accounts, None if scope is None else scope.accounts):
        account_decision = decide_account(ctx, key, account, trace, errors)
        if account_decision is not None:
            accounts[key] = account_decision
    deals = _chosen(snapshot.opportunities, None if scope is None else scope.opportunities)
    opportunities = decide_opportunities(ctx, deals, errors, list if trace else None)
    return Decisions(accounts, opportunities, policy.version, errors)


def _chosen(records: Mapping[str, T], keys: Iterable[str] | None) -> Iterable[tuple[str, T]]:
    if keys is None:
        return records.items()
    return ((k, records[k]) for k in sorted(keys) if k in records)


def decide_opportunities(
    ctx: Context,
    deals: Iterable[tuple[str, Opportunity]],
    errors: dict[str, str],
    new_trace: Callable[[], list[RuleOutcome]] | None = None,
) -> dict[str, OpportunityDecision]:
    """The deals' decisions (none for deals outside the rules). A rule failing on a deal (a
    bug) makes it Review, and the deal's Id and the error go to ``errors``."""
    decisions: dict[str, OpportunityDecision] = {}
    for key, opp in deals:
        try:
            decision = decide(ctx, key, opp, new_trace() if new_trace else None)
        except Exception as exc:  # totality: one record must not stop a cycle
            errors[key] = f"{type(exc).__name__}: {exc}"
            decision = ctx.review(key, opp.account_id, codes.DATA_DEFECT, "syncd failed on it")
        if decision is not None:
            decisions[key] = decision
    return decisions


def decide_account(
    ctx: Context, key: str, account: Account, trace: bool, errors: dict[str, str]
) -> AccountDecision | None:
    """None for partner accounts (and, reported in ``errors``, one a rule failed on)."""
    if account.is_partner:
        return None
    try:
        facts = ctx.facts(key)
    except Exception as exc:  # totality: the account keeps its flags; the bug is reported
        errors[key] = f"{type(exc).__name__}: {exc}"
        return None
    detail = account.defects[0] if account.defects else ""
    if facts.incumbent_problem:
        detail = f"{detail}; {facts.incumbent_problem}" if detail else facts.incumbent_problem
    reasons, text = ctx.reasons(list(facts.reasons), detail)
    # In field order (once per account; see rules.build).
    return new_account_decision(
        key,
        facts.lead,
        facts.incumbent_partner_id,
        reasons,
        text,
        ctx.version,
        account_trace(facts) if trace else (),
    )


def account_trace(facts: AccountFacts) -> tuple[RuleOutcome, ...]:
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
