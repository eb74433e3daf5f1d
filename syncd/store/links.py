"""The links table: the relationships decisions follow between mirrored records, in SQL.

Written in the cycle's commit (``save_links``): a full read replaces every row, a change
read the rows of the records whose rule inputs changed. ``StoreLinks`` answers the
cascade and the neighbourhood walk (``syncd.engine.links.Links``) for a process that has
not loaded the org — as the links were at the last commit.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from syncd.engine.inputs import Hop
from syncd.engine.links import NAMES, link_name
from syncd.store.batches import batches, chunks
from syncd.store.commit import LinkChange
from syncd.store.tables import mirror_links


def save_links(conn: Connection, change: LinkChange) -> None:
    if change.complete:
        conn.execute(delete(mirror_links))
    else:
        for chunk in chunks(sorted(set(change.sources))):
            where = mirror_links.c.link.in_(NAMES), mirror_links.c.source.in_(chunk)  # by key
            conn.execute(delete(mirror_links).where(*where))
    rows = (
        {"link": link, "source": source, "target": target} for link, source, target in change.rows
    )
    for batch in batches(rows):
        conn.execute(insert(mirror_links), batch)


def clear_links(conn: Connection) -> None:
    conn.execute(delete(mirror_links))


class StoreLinks:
    """The committed links, looked up a batch at a time."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def sources(self, hop: Hop, keys: Collection[str]) -> set[str]:
        return self._lookup(hop, keys, mirror_links.c.target, mirror_links.c.source)

    def targets(self, hop: Hop, ids: Collection[str]) -> set[str]:
        return self._lookup(hop, ids, mirror_links.c.source, mirror_links.c.target)

    def _lookup(self, hop: Hop, values: Collection[str], by: Any, wanted: Any) -> set[str]:
        found: set[str] = set()
        if not values:
            return found
        name = link_name(hop)
        with self.store.begin() as conn:
            for chunk in chunks(sorted(set(values))):
                query = select(wanted).where(mirror_links.c.link == name, by.in_(chunk))
                found.update(value for (value,) in conn.execute(query))
        return found
