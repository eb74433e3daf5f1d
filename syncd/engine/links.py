"""Who links to whom through the relationships decisions follow, kept up to date.

A link is one ``Hop`` of ``syncd.engine.inputs`` read on one record: the deal's account,
the account's parent, the deal's owner, ... The cascade walks links backwards (which
deals does this changed account reach?), and a fresh process loads what a scope needs by
walking them forwards. Two hops reading the same attribute of the same kind of record
(a deal's account, and the deals sharing it) are one link, named after the first.

``LinkIndex`` holds the links of records in memory, updated record by record, so a daemon
never re-indexes a large org for a small change; the store keeps the same links in a
table (``syncd.store.links``) for a process that has not loaded the org.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Protocol

from syncd.engine.inputs import HOPS, Hop, Record
from syncd.engine.rules.catalog import decision_paths

# The hops any decision follows (enforcement-only ones, like the rep's manager, re-decide
# nothing and are found from the records themselves).
DECIDING = tuple(h for h in HOPS if any(h in path for _, path in decision_paths()))
_NAMES = {(h.source, h.attr): h.name for h in reversed(DECIDING)}
NAMES = tuple(dict.fromkeys(_NAMES[(h.source, h.attr)] for h in DECIDING))
# Per kind of record: (link name, the hop that reads it), one per link.
_BY_KIND = {
    kind: tuple({_NAMES[(h.source, h.attr)]: h for h in DECIDING if h.source == kind}.items())
    for kind in {h.source for h in DECIDING}
}


def link_name(hop: Hop) -> str:
    """The link ``hop`` follows (one name per kind of record and attribute)."""
    return _NAMES[(hop.source, hop.attr)]


def links_of(kind: str, record: Record) -> Iterator[tuple[str, str]]:
    """(link name, target) for each link ``record`` (of kind ``kind``) holds."""
    for name, hop in _BY_KIND.get(kind, ()):
        target = hop.key(record)
        if target is not None:
            yield name, target


class Links(Protocol):
    """Links of a set of records, both ways."""

    def sources(self, hop: Hop, keys: Collection[str]) -> set[str]:
        """The records whose ``hop`` leads to any of ``keys``."""
        ...

    def targets(self, hop: Hop, ids: Collection[str]) -> set[str]:
        """Where ``hop`` leads from any of the records ``ids`` (those it knows)."""
        ...


class LinkIndex:
    """The links of the given records (kind -> Id -> record), in memory.

    ``records`` is kept, not copied: ``targets`` reads the records themselves, and a
    caller that changes a record in it says so with ``moved`` (old version, new version).
    """

    def __init__(self, records: Mapping[str, Mapping[str, Record]]) -> None:
        self.records = records
        # Sets, not lists: a partner account links to a good share of a large org's deals,
        # and a change must unlink one of them without a scan.
        self.by_target: dict[str, dict[str, set[str]]] = {name: {} for name in NAMES}
        for kind, items in records.items():
            if kind in _BY_KIND:
                for key, record in items.items():
                    self._link(kind, key, record)

    def moved(self, kind: str, key: str, old: Record | None, new: Record | None) -> None:
        """Record ``key`` changed from ``old`` to ``new`` (None: absent)."""
        if kind not in _BY_KIND:
            return
        if old is not None:
            for name, target in links_of(kind, old):
                sources = self.by_target[name].get(target)
                if sources is not None:
                    sources.discard(key)
                    if not sources:
                        del self.by_target[name][target]
        if new is not None:
            self._link(kind, key, new)

    def _link(self, kind: str, key: str, record: Record) -> None:
        for name, target in links_of(kind, record):
            found = self.by_target[name].get(target)
            if found is None:
                self.by_target[name][target] = {key}
            else:
                found.add(key)

    def sources(self, hop: Hop, keys: Collection[str]) -> set[str]:
        index = self.by_target[link_name(hop)]
        return {s for k in keys for s in index.get(k, ())}

    def targets(self, hop: Hop, ids: Collection[str]) -> set[str]:
        records = self.records.get(hop.source, {})
        found = set()
        for key in ids:
            record = records.get(key)
            target = hop.key(record) if record is not None else None
            if target is not None:
                found.add(target)
        return found


class AnyOf:
    """The links any of several sets of links know (e.g. a store's, and the changes')."""

    def __init__(self, *links: Links) -> None:
        self.links = links

    def sources(self, hop: Hop, keys: Collection[str]) -> set[str]:
        return set().union(*(links.sources(hop, keys) for links in self.links))

    def targets(self, hop: Hop, ids: Collection[str]) -> set[str]:
        return set().union(*(links.targets(hop, ids) for links in self.links))


def link_rows(records: Mapping[str, Mapping[str, Record]]) -> Iterator[tuple[str, str, str]]:
    """(link, source, target) of every link the records (kind -> Id -> record) hold."""
    for kind, items in records.items():
        for key, record in items.items():
            for name, target in links_of(kind, record):
                yield name, key, target
