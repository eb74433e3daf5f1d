"""Who leads an account: named (field, CSV, or via the parent chain), global, or partners.

The parent chain is walked once per account with a visited set and memoised, so a chain
that loops (C -> G -> C) is noted as PARENT_CYCLE and never walked twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from syncd.engine.domain import Account, Lead
from syncd.engine.inputs import ACCOUNT, INCUMBENT, PARENTS, family
from syncd.engine.rules import codes
from syncd.engine.rules.partners import partner_problem
from syncd.engine.rules.regions import RegionMap


class AccountFacts(NamedTuple):
    """What the engine concluded about one (non-partner) account.

    A NamedTuple rather than a frozen dataclass: built 200,000 times per large cycle, and
    a tuple is several times cheaper to create.
    """

    named: bool  # itself or through its parent chain
    named_via_parent: bool
    parent_cycle: bool
    global_account: bool
    incumbent_partner_id: str | None  # only a real partner account (see rules.partners)
    region: str
    enforced_from: date
    lead: Lead
    reasons: tuple[str, ...]
    incumbent_problem: str = ""  # why the incumbent field names no partner ("" when fine)


# Deals read all of this through their account (``ACCOUNT_LEAD.via(DEAL_ACCOUNT)``).
ACCOUNT_LEAD = family(
    "account_lead",
    ACCOUNT,
    ((), "is_partner named global_account billing_country parent_id incumbent_partner_id"),
    ((), "defects"),
    ((PARENTS,), "named parent_id"),
    ((INCUMBENT,), "is_partner name"),  # only a partner account is an incumbent
)


class NamedResolver:
    """Memoised "is this account named, itself or via a parent; does its chain loop?"."""

    def __init__(self, accounts: Mapping[str, Account], use_field: bool, csv_ids: frozenset[str]):
        self.accounts = accounts
        self._use_field = use_field
        self._csv_ids = csv_ids
        self._memo: dict[str, tuple[bool, bool]] = {}

    def self_named(self, key: str) -> bool:
        return (self._use_field and self.accounts[key].named) or key in self._csv_ids

    def resolve(self, start: str) -> tuple[bool, bool]:
        """(named itself or by an ancestor, the chain loops) for the account ``start``."""
        memo, accounts = self._memo, self.accounts
        found = memo.get(start)
        if found is not None:
            return found
        if accounts[start].parent_id is None:  # most accounts: no chain to walk
            found = memo[start] = (self.self_named(start), False)
            return found
        path: list[str] = []
        position: dict[str, int] = {}
        current: str | None = start
        while True:
            if current is None or current not in accounts:
                named, cycle = False, False
                break
            if current in memo:
                named, cycle = memo[current]
                break
            if current in position:
                loop = path[position[current] :]
                named = any(self.self_named(k) for k in loop)
                cycle = True
                for k in loop:
                    memo[k] = (named, True)
                path = path[: position[current]]
                break
            position[current] = len(path)
            path.append(current)
            current = accounts[current].parent_id
        for k in reversed(path):
            named = named or self.self_named(k)
            memo[k] = (named, cycle)
        return memo.get(start, (named, cycle))


_REASONS: dict[tuple[str, ...], tuple[str, ...]] = {}


def account_facts(
    key: str, account: Account, resolver: NamedResolver, regions: RegionMap
) -> AccountFacts:
    named, cycle = resolver.resolve(key)
    self_named = resolver.self_named(key)
    global_account = account.global_account
    region = regions.region_of(account.billing_country)
    reasons: list[str] = []
    if named:
        reasons.append(codes.NAMED_ACCOUNT if self_named else codes.NAMED_VIA_PARENT)
    if global_account:
        reasons.append(codes.GLOBAL_ACCOUNT)
    if not reasons:
        reasons.append(codes.PARTNER_LED_DEFAULT)
    if cycle:
        reasons.append(codes.PARENT_CYCLE)
    incumbent = account.incumbent_partner_id
    problem = None
    if incumbent is not None:
        problem = partner_problem(resolver.accounts, incumbent, key, "incumbent partner")
        if problem is not None:
            reasons.append(codes.INCUMBENT_NOT_A_PARTNER)
            incumbent = None
    if account.defects:
        reasons.append(codes.DATA_DEFECT)
    key_reasons = tuple(reasons)
    return AccountFacts(
        named=named,
        named_via_parent=named and not self_named,
        parent_cycle=cycle,
        global_account=global_account,
        incumbent_partner_id=incumbent,
        region=region,
        enforced_from=regions.enforced_from(region),
        lead=Lead.DIRECT if named or global_account else Lead.PARTNER,
        reasons=_REASONS.setdefault(key_reasons, key_reasons),
        incumbent_problem=problem or "",
    )
