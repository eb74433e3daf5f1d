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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.engine.cascade import Changes
from syncd.engine.domain import Snapshot
from syncd.sync.children import Children, Rows, from_mirror, mirror_rows
from syncd.sync.mapping import (
    FieldMapping,
    FieldValues,
    to_account,
    to_user,
    written_values,
)
from syncd.sync.reader import (
    OrgRead,
    account_written_fields,
    opportunity_written_fields,
)

Stage = Callable[[str, list[dict[str, Any]]], None]  # (sobject, records) for the mirror


@dataclass(frozen=True)
class OrgState:
    snapshot: Snapshot
    current: Mapping[str, Mapping[str, Any]]  # record Id -> values of written fields
    related: Rows = field(default_factory=dict)  # the related sources' rows, by deal

    @classmethod
    def from_read(cls, read: OrgRead) -> OrgState:
        return cls(read.snapshot, read.current, read.related)

    @classmethod
    def from_store(cls, store: Any, mapping: FieldMapping) -> OrgState:
        """Rebuild from the mirror (no API calls); empty when no cycle has finished yet."""
        users = {
            u.id: u
            for u in (to_user(r, mapping) for r in store.mirror_records(mapping.user.sobject))
        }
        related = {
            s.key: from_mirror(s, store.mirror_records(s.key)) for s in mapping.opportunity.sources
        }
        children = Children(mapping)
        current: dict[str, Mapping[str, Any]] = {}
        accounts = {}
        sobject, fields = mapping.account.sobject, account_written_fields(mapping)
        written = store.mirror_written(sobject)
        for record in store.mirror_records(sobject):
            account = to_account(record, mapping)
            accounts[account.id] = account
            current[account.id] = written_values(_overlaid(record, written), fields)
        opportunities = {}
        sobject, fields = mapping.opportunity.sobject, opportunity_written_fields(mapping)
        written = store.mirror_written(sobject)
        for record in store.mirror_records(sobject):
            opp = children.opportunity(record, related)
            opportunities[opp.id] = opp
            current[opp.id] = written_values(_overlaid(record, written), fields)
        return cls(Snapshot(accounts, opportunities, users), current, related)

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

    def applier(self, mapping: FieldMapping, stage: Stage | None = None) -> ChangeApplier:
        """Something to hand a change read to, page by page (see ``ChangeApplier``)."""
        return ChangeApplier(self, mapping, stage)


def _overlaid(record: dict[str, Any], written: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The record as the org holds it once syncd's landed writes (echo not read) count."""
    values = written.get(str(record.get("Id")))
    return {**record, **values} if values else record


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


class ChangeApplier:
    """Takes a change read page by page, so a burst of changes is never held whole.

    Records whose rule inputs or RoE values changed go to ``stage`` (the store's mirror
    staging) as they come; ``finish`` gives the next state and what changed.
    """

    def __init__(self, state: OrgState, mapping: FieldMapping, stage: Stage | None) -> None:
        m, old = mapping, state.snapshot
        self.state = state
        self.mapping = mapping
        self.stage = stage or (lambda sobject, records: None)
        self.current = dict(state.current)
        self.deletes: dict[str, list[str]] = {}
        self.replan: set[str] = set()
        self.deleted_deals: dict[str, str] = {}
        self.users, self.accounts, self.opps = (
            dict(old.users),
            dict(old.accounts),
            dict(old.opportunities),
        )
        self.related = {key: dict(rows) for key, rows in state.related.items()}
        self.children = children = Children(mapping)
        self.changed: dict[str, set[str]] = {"users": set(), "accounts": set(), "deals": set()}
        self._kinds: dict[str, tuple[dict[str, Any], Any, list[str] | None, set[str]]] = {
            m.user.sobject: (self.users, lambda r: to_user(r, m), None, self.changed["users"]),
            m.account.sobject: (
                self.accounts,
                lambda r: to_account(r, m),
                account_written_fields(m),
                self.changed["accounts"],
            ),
            m.opportunity.sobject: (
                self.opps,
                lambda r: children.opportunity(r, self.related),
                opportunity_written_fields(m),
                self.changed["deals"],
            ),
        }

    def page(
        self, sobject: str, live: list[dict[str, Any]], deleted: Mapping[str, str | None]
    ) -> None:
        kind = self._kinds.get(sobject)
        if kind is None:
            return
        records, convert, writes, changed = kind
        kept = []
        for record in live:
            value = convert(record)
            now = written_values(record, writes) if writes is not None else None
            if records.get(value.id) != value:
                records[value.id] = value
                changed.add(value.id)
            elif now is None or self.current.get(value.id) == now:
                continue  # seen before (the overlap window): nothing to do
            else:  # syncd's own write coming back, or someone edited the RoE fields
                self.replan.add(value.id)
                records[value.id] = value  # equal, but with who edited it and when
            if now is not None:
                self.current[value.id] = now
            kept.append(record)
        if kept:
            self.stage(sobject, kept)
        for record_id, into in deleted.items():
            if records.pop(record_id, None) is not None:
                changed.add(record_id)
            self.current.pop(record_id, None)
            self.deletes.setdefault(sobject, []).append(record_id)
            if sobject == self.mapping.opportunity.sobject:
                self.deleted_deals[record_id] = f"merged into {into}" if into else "deleted"

    def finish(self, related: Mapping[str, Mapping[str, Any]]) -> Applied:
        """The next state, given the rows now of deals whose related rows changed."""
        upserts: dict[str, list[dict[str, Any]]] = {}
        for source in self.children.sources:
            rows = self.related.setdefault(source.key, {})
            for deal, packed in related.get(source.key, {}).items():
                if rows.get(deal) == packed:
                    continue
                if packed is None:
                    rows.pop(deal, None)
                    self.deletes.setdefault(source.key, []).append(deal)
                else:
                    rows[deal] = packed
                    upserts.setdefault(source.key, []).extend(mirror_rows(source, {deal: packed}))
                opp = self.opps.get(deal)
                if opp is not None and (now := self.children.refill(opp, self.related)) != opp:
                    self.opps[deal] = now
                    self.changed["deals"].add(deal)
        state = OrgState(Snapshot(self.accounts, self.opps, self.users), self.current, self.related)
        changes = Changes(
            frozenset(self.changed["users"]),
            frozenset(self.changed["accounts"]),
            frozenset(self.changed["deals"]),
        )
        return Applied(
            state, changes, upserts, self.deletes, self.deleted_deals, frozenset(self.replan)
        )
