"""A cycle's decision history: the cycle's own values handed to ``syncd.engine.history``.

The engine derives events from domain values; this module translates at the edge —
Salesforce field names to flag names through the mapping — and finds what syncd knew of
each record before the cycle: the org state the cycle started from (kept in memory by the
daemon, rebuilt from the mirror by an incremental cycle) or, for a full cycle of a fresh
process, the mirror rows of just the records it wrote, looked up a batch at a time.
Events are generated lazily: the store consumes them inside the cycle's commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from syncd.engine.domain import Decisions, Opportunity
from syncd.engine.enforcement import LedgerEntry
from syncd.engine.history import (
    ACCOUNT,
    OPPORTUNITY,
    REQUEST_BOX,
    HistoryEvent,
    Seen,
    Stamp,
    record_events,
)
from syncd.engine.ledger_history import ledger_events
from syncd.store.batches import BATCH
from syncd.store.history import mirror_lookup, written_lookup
from syncd.store.store import Store
from syncd.sync.mapping import FieldMapping, to_opportunity
from syncd.sync.orgstate import OrgState
from syncd.sync.plan import RecordWrite

Values = Mapping[str, Any]  # Salesforce field name -> value


class Earlier(Protocol):
    """What syncd knew of records before this cycle."""

    def load(self, sobject: str, ids: Sequence[str]) -> None: ...
    def values(self, record_id: str) -> Values | None: ...
    def deal(self, record_id: str) -> Opportunity | None: ...


class StateEarlier:
    """The org state the cycle started from (in memory)."""

    def __init__(self, state: OrgState) -> None:
        self.state = state

    def load(self, sobject: str, ids: Sequence[str]) -> None:
        return None

    def values(self, record_id: str) -> Values | None:
        return self.state.current.get(record_id)

    def deal(self, record_id: str) -> Opportunity | None:
        return self.state.snapshot.opportunities.get(record_id)


class MirrorEarlier:
    """The previous cycle's mirror, looked up for a batch of records at a time."""

    def __init__(self, store: Store, mapping: FieldMapping) -> None:
        self.store, self.mapping = store, mapping
        self._values: dict[str, Values] = {}
        self._deals: dict[str, Opportunity] = {}

    def load(self, sobject: str, ids: Sequence[str]) -> None:
        records = mirror_lookup(self.store, sobject, ids)
        written = written_lookup(self.store, sobject, ids)
        self._values = {rid: {**r, **written.get(rid, {})} for rid, r in records.items()}
        self._deals = {}
        if sobject == self.mapping.opportunity.sobject:
            self._deals = {rid: to_opportunity(r, self.mapping) for rid, r in records.items()}

    def values(self, record_id: str) -> Values | None:
        return self._values.get(record_id)

    def deal(self, record_id: str) -> Opportunity | None:
        return self._deals.get(record_id)


class NothingEarlier:
    """A store that never saw the org (its first cycle)."""

    def load(self, sobject: str, ids: Sequence[str]) -> None:
        return None

    def values(self, record_id: str) -> Values | None:
        return None

    def deal(self, record_id: str) -> Opportunity | None:
        return None


def earlier_knowledge(
    before: OrgState | None, store: Store, mapping: FieldMapping, first: bool
) -> Earlier:
    """The org state the cycle started from; else the mirror (a full cycle of a fresh
    process, where loading the whole mirror would double its memory); else nothing."""
    if before is not None:
        return StateEarlier(before)
    return NothingEarlier() if first else MirrorEarlier(store, mapping)


@dataclass(frozen=True)
class LedgerMoves:
    before: Mapping[str, LedgerEntry]  # the ledger as the cycle found it, by key
    saved: Sequence[LedgerEntry]  # what the cycle commits
    adopted: Collection[str]  # keys learned from the org's Tasks


