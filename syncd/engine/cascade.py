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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from syncd.engine.domain import Snapshot
from syncd.engine.inputs import ACCOUNT, OPPORTUNITY, USER, Hop, Record
from syncd.engine.links import AnyOf, LinkIndex, Links
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
    """The accounts and deals to re-evaluate (only ones present after the changes).

    ``reads``: the records deciding them reads (their neighbourhood), when known; a
    scoped evaluation then looks at nothing else (None: the whole snapshot).
    """

    accounts: frozenset[str]
    opportunities: frozenset[str]
    reads: Snapshot | None = None

    @property
    def empty(self) -> bool:
        return not (self.accounts or self.opportunities)

    @property
    def total(self) -> int:
        return len(self.accounts) + len(self.opportunities)


def everything(snapshot: Snapshot) -> Scope:
    return Scope(frozenset(snapshot.accounts), frozenset(snapshot.opportunities))


def records_by_kind(snapshot: Snapshot) -> dict[str, Mapping[str, Record]]:
    return {OPPORTUNITY: snapshot.opportunities, ACCOUNT: snapshot.accounts, USER: snapshot.users}


# Per kind of record, the declared paths of decisions that end at one.
_PATHS = decision_paths()
_ENDING_AT = {
    kind: [(root, path) for root, path in _PATHS if (path[-1].target if path else root) == kind]
    for kind in (OPPORTUNITY, ACCOUNT, USER)
}


def affected(
    before: Snapshot, after: Snapshot, changes: Changes, links: Links | None = None
) -> Scope:
    """The accounts and deals whose decisions may differ because of ``changes``.

    ``links``: the links of every record, as they are after the changes or as they were
    before them (a daemon's index kept up to date, a store's table); None indexes
    ``after`` here. Either way the changed records' links count both as they were and
    as they are, so only they need to be in ``before`` and ``after``.
    """
    return within(after, reach(before, after, changes, links))


def reach(
    before: Snapshot, after: Snapshot, changes: Changes, links: Links | None = None
) -> dict[str, set[str]]:
    """Kind -> the Ids ``changes`` reach, some maybe gone (``affected`` keeps the others)."""
    scope: dict[str, set[str]] = {OPPORTUNITY: set(), ACCOUNT: set()}
    if changes.empty:
        return scope
    changed = {OPPORTUNITY: changes.opportunities, ACCOUNT: changes.accounts, USER: changes.users}
    old, new = records_by_kind(before), records_by_kind(after)
    was, now = (
        LinkIndex({kind: _only(records[kind], ids) for kind, ids in changed.items()})
        for records in (old, new)
    )
    walk = _Walk((LinkIndex(new) if links is None else links, was, now))
    for kind, ids in changed.items():
        for root, path in _ENDING_AT[kind] if ids else ():
            scope[root] |= walk.back(path, set(ids))
    return scope


def within(snapshot: Snapshot, reached: Mapping[str, set[str]]) -> Scope:
    """The reached accounts and deals that ``snapshot`` holds."""
    return Scope(
        frozenset(a for a in reached[ACCOUNT] if a in snapshot.accounts),
        frozenset(d for d in reached[OPPORTUNITY] if d in snapshot.opportunities),
    )


def _only(records: Mapping[str, Record], ids: Iterable[str]) -> dict[str, Record]:
    return {k: records[k] for k in ids if k in records}


class _Walk:
    def __init__(self, links: tuple[Links, ...]) -> None:
        self.links = AnyOf(*links)

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
            # A shared hop reaches the records holding the values its targets hold (the
            # deals on the same account), before and after.
            keys = self.links.targets(hop, frontier) if hop.shared else frontier
            step = self.links.sources(hop, keys)
            frontier = step - found if hop.transitive else set()
            found |= step
        return found


def changed_ids(before: Mapping[str, object], after: Mapping[str, object]) -> frozenset[str]:
    """Ids added, removed or different between two id -> value mappings."""
    keys = before.keys() | after.keys()
    return frozenset(k for k in keys if before.get(k) != after.get(k))
