"""What an incremental cycle must re-evaluate, given what changed since the last one.

Pure: two snapshots (before and after the changes) and the ids that changed in, a
``Scope`` out. Derived from the rules' own declarations (``syncd.engine.inputs``): a
decision must be redone when any record its declared reads reach has changed. So for
every declared path from a decided record (a deal, an account) to a record of a changed
kind — deal → account → parent chain, deal → owner → portal partner account, deal →
the deals on its account (registration conflicts), ... — the path is walked backwards
from the changed records to the decisions that read them.

Links count as they were and as they are (a deal moved from A to B leaves A's conflict
group and joins B's), and a deleted record counts as a change (its neighbours lose it).
The property tests check the promise that matters: for any change, re-evaluating the
scope and keeping every other decision gives exactly what a full evaluation gives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from syncd.engine.domain import Snapshot
from syncd.engine.inputs import ACCOUNT, HOPS, OPPORTUNITY, USER, Hop, Record, getter
from syncd.engine.rules.catalog import decision_paths


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


def _records(snapshot: Snapshot) -> dict[str, Mapping[str, Record]]:
    return {OPPORTUNITY: snapshot.opportunities, ACCOUNT: snapshot.accounts, USER: snapshot.users}


# The hops any decision follows (enforcement-only ones, like the rep's manager, re-decide
# nothing), and per kind of record the declared paths that end at one.
_PATHS = decision_paths()
_HOPS = tuple(h for h in HOPS if any(h in path for _, path in _PATHS))
_ENDING_AT = {
    kind: [(root, path) for root, path in _PATHS if (path[-1].target if path else root) == kind]
    for kind in (OPPORTUNITY, ACCOUNT, USER)
}


class _Index:
    """For each hop, the records linking to each key (linear in the records given)."""

    def __init__(self, records: Mapping[str, Iterable[tuple[str, Record]]]) -> None:
        self.sources: dict[Hop, dict[str, list[str]]] = {h: defaultdict(list) for h in _HOPS}
        for kind, items in records.items():
            links = [(getter(h.attr), self.sources[h]) for h in _HOPS if h.source == kind]
            if not links:
                continue
            for key, record in items:
                for get, index in links:
                    target = get(record)
                    if target.__class__ is str and target:
                        index[target].append(key)  # type: ignore[index]


def affected(before: Snapshot, after: Snapshot, changes: Changes) -> Scope:
    """The accounts and deals whose decisions may differ because of ``changes``."""
    if changes.empty:
        return Scope(frozenset(), frozenset())
    changed = {OPPORTUNITY: changes.opportunities, ACCOUNT: changes.accounts, USER: changes.users}
    old, new = _records(before), _records(after)
    now = _Index({kind: records.items() for kind, records in new.items()})
    # Links as they were: only changed records can have had other links than they have now.
    was = _Index(
        {kind: [(k, old[kind][k]) for k in ids if k in old[kind]] for kind, ids in changed.items()}
    )
    walk = _Walk((now, was), (old, new))
    scope: dict[str, set[str]] = {OPPORTUNITY: set(), ACCOUNT: set()}
    for kind, ids in changed.items():
        for root, path in _ENDING_AT[kind] if ids else ():
            scope[root] |= walk.back(path, set(ids))
    return Scope(
        frozenset(a for a in scope[ACCOUNT] if a in after.accounts),
        frozenset(d for d in scope[OPPORTUNITY] if d in after.opportunities),
    )


class _Walk:
    def __init__(
        self, indexes: tuple[_Index, ...], snapshots: tuple[dict[str, Mapping[str, Record]], ...]
    ) -> None:
        self.indexes = indexes
        self.snapshots = snapshots

    def back(self, path: tuple[Hop, ...], found: set[str]) -> set[str]:
        """The records whose ``path`` reaches any of ``found``."""
        for hop in reversed(path):
            if not found:
                break
            found = self.sources(hop, found)
        return found

    def sources(self, hop: Hop, targets: set[str]) -> set[str]:
        found: set[str] = set()
        frontier = targets
        while frontier:
            keys = self._keys(hop, frontier) if hop.shared else frontier
            step = {s for i in self.indexes for k in keys for s in i.sources[hop].get(k, ())}
            frontier = step - found if hop.transitive else set()
            found |= step
        return found

    def _keys(self, hop: Hop, targets: set[str]) -> set[str]:
        """The values shared targets hold, before and after (a deal's account, both)."""
        keys = set()
        for records in self.snapshots:
            for target in targets:
                record = records[hop.target].get(target)
                key = hop.key(record) if record is not None else None
                if key is not None:
                    keys.add(key)
        return keys


def changed_ids(before: Mapping[str, object], after: Mapping[str, object]) -> frozenset[str]:
    """Ids added, removed or different between two id -> value mappings."""
    keys = before.keys() | after.keys()
    return frozenset(k for k in keys if before.get(k) != after.get(k))