class FlagNames:
    """Salesforce field names of syncd's flags -> the flag names the history uses."""

    def __init__(self, mapping: FieldMapping) -> None:
        self.sobjects = {mapping.account.sobject: ACCOUNT, mapping.opportunity.sobject: OPPORTUNITY}
        self.fields = {
            ACCOUNT: _pairs(mapping.account.write.model_dump()),
            OPPORTUNITY: _pairs(
                mapping.opportunity.write.model_dump(),
                {REQUEST_BOX: mapping.opportunity.read.exception_requested},
            ),
        }

    def flags(self, kind: str, values: Values | None) -> dict[str, Any] | None:
        if values is None:
            return None
        found = {}
        for name, f in self.fields[kind]:
            try:  # a million records in a first cycle: no `in` and then `[]` on each
                found[name] = values[f]
            except KeyError:
                continue
        return found


def _pairs(*sections: Mapping[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple((name, f) for section in sections for name, f in section.items() if f)


@dataclass(frozen=True)
class CycleFacts:
    """What a cycle holds once its writes are done, for its history."""

    stamp: Stamp
    decisions: Decisions
    after: OrgState  # the org as this cycle read it
    earlier: Earlier  # what syncd knew before it
    # Records whose rule inputs or flags changed (an incremental cycle's reads): people's
    # actions and hand edits on records syncd had no need to write.
    observed: Collection[str]
    ledger: LedgerMoves


def cycle_history(
    facts: CycleFacts, mapping: FieldMapping, landed: Sequence[RecordWrite]
) -> Iterator[HistoryEvent]:
    """Every event of the cycle: its landed writes, the other records it saw change, the
    ledger's moves, in that order."""
    recorder = _Recorder(facts, FlagNames(mapping))
    done: set[str] = set()
    for sobject, writes in _batches((w.sobject, w) for w in landed):
        facts.earlier.load(sobject, [w.record_id for w in writes])
        for write in writes:
            done.add(write.record_id)
            yield from recorder.events(sobject, write.record_id, write)
    snapshot = facts.after.snapshot
    rest = sorted(i for i in facts.observed if i not in done)
    for sobject, records in (
        (mapping.account.sobject, snapshot.accounts),
        (mapping.opportunity.sobject, snapshot.opportunities),
    ):
        for _, ids in _batches((sobject, i) for i in rest if i in records):
            facts.earlier.load(sobject, ids)
            for record_id in ids:
                yield from recorder.events(sobject, record_id, None)
    yield from _ledger(facts)


class _Recorder:
    def __init__(self, facts: CycleFacts, names: FlagNames) -> None:
        self.facts, self.names = facts, names

    def events(self, sobject: str, record_id: str, write: RecordWrite | None) -> list[HistoryEvent]:
        return record_events(self.facts.stamp, self.seen(sobject, record_id, write))

    def seen(self, sobject: str, record_id: str, write: RecordWrite | None) -> Seen:
        facts, names = self.facts, self.names
        kind = names.sobjects[sobject]
        held = write.held if write is not None else facts.after.current.get(record_id, {})
        written = names.flags(kind, write.values) if write is not None else None
        known = names.flags(kind, facts.earlier.values(record_id))
        if kind == ACCOUNT:
            account = facts.decisions.accounts.get(record_id)
            codes = account.reasons if account else ()
            return Seen(kind, record_id, None, codes, written, names.flags(kind, held) or {}, known)
        deal = facts.decisions.opportunities.get(record_id)
        now = facts.after.snapshot.opportunities.get(record_id)
        return Seen(
            kind,
            record_id,
            now.account_id if now else deal.account_id if deal else None,
            deal.reasons if deal else (),
            written,
            names.flags(kind, held) or {},
            known,
            before=facts.earlier.deal(record_id),
            after=now,
        )


def _ledger(facts: CycleFacts) -> list[HistoryEvent]:
    deals = facts.after.snapshot.opportunities
    moves = facts.ledger
    accounts = {
        e.opportunity_id: deals[e.opportunity_id].account_id if e.opportunity_id in deals else None
        for e in moves.saved
    }
    return ledger_events(facts.stamp, moves.before, moves.saved, moves.adopted, accounts)


T = TypeVar("T")


def _batches(items: Iterable[tuple[str, T]]) -> Iterator[tuple[str, list[T]]]:
    """Runs of at most BATCH items of one sobject, in order."""
    chunk: list[T] = []
    current = ""
    for sobject, item in items:
        if chunk and (sobject != current or len(chunk) >= BATCH):
            yield current, chunk
            chunk = []
        current = sobject
        chunk.append(item)
    if chunk:
        yield current, chunk
