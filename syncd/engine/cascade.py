"""What an incremental cycle must re-evaluate, given what changed since the last one.

Pure: two snapshots (before and after the changes) and the ids that changed in, a
``Scope`` out. The rule of thumb is the engine's own reading: a decision must be redone
when anything it looked at changed. So

- an account: itself, its descendants (named and global status flow down the parent
  chain) and every deal on any of them, and every deal that names it as partner, directly,
  through its owner's partner account or as its account's incumbent (the remedy quotes
  the partner's name);
- a user: every deal they own (role, segment and partner account come from the owner);
- a deal: itself and every deal on the same account (registration conflicts are
  decided per account), before and after a move to another account;
- a deleted record: as a change (its neighbours lose it).

The property tests check the promise that matters: for any change, re-evaluating the
scope and keeping every other decision gives exactly what a full evaluation gives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from syncd.engine.domain import Opportunity, Snapshot


@dataclass(frozen=True, slots=True)
class Changes:
    """Ids whose rule-relevant values changed (deleted ones included)."""

    users: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    opportunities: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.users or self.accounts or self.opportunities)

    @property
    def total(self) -> int:
        return len(self.users) + len(self.accounts) + len(self.opportunities)


@dataclass(frozen=True, slots=True)
class Scope:
    """The accounts and deals to re-evaluate (only ones present after the changes)."""

    accounts: frozenset[str]
    opportunities: frozenset[str]

    @property
    def empty(self) -> bool:
        return not (self.accounts or self.opportunities)

    @property
    def total(self) -> int:
        return len(self.accounts) + len(self.opportunities)


def everything(snapshot: Snapshot) -> Scope:
    return Scope(frozenset(snapshot.accounts), frozenset(snapshot.opportunities))


class _Index:
    """Reverse references of one snapshot, built once per cycle (linear in its size)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.deals_on: dict[str, list[str]] = defaultdict(list)
        self.deals_of: dict[str, list[str]] = defaultdict(list)
        self.deals_naming: dict[str, list[str]] = defaultdict(list)
        self.children: dict[str, list[str]] = defaultdict(list)
        self.portal_users: dict[str, list[str]] = defaultdict(list)
        self.incumbent_of: dict[str, list[str]] = defaultdict(list)
        for key, opp in snapshot.opportunities.items():
            for partner in _partners(opp):
                self.deals_naming[partner].append(key)
            if isinstance(opp.account_id, str):
                self.deals_on[opp.account_id].append(key)
            if isinstance(opp.owner_id, str):
                self.deals_of[opp.owner_id].append(key)
        for key, account in snapshot.accounts.items():
            if isinstance(account.parent_id, str):
                self.children[account.parent_id].append(key)
            if isinstance(account.incumbent_partner_id, str):
                self.incumbent_of[account.incumbent_partner_id].append(key)
        for key, user in snapshot.users.items():
            if isinstance(user.partner_account_id, str):
                self.portal_users[user.partner_account_id].append(key)

    def subtree(self, roots: Iterable[str]) -> set[str]:
        """The accounts and all their descendants (a looping parent chain ends)."""
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            key = stack.pop()
            if key not in seen:
                seen.add(key)
                stack.extend(self.children.get(key, ()))
        return seen


def affected(before: Snapshot, after: Snapshot, changes: Changes) -> Scope:
    """The accounts and deals whose decisions may differ because of ``changes``."""
    if changes.empty:
        return Scope(frozenset(), frozenset())
    index = _Index(after)
    old_index = _Index(before) if changes.accounts else None
    accounts: set[str] = set(changes.accounts)
    deals: set[str] = set(changes.opportunities)
    for key in changes.opportunities:
        for opp in (before.opportunities.get(key), after.opportunities.get(key)):
            if opp is not None and isinstance(opp.account_id, str):
                deals.update(index.deals_on.get(opp.account_id, ()))
    for key in changes.users:
        deals.update(index.deals_of.get(key, ()))
    if changes.accounts:
        assert old_index is not None
        # Descendants as they are now and as they were (a child that just moved away
        # no longer inherits from this branch either way).
        accounts |= index.subtree(changes.accounts) | old_index.subtree(changes.accounts)
        for key in changes.accounts:
            naming = index.deals_naming.get(key, ())
            deals.update(naming)
            # Whether a registered partner is a partner decides whether its registration
            # is valid, and so the registration conflicts of the deals beside it.
            for deal in naming:
                deals.update(index.deals_on.get(after.opportunities[deal].account_id or "", ()))
            for user in index.portal_users.get(key, ()):  # a portal user's deals name it too
                deals.update(index.deals_of.get(user, ()))
            # The customers whose incumbent it is (whether it is a partner decides their
            # lead partner) and so their deals.
            accounts.update(index.incumbent_of.get(key, ()))
        for key in accounts:
            deals.update(index.deals_on.get(key, ()))
    return Scope(
        frozenset(a for a in accounts if a in after.accounts),
        frozenset(d for d in deals if d in after.opportunities),
    )


def changed_ids(before: Mapping[str, object], after: Mapping[str, object]) -> frozenset[str]:
    """Ids added, removed or different between two id -> value mappings."""
    keys = before.keys() | after.keys()
    return frozenset(k for k in keys if before.get(k) != after.get(k))


def _partners(opp: Opportunity) -> Iterable[str]:
    if isinstance(opp.partner_id, str):
        yield opp.partner_id
    partner = getattr(opp.registration, "partner_id", None)  # garbage stays unread here
    if isinstance(partner, str):
        yield partner
