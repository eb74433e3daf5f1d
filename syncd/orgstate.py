"""The org as syncd last saw it, and how a change read moves it on.

An ``OrgState`` is the domain snapshot plus the values each record holds in the fields
syncd writes. The daemon keeps it in memory between cycles; a new process rebuilds it
from the store's mirror. Applying a change read gives the next state, the ids whose
rule-relevant values really changed (what cascades), and the mirror rows to save.

Echo suppression lives here: syncd's own writes come back in the next change read with a
new SystemModstamp, but their rule inputs are what they were, so they change nothing —
only the remembered written values, which then match and plan no write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from syncd.cascade import Changes
from syncd.domain import Snapshot
from syncd.mapping import (
    FieldMapping,
    FieldValues,
    to_account,
    to_opportunity,
    to_user,
    written_values,
)
from syncd.reader import (
    PARTNER_ROWS,
    ChangeRead,
    OrgRead,
    account_written_fields,
    opportunity_written_fields,
    partner_rows,
)


@dataclass(frozen=True)
class OrgState:
    snapshot: Snapshot
    current: Mapping[str, Mapping[str, Any]]  # record Id -> values of written fields
    partners: Mapping[str, str] = field(default_factory=dict)  # opp -> primary partner row

    @classmethod
    def from_read(cls, read: OrgRead) -> OrgState:
        return cls(read.snapshot, read.current, read.partners)

    @classmethod
    def from_store(cls, store: Any, mapping: FieldMapping) -> OrgState:
        """Rebuild from the mirror (no API calls); empty when no cycle has finished yet."""
        users = {u.id: u for u in map(_user(mapping), store.mirror_records(mapping.user.sobject))}
        partners = {r["Id"]: r["AccountToId"] for r in store.mirror_records(PARTNER_ROWS)}
        account_writes = account_written_fields(mapping)
        opp_writes = opportunity_written_fields(mapping)
        current: dict[str, Mapping[str, Any]] = {}
        accounts = {}
        for record in store.mirror_records(mapping.account.sobject):
            account = to_account(record, mapping)
            accounts[account.id] = account
            current[account.id] = written_values(record, account_writes)
        opportunities = {}
        for record in store.mirror_records(mapping.opportunity.sobject):
            opp = to_opportunity(record, mapping, partner_id=partners.get(str(record.get("Id"))))
            opportunities[opp.id] = opp
            current[opp.id] = written_values(record, opp_writes)
        return cls(Snapshot(accounts, opportunities, users), current, partners)

    @property
    def empty(self) -> bool:
        return not (self.snapshot.accounts or self.snapshot.opportunities)

    def record_written(self, writes: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Remember what syncd's writes set (so their echo plans nothing).

        In place: called once the cycle that built this state has committed, when no one
        else holds it; a copy would double the biggest structure of a large org.
        """
        current = self.current
        assert isinstance(current, dict)
        for record_id, values in writes:
            before = current.get(record_id)
            if isinstance(before, FieldValues):
                current[record_id] = before.updated(values)
            else:
                current[record_id] = {**(before or {}), **values}

    def apply(self, read: ChangeRead, mapping: FieldMapping) -> Applied:
        return _Applier(self, mapping).apply(read)


@dataclass(frozen=True)
class Applied:
    state: OrgState
    changes: Changes
    mirror_upserts: dict[str, list[dict[str, Any]]]
    mirror_deletes: dict[str, list[str]]
    deleted_deals: dict[str, str]  # opportunity Id -> why it is gone (for Task closing notes)
    # Records whose rule inputs are unchanged but whose RoE fields are not what syncd last
    # wrote: its own echo (after a restart) or a hand edit. Re-planned, not cascaded.
    replan: frozenset[str]


class _Applier:
    def __init__(self, state: OrgState, mapping: FieldMapping) -> None:
        self.state = state
        self.mapping = mapping
        self.current = dict(state.current)
        self.upserts: dict[str, list[dict[str, Any]]] = {}
        self.deletes: dict[str, list[str]] = {}
        self.replan: set[str] = set()

    def apply(self, read: ChangeRead) -> Applied:
        m, old = self.mapping, self.state.snapshot
        users = dict(old.users)
        changed_users = set()
        for record in read.records.get(m.user.sobject, ()):
            user = to_user(record, m)
            if users.get(user.id) != user:
                users[user.id] = user
                changed_users.add(user.id)
                self._keep(m.user.sobject, record)

        accounts = dict(old.accounts)
        changed_accounts = self._records(
            read, m.account.sobject, accounts, lambda r: to_account(r, m), account_written_fields(m)
        )
        partners = dict(self.state.partners)
        moved = self._partners(read, partners)
        opps = dict(old.opportunities)
        changed_opps = self._records(
            read,
            m.opportunity.sobject,
            opps,
            lambda r: to_opportunity(r, m, partner_id=partners.get(str(r.get("Id")))),
            opportunity_written_fields(m),
        )
        for deal in moved - changed_opps:  # only the partner row changed
            if deal in opps and opps[deal].partner_id != partners.get(deal):
                opps[deal] = replace(opps[deal], partner_id=partners.get(deal))
                changed_opps.add(deal)
        deleted_deals = {
            deal: (f"merged into {into}" if into else "deleted")
            for deal, into in read.deleted.get(m.opportunity.sobject, {}).items()
        }
        state = OrgState(Snapshot(accounts, opps, users), self.current, partners)
        changes = Changes(
            frozenset(changed_users), frozenset(changed_accounts), frozenset(changed_opps)
        )
        return Applied(
            state, changes, self.upserts, self.deletes, deleted_deals, frozenset(self.replan)
        )

    def _records(
        self,
        read: ChangeRead,
        sobject: str,
        records: dict[str, Any],
        convert: Any,
        writes: list[str],
    ) -> set[str]:
        changed: set[str] = set()
        for record in read.records.get(sobject, ()):
            value = convert(record)
            now = written_values(record, writes)
            if records.get(value.id) != value:
                records[value.id] = value
                changed.add(value.id)
            elif self.current.get(value.id) == now:
                continue  # seen before (the overlap window): nothing to do
            else:  # syncd's own write coming back, or someone edited the RoE fields
                self.replan.add(value.id)
            self.current[value.id] = now
            self._keep(sobject, record)
        for record_id in read.deleted.get(sobject, {}):
            if records.pop(record_id, None) is not None:
                changed.add(record_id)
            self.current.pop(record_id, None)
            self.deletes.setdefault(sobject, []).append(record_id)
        return changed

    def _partners(self, read: ChangeRead, partners: dict[str, str]) -> set[str]:
        moved = set()
        for deal, partner in read.partners.items():
            if partners.get(deal) != partner:
                moved.add(deal)
                if partner is None:
                    partners.pop(deal, None)
                    self.deletes.setdefault(PARTNER_ROWS, []).append(deal)
                else:
                    partners[deal] = partner
                    self.upserts.setdefault(PARTNER_ROWS, []).extend(partner_rows({deal: partner}))
        return moved

    def _keep(self, sobject: str, record: dict[str, Any]) -> None:
        self.upserts.setdefault(sobject, []).append(record)


def _user(mapping: FieldMapping) -> Any:
    return lambda record: to_user(record, mapping)
