"""The org as syncd last saw it, and how a change read moves it on.

An ``OrgState`` is the domain snapshot plus the values each record holds in the fields
syncd writes. The daemon keeps it in memory between cycles (with the links between its
records, ``links``); a new process rebuilds it from the store's mirror, or holds just the
records a cycle asks for (a partial state, ``syncd.sync.partial``). Applying a change
read moves the state on in place — through a journal, so the state as it was stays
visible and a cycle that does not commit is undone — and gives the ids whose
rule-relevant values really changed (what cascades) and the mirror rows to save.

Echo suppression lives here: syncd's own writes come back in the next change read with a
new SystemModstamp, but their rule inputs are what they were, so they change nothing —
only the remembered written values, which then match and plan no write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from syncd.engine.cascade import Changes, records_by_kind
from syncd.engine.domain import Snapshot
from syncd.engine.inputs import ACCOUNT, OPPORTUNITY, USER, Record
from syncd.engine.links import LinkIndex
from syncd.sync.children import Children, Rows, from_mirror, mirror_rows
from syncd.sync.journal import MISSING, Journal
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


class Loader(Protocol):
    """Loads records into a partial org state from the store, the first time they are asked."""

    def ensure(self, kind: str, ids: Iterable[str]) -> None: ...


@dataclass(frozen=True)
class OrgState:
    snapshot: Snapshot
    current: Mapping[str, Mapping[str, Any]]  # record Id -> values of written fields
    related: Rows = field(default_factory=dict)  # the related sources' rows, by deal
    # A partial state (a fresh process): only the records a cycle needed, loaded from the
    # store's mirror by ``loader``; None: the whole org.
    loader: Loader | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_read(cls, read: OrgRead) -> OrgState:
        return cls(read.snapshot, read.current, read.related)

    @classmethod
    def from_store(cls, store: Any, mapping: FieldMapping) -> OrgState:
        """Rebuild from the mirror (no API calls); empty when no cycle has finished yet."""
        related = {
            s.key: from_mirror(s, store.mirror_records(s.key)) for s in mapping.opportunity.sources
        }
        current: dict[str, Mapping[str, Any]] = {}
        found: dict[str, dict[str, Any]] = {}
        for kind in (USER, ACCOUNT, OPPORTUNITY):
            sobject = mapping.section(kind).sobject
            written = store.mirror_written(sobject) if kind != USER else {}
            rows = store.mirror_records(sobject)
            found[kind] = records = {}
            for record, values in mirrored(mapping, kind, rows, written, related):
                records[record.id] = record
                if values is not None:
                    current[record.id] = values
        snapshot = Snapshot(found[ACCOUNT], found[OPPORTUNITY], found[USER])
        return cls(snapshot, current, related)

    @cached_property
    def links(self) -> LinkIndex:
        """Every record's links (a whole-org state only), kept up to date by the applier."""
        assert self.loader is None, "a partial state does not know every record's links"
        return LinkIndex(records_by_kind(self.snapshot))

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


def mirrored(
    mapping: FieldMapping,
    kind: str,
    rows: Iterable[dict[str, Any]],
    written: Mapping[str, Mapping[str, Any]],
    related: Rows,
) -> Iterator[tuple[Record, Mapping[str, Any] | None]]:
    """Mirror rows of ``kind`` as records, with the values their written fields hold."""
    if kind == USER:
        for row in rows:
            yield to_user(row, mapping), None
    elif kind == ACCOUNT:
        fields = account_written_fields(mapping)
        for row in rows:
            yield to_account(row, mapping), written_values(_overlaid(row, written), fields)
    else:
        fields, children = opportunity_written_fields(mapping), Children(mapping)
        for row in rows:
            opp = children.opportunity(row, related)
            yield opp, written_values(_overlaid(row, written), fields)


