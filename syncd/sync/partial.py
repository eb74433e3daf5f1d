"""Just the part of the org a cycle needs: records loaded from the mirror as they are asked.

A fresh process (a cron `syncd sync --once`, a restarted daemon) whose cycle is
incremental does not rebuild the whole org: the records a change read returns are
looked up in the mirror (to tell a change from an echo); the cascade finds what they
reach through the store's table of links; then ``neighbourhood`` loads what deciding
those records reads — following the same declared paths as ``syncd explain``'s fetch
plan — and nothing else. A daemon holding the whole org in memory finds the same
neighbourhood in it, so a scoped evaluation reads only what its decisions read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from syncd.engine.cascade import records_by_kind
from syncd.engine.domain import Snapshot
from syncd.engine.inputs import ACCOUNT, OPPORTUNITY, USER, Hop, Record
from syncd.engine.links import AnyOf, LinkIndex, Links, link_rows
from syncd.store.commit import LinkChange
from syncd.store.history import mirror_lookup, written_lookup
from syncd.store.links import StoreLinks
from syncd.store.store import Store
from syncd.sync.children import from_mirror
from syncd.sync.mapping import FieldMapping
from syncd.sync.orgstate import Applied, OrgState, mirrored
from syncd.sync.related import Plan, fetch_plan

KINDS = (OPPORTUNITY, ACCOUNT, USER)


class MirrorLoader:
    """Fills a partial org state from the store's mirror, each Id looked up once."""

    def __init__(self, store: Store, mapping: FieldMapping) -> None:
        self.store, self.mapping = store, mapping
        self.tried: dict[str, set[str]] = {kind: set() for kind in KINDS}
        self.state = OrgState(Snapshot({}, {}, {}), {}, {}, self)

    def ensure(self, kind: str, ids: Iterable[str]) -> None:
        wanted = set(ids) - self.tried[kind]
        if not wanted:
            return
        self.tried[kind] |= wanted
        sobject = self.mapping.section(kind).sobject
        rows = mirror_lookup(self.store, sobject, wanted)
        if not rows:
            return
        if kind == OPPORTUNITY:
            for source in self.mapping.opportunity.sources:
                found = mirror_lookup(self.store, source.key, rows)
                rows_now = _dict(self.state.related).setdefault(source.key, {})
                rows_now.update(from_mirror(source, found.values()))
        written = written_lookup(self.store, sobject, rows) if kind != USER else {}
        records = _dict(records_by_kind(self.state.snapshot)[kind])
        current = _dict(self.state.current)
        for record, values in mirrored(
            self.mapping, kind, rows.values(), written, self.state.related
        ):
            records[record.id] = record
            if values is not None:
                current[record.id] = values


def _dict(mapping: Mapping[str, Any]) -> dict[str, Any]:
    assert isinstance(mapping, dict)
    return mapping


def neighbourhood(state: OrgState, roots: Mapping[str, Collection[str]], links: Links) -> Snapshot:
    """Every record deciding ``roots`` (kind -> Ids) reads, the roots included.

    Level by level along the declared paths, one lookup per kind and level; ``links``
    finds the records of a shared hop (the deals on the same account). A partial state
    loads what it reaches; a whole one already holds it.
    """
    walk = _Neighbours(state, links)
    level = [(fetch_plan(kind), walk.reach(kind, ids)) for kind, ids in roots.items() if ids]
    while level:
        steps = [
            (hop, sub, walk.targets(hop, ids)) for plan, ids in level for hop, sub in plan.items()
        ]
        wanted: dict[str, set[str]] = defaultdict(set)
        for hop, _, targets in steps:
            wanted[hop.target] |= targets
        reached = {kind: walk.reach(kind, ids) for kind, ids in wanted.items()}
        level = [
            nxt
            for hop, sub, targets in steps
            for nxt in walk.next(hop, sub, targets & reached[hop.target])
        ]
    return Snapshot(walk.found[ACCOUNT], walk.found[OPPORTUNITY], walk.found[USER])  # type: ignore[arg-type]


class _Neighbours:
    def __init__(self, state: OrgState, links: Links) -> None:
        self.state, self.links = state, links
        self.records = records_by_kind(state.snapshot)
        self.found: dict[str, dict[str, Record]] = {kind: {} for kind in KINDS}
        self.walked: dict[Hop, set[str]] = defaultdict(set)  # chains: records followed from

    def reach(self, kind: str, ids: Collection[str]) -> set[str]:
        """The ``ids`` that exist (loaded first, for a partial state)."""
        if self.state.loader is not None:
            self.state.loader.ensure(kind, ids)
        records, found = self.records[kind], self.found[kind]
        present = {i for i in ids if i in records}
        for key in present:
            found[key] = records[key]
        return present

    def targets(self, hop: Hop, ids: Collection[str]) -> set[str]:
        records = self.records[hop.source]
        keys = {k for i in ids if (k := hop.key(records[i])) is not None}
        return self.links.sources(hop, keys) if hop.shared else keys

    def next(self, hop: Hop, sub: Plan, reached: set[str]) -> list[tuple[Plan, set[str]]]:
        """The next level from what ``hop`` reached: its own plan and, for a chain, the hop
        again from the records it reached for the first time (a loop ends)."""
        found = [(sub, reached)] if sub and reached else []
        if hop.transitive:
            fresh = reached - self.walked[hop]
            self.walked[hop] |= fresh
            if fresh:
                found.append(({hop: sub}, fresh))
        return found


def known_links(applied: Applied, store: Store) -> Links:
    """Every record's links after a change read: a whole state's (kept up to date); else
    the store's as the last commit left them, and the changed records' own."""
    if applied.state.loader is None:
        return applied.state.links
    return AnyOf(StoreLinks(store), LinkIndex(applied.changed_records))


def link_change(applied: Applied, *, stored: bool) -> LinkChange:
    """The links a change read's commit saves: the changed records'; every record's while
    the store's are not complete (``stored`` False: a store migrated from before them)."""
    if applied.state.loader is None and not stored:
        return all_links(applied.state.snapshot)
    changes = applied.changes
    return LinkChange(
        sources=[*changes.users, *changes.accounts, *changes.opportunities],
        rows=list(link_rows(applied.changed_records)),
    )


def all_links(snapshot: Snapshot) -> LinkChange:
    """Every record's links (a full read's commit replaces the table with them)."""
    return LinkChange(complete=True, rows=link_rows(records_by_kind(snapshot)))
