"""Why a record got its decision: the facts the rules read, the rules in order, the outcome.

The facts are the rule families' declared reads (``syncd.engine.rules.catalog``) walked
on the snapshot from the record — the same declarations the cascade and the explain
fetch plan come from — plus the engine's own conclusions (named via a parent, region,
the registration's state and expiry, the partner the rules count).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from syncd.engine.domain import (
    Account,
    AccountDecision,
    Opportunity,
    OpportunityDecision,
    RuleOutcome,
    Snapshot,
)
from syncd.engine.evaluate import decide_account, decide_opportunities
from syncd.engine.inputs import ACCOUNT, ALL, OPPORTUNITY, USER, Hop, Record, field_names, getter
from syncd.engine.policy import Policy
from syncd.engine.rules.catalog import reads
from syncd.engine.rules.context import Context


@dataclass(frozen=True, slots=True)
class Fact:
    """One input the engine used: ``owner.role`` = field, from ``User.role``."""

    name: str
    value: object
    source: str  # "User.role" (the CLI names the Salesforce field), or "rules: <key>"


@dataclass(frozen=True, slots=True)
class Explanation:
    record_id: str
    sobject: str  # "Account" | "Opportunity"
    decision: AccountDecision | OpportunityDecision | None
    not_evaluated: str | None  # why there is no decision, when there is none
    facts: tuple[Fact, ...]
    trace: tuple[RuleOutcome, ...]
    policy_version: str
    error: str | None = None  # a rule failed on the record (a bug; see Decisions.errors)


def explain(
    snapshot: Snapshot, policy: Policy, now: datetime, record_id: str
) -> Explanation | None:
    """Why a record got its decision; None when the snapshot has no such record."""
    ctx = Context(snapshot, policy, now)
    errors: dict[str, str] = {}
    if record_id in snapshot.opportunities:
        opp = snapshot.opportunities[record_id]
        tr: list[RuleOutcome] = []
        decision = decide_opportunities(ctx, [(record_id, opp)], errors, lambda: tr).get(record_id)
        why = None if decision is not None else (tr[-1].detail if tr else "outside the rules")
        trace = decision.trace if decision is not None and decision.trace else tuple(tr)
        facts = (*record_facts(snapshot, OPPORTUNITY, opp), *_deal_conclusions(ctx, opp))
        return Explanation(
            record_id, OPPORTUNITY, decision, why, facts, trace, ctx.version, errors.get(record_id)
        )
    if record_id in snapshot.accounts:
        account = snapshot.accounts[record_id]
        adecision = decide_account(ctx, record_id, account, True, errors)
        why = None
        if adecision is None:
            why = "partner accounts are not evaluated" if account.is_partner else "syncd failed"
        facts = (*record_facts(snapshot, ACCOUNT, account), *_account_conclusions(ctx, account))
        trace = adecision.trace if adecision is not None else ()
        return Explanation(
            record_id, ACCOUNT, adecision, why, facts, trace, ctx.version, errors.get(record_id)
        )
    return None


def record_facts(snapshot: Snapshot, root: str, record: Record) -> list[Fact]:
    """Every field the rules deciding ``record`` read, on it and on what they follow to."""
    kinds: dict[str, Mapping[str, Record]] = {
        OPPORTUNITY: snapshot.opportunities, ACCOUNT: snapshot.accounts, USER: snapshot.users,
    }  # fmt: skip
    found: dict[str, Fact] = {}
    for read in reads(root):
        for label, kind, target in _reached(kinds, root.lower(), root, record, read.path):
            if target is None:
                found.setdefault(label, Fact(label, "(not visible to syncd)", kind))
                continue
            names = field_names(kind) if ALL in read.fields else read.fields
            for name in names:
                fact = Fact(f"{label}.{name}", getter(name)(target), f"{kind}.{name}")
                found.setdefault(fact.name, fact)
    return list(found.values())


def _reached(
    kinds: dict[str, Mapping[str, Record]], label: str, kind: str, record: Record,
    path: tuple[Hop, ...],
) -> Iterator[tuple[str, str, Record | None]]:  # fmt: skip
    """(label, kind, record) at the end of ``path``: ``owner.partner_account``, and one
    per record for hops that reach several (``account.parents[001…]``)."""
    if not path:
        yield label, kind, record
        return
    hop, rest = path[0], path[1:]
    base = hop.name if label == "opportunity" else f"{label}.{hop.name}"
    for key, target in _targets(hop, record, kinds[hop.target]):
        name = f"{base}[{key}]" if hop.shared or hop.transitive else base
        if target is None:
            yield name, hop.target, None
        else:
            yield from _reached(kinds, name, hop.target, target, rest)


def _targets(
    hop: Hop, record: Record, records: Mapping[str, Record]
) -> Iterator[tuple[str, Record | None]]:
    key = hop.key(record)
    if key is None:
        return
    if hop.shared:  # the others holding the same value (the deals on the same account)
        yield from ((k, r) for k, r in records.items() if r is not record and hop.key(r) == key)
        return
    seen: set[str] = set()
    while key is not None and key not in seen:
        seen.add(key)
        target = records.get(key)
        yield key, target
        if target is None or not hop.transitive:
            return
        key = hop.key(target)


def _account_conclusions(ctx: Context, account: Account) -> list[Fact]:
    in_csv = Fact("account.in_named_csv", account.id in ctx.policy.named_account_ids,
                  "rules: named_accounts.csv_file")  # fmt: skip
    if account.is_partner:
        return [in_csv]
    facts = ctx.facts(account.id)
    return [
        in_csv,
        Fact("account.named_by_rules", facts.named, "rules: named_accounts.source"),
        Fact("account.named_via_parent", facts.named_via_parent, "Account.parent_id"),
        Fact("account.parent_cycle", facts.parent_cycle, "Account.parent_id"),
        Fact(
            "account.incumbent_counted", facts.incumbent_partner_id, "Account.incumbent_partner_id"
        ),
        Fact("account.region", facts.region, "rules: regions.countries"),
        Fact("account.enforced_from", facts.enforced_from, "rules: regions.enforcement"),
    ]


def _deal_conclusions(ctx: Context, opp: Opportunity) -> list[Fact]:
    found = []
    account = ctx.accounts.get(opp.account_id) if opp.account_id else None
    if account is not None:
        found += _account_conclusions(ctx, account)
    reg = ctx.registrations.get(opp.id)
    if reg is not None:  # the state names the expiry ("valid until 2027-01-30")
        found.append(Fact("registration.state", f"{reg.state}: {reg.detail}",
                          "rules: registration.valid_days"))  # fmt: skip
    return found