def _overlaid(record: dict[str, Any], written: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The record as the org holds it once syncd's landed writes (echo not read) count."""
    values = written.get(str(record.get("Id")))
    return {**record, **values} if values else record


@dataclass(frozen=True)
class Applied:
    state: OrgState  # the state the read started from, moved on in place
    before: OrgState  # that state as it was (a view over the journal)
    changes: Changes
    mirror_upserts: dict[str, list[dict[str, Any]]]
    mirror_deletes: dict[str, list[str]]
    deleted_deals: dict[str, str]  # opportunity Id -> why it is gone (for Task closing notes)
    # Records whose rule inputs are unchanged but whose RoE fields are not what syncd last
    # wrote: its own echo (after a restart) or a hand edit. Re-planned, not cascaded.
    replan: frozenset[str]
    undo: Callable[[], None]  # the state as the read found it (a cycle that did not commit)
    # The changed records as they are now, by kind (what a partial state's links miss).
    changed_records: Mapping[str, Mapping[str, Record]]


class ChangeApplier:
    """Takes a change read page by page, so a burst of changes is never held whole.

    The state's dictionaries are changed in place through a journal (copying them would
    cost a large org more than its changes), and so are its links. Records whose rule
    inputs or RoE values changed go to ``stage`` (the store's mirror staging) as they
    come; ``finish`` gives the next state, the state as it was, and what changed.
    """

    def __init__(self, state: OrgState, mapping: FieldMapping, stage: Stage | None) -> None:
        m, old = mapping, state.snapshot
        self.state = state
        self.mapping = mapping
        self.stage = stage or (lambda sobject, records: None)
        self.journal = Journal()
        self.links = state.links if state.loader is None else None
        self.current = _editable(state.current)
        self.related = _editable(state.related)
        self.children = children = Children(mapping)
        self.records = {
            kind: _editable(old_records) for kind, old_records in records_by_kind(old).items()
        }
        self.deletes: dict[str, list[str]] = {}
        self.replan: set[str] = set()
        self.deleted_deals: dict[str, str] = {}
        self.changed: dict[str, set[str]] = {OPPORTUNITY: set(), ACCOUNT: set(), USER: set()}
        self._kinds: dict[str, tuple[str, Any, list[str] | None]] = {
            m.user.sobject: (USER, lambda r: to_user(r, m), None),
            m.account.sobject: (ACCOUNT, lambda r: to_account(r, m), account_written_fields(m)),
            m.opportunity.sobject: (
                OPPORTUNITY,
                lambda r: children.opportunity(r, self.related),
                opportunity_written_fields(m),
            ),
        }

    def page(
        self, sobject: str, live: list[dict[str, Any]], deleted: Mapping[str, str | None]
    ) -> None:
        found = self._kinds.get(sobject)
        if found is None:
            return
        kind, convert, writes = found
        if self.state.loader is not None:  # what the page is compared with
            self.state.loader.ensure(kind, [*(str(r.get("Id")) for r in live), *deleted])
        records, changed = self.records[kind], self.changed[kind]
        kept = []
        for record in live:
            value = convert(record)
            now = written_values(record, writes) if writes is not None else None
            if records.get(value.id) != value:
                self._put(kind, value)
                changed.add(value.id)
            elif now is None or self.current.get(value.id) == now:
                continue  # seen before (the overlap window): nothing to do
            else:  # syncd's own write coming back, or someone edited the RoE fields
                self.replan.add(value.id)
                self.journal.set(records, value.id, value)  # equal, but who edited it, when
            if now is not None:
                self.journal.set(self.current, value.id, now)
            kept.append(record)
        if kept:
            self.stage(sobject, kept)
        for record_id, into in deleted.items():
            if self._put(kind, None, record_id) is not None:
                changed.add(record_id)
            self.journal.pop(self.current, record_id)
            self.deletes.setdefault(sobject, []).append(record_id)
            if kind == OPPORTUNITY:
                self.deleted_deals[record_id] = f"merged into {into}" if into else "deleted"

    def _put(self, kind: str, value: Record | None, key: str | None = None) -> Record | None:
        """Set (or, with None, remove) a record, moving its links; the record it replaced."""
        key = key or value.id  # type: ignore[union-attr]
        records = self.records[kind]
        old = records.get(key)
        if value is None:
            self.journal.pop(records, key)
        else:
            self.journal.set(records, key, value)
        if self.links is not None:
            self.links.moved(kind, key, old, value)
        return old

    def finish(self, related: Mapping[str, Mapping[str, Any]]) -> Applied:
        """The next state, given the rows now of deals whose related rows changed."""
        if self.state.loader is not None:
            self.state.loader.ensure(OPPORTUNITY, {d for rows in related.values() for d in rows})
        upserts: dict[str, list[dict[str, Any]]] = {}
        for source in self.children.sources:
            if source.key not in self.related:
                self.journal.set(self.related, source.key, {})
            rows = self.related[source.key]
            for deal, packed in related.get(source.key, {}).items():
                if rows.get(deal) == packed:
                    continue
                if packed is None:
                    self.journal.pop(rows, deal)
                    self.deletes.setdefault(source.key, []).append(deal)
                else:
                    self.journal.set(rows, deal, packed)
                    upserts.setdefault(source.key, []).extend(mirror_rows(source, {deal: packed}))
                opp = self.records[OPPORTUNITY].get(deal)
                if opp is not None and (now := self.children.refill(opp, self.related)) != opp:  # type: ignore[arg-type]
                    self._put(OPPORTUNITY, now)
                    self.changed[OPPORTUNITY].add(deal)
        changes = Changes(*(frozenset(self.changed[k]) for k in (USER, ACCOUNT, OPPORTUNITY)))
        return Applied(
            self.state,
            self._before(),
            changes,
            upserts,
            self.deletes,
            self.deleted_deals,
            frozenset(self.replan),
            self.undo,
            {
                kind: {k: self.records[kind][k] for k in ids if k in self.records[kind]}
                for kind, ids in self.changed.items()
            },
        )

    def _before(self) -> OrgState:
        was = self.journal.was
        records = {kind: was(r) for kind, r in self.records.items()}
        snapshot = Snapshot(records[ACCOUNT], records[OPPORTUNITY], records[USER])  # type: ignore[arg-type]
        related = {key: was(rows) for key, rows in was(self.related).items()}
        return OrgState(snapshot, was(self.current), related, self.state.loader)  # type: ignore[arg-type]

    def undo(self) -> None:
        """Put the state back as the read found it (the cycle did not commit)."""
        if self.links is not None:
            for kind, records in self.records.items():
                for key, old in self.journal.edited(records).items():
                    self.links.moved(kind, key, records.get(key), None if old is MISSING else old)
        self.journal.undo()


def _editable(mapping: Mapping[str, Any]) -> dict[str, Any]:
    assert isinstance(mapping, dict), "an org state's mappings are changed in place"
    return mapping
