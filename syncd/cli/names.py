"""Names for the Ids people would otherwise read: deals, accounts, reps, managers, partners.

From the store's mirror of the last cycle (looked up by Id, never the whole org, never an
API call) or from a snapshot a command already holds. The region of a deal comes from its
account's BillingCountry and the policy's regions, the way the engine finds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from syncd.cli.words import named
from syncd.engine.domain import Account, Opportunity, Snapshot, User
from syncd.engine.policy import Policy
from syncd.engine.rules.regions import DEFAULT_REGION, RegionMap, compile_regions
from syncd.store.history import mirror_lookup
from syncd.store.store import Store
from syncd.sync.mapping import FieldMapping, to_account, to_opportunity, to_user


@dataclass
class Directory:
    accounts: dict[str, Account] = field(default_factory=dict)
    deals: dict[str, Opportunity] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> Directory:
        return cls(dict(snapshot.accounts), dict(snapshot.opportunities), dict(snapshot.users))

    @classmethod
    def from_store(cls, store: Store, mapping: FieldMapping, ids: Iterable[str]) -> Directory:
        """These records and the ones they point at (a deal's account, owner, partners)."""
        found = cls()
        wanted = {i for i in ids if i}
        for _ in range(2):  # the records, then what they refer to
            found._load(store, mapping, wanted)
            wanted = found._referenced() - found._known()
        return found

    def _load(self, store: Store, mapping: FieldMapping, ids: set[str]) -> None:
        if not ids:
            return
        for rid, r in mirror_lookup(store, mapping.account.sobject, ids).items():
            self.accounts[rid] = to_account(r, mapping)
        for rid, r in mirror_lookup(store, mapping.opportunity.sobject, ids).items():
            self.deals[rid] = to_opportunity(r, mapping)
        for rid, r in mirror_lookup(store, mapping.user.sobject, ids).items():
            self.users[rid] = to_user(r, mapping)

    def _known(self) -> set[str]:
        return {*self.accounts, *self.deals, *self.users}

    def _referenced(self) -> set[str]:
        refs: set[str | None] = set()
        for deal in self.deals.values():
            registered = deal.registration.partner_id if deal.registration else None
            refs |= {deal.account_id, deal.owner_id, deal.partner_id, registered}
        for account in self.accounts.values():
            refs |= {account.owner_id, account.incumbent_partner_id}
        for user in self.users.values():
            refs |= {user.manager_id, user.partner_account_id}
        return {r for r in refs if r}

    # -- what people read -------------------------------------------------------------

    def name(self, record_id: str | None) -> str | None:
        if not record_id:
            return None
        for records in (self.deals, self.accounts, self.users):
            found = records.get(record_id)
            if found is not None:
                return found.name or None
        return None

    def label(self, record_id: str | None) -> str:
        """``Name (Id)``, or the Id when the mirror does not know it."""
        return named(self.name(record_id), record_id)

    def account_of(self, deal_id: str | None) -> Account | None:
        deal = self.deals.get(deal_id or "")
        return self.accounts.get(deal.account_id or "") if deal else None

    def manager_of(self, user_id: str | None) -> str | None:
        user = self.users.get(user_id or "")
        return user.manager_id if user else None


class Regions:
    """The policy's regions, by country as the engine reads BillingCountry."""

    def __init__(self, policy: Policy) -> None:
        rules = policy.regions
        self.map: RegionMap = compile_regions(rules.countries, rules.enforcement, rules.default)
        self.names = (*rules.countries, DEFAULT_REGION)

    def of(self, account: Account | None) -> str:
        return self.map.region_of(account.billing_country if account else None)

    def named(self, wanted: str) -> str | None:
        """The region as the policy spells it, matched ignoring case; None if unknown."""
        return next((n for n in self.names if n.casefold() == wanted.strip().casefold()), None)
