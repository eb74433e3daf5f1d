"""Read just what deciding one account or opportunity needs (for ``syncd explain``).

The plan comes from what the rules declare they read (``syncd.engine.rules.catalog``):
from the record, every declared path is followed level by level, with one query per
object and level — the deal's account, partner and registered partner in one Account
query, its owner, the deals on its account; then the parent chain, the incumbent, the
portal owner's company, the manager — a handful of queries instead of a full pull. A
rule that follows a new relationship is fetched for without a change here; the deals'
related sources (``mapping.opportunity.sources``) cost one query each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from syncd.engine.domain import Snapshot
from syncd.engine.inputs import ACCOUNT, OPPORTUNITY, USER, Hop, Record
from syncd.engine.rules.catalog import reads
from syncd.salesforce import OrgClient, pull_by_ids
from syncd.sfid import to_18
from syncd.sync.children import Children, read_rows
from syncd.sync.mapping import FieldMapping, to_account, to_user

OPPORTUNITY_PREFIX = "006"
MAX_CHAIN = 50  # parent chains deeper than this are data errors; the engine notes them

Plan = dict[Hop, "Plan"]  # the hops to follow from a record, and from what they reach


def fetch_plan(root: str) -> Plan:
    """Every declared path from a record of kind ``root``, merged into one tree."""
    plan: Plan = {}
    for read in reads(root):
        node = plan
        for hop in read.path:
            node = node.setdefault(hop, {})
    return plan


def read_related(client: OrgClient, mapping: FieldMapping, record_id: str) -> Snapshot:
    record_id = to_18(record_id)
    root = OPPORTUNITY if record_id.startswith(OPPORTUNITY_PREFIX) else ACCOUNT
    fetcher = _Fetcher(client, mapping)
    level = [(fetch_plan(root), fetcher.by_id(root, {record_id}))]
    for _ in range(MAX_CHAIN):
        steps = [
            (hop, next_plan, records) for plan, records in level for hop, next_plan in plan.items()
        ]
        if not steps:
            break
        fetcher.fetch(steps)
        level = [
            (nxt, reached)
            for hop, plan, records in steps
            for nxt, reached in fetcher.follow(hop, plan, records)
        ]
    found = fetcher.records
    return Snapshot(
        accounts=found[ACCOUNT],  # type: ignore[arg-type]
        opportunities=found[OPPORTUNITY],  # type: ignore[arg-type]
        users=found[USER],  # type: ignore[arg-type]
    )


class _Fetcher:
    """What has been read so far, by kind and Id; one query per kind and way at each level."""

    def __init__(self, client: OrgClient, mapping: FieldMapping) -> None:
        self.client = client
        self.mapping = mapping
        self.records: dict[str, dict[str, Record]] = {OPPORTUNITY: {}, ACCOUNT: {}, USER: {}}
        self.shared_read: set[tuple[Hop, str]] = set()  # (hop, value) already queried
        self.walked: dict[Hop, set[str]] = defaultdict(set)  # chains: records followed from

    def fetch(self, steps: list[tuple[Hop, Plan, list[Record]]]) -> None:
        """Read, in one query per target kind (and one per shared hop), what the steps reach."""
        by_id: dict[str, set[str]] = defaultdict(set)
        for hop, _, records in steps:
            keys = {k for r in records if (k := hop.key(r)) is not None}
            if hop.shared:
                new = {k for k in keys if (hop, k) not in self.shared_read}
                self.shared_read |= {(hop, k) for k in new}
                self.by_value(hop, new)
            else:
                by_id[hop.target] |= keys - self.records[hop.target].keys()
        for kind, ids in by_id.items():
            self.by_id(kind, ids)

    def follow(
        self, hop: Hop, plan: Plan, records: list[Record]
    ) -> Iterator[tuple[Plan, list[Record]]]:
        """The next level from what ``hop`` reached: its own plan, and for a chain, the hop
        again from the records it reached for the first time."""
        keys = {k for r in records if (k := hop.key(r)) is not None}
        known = self.records[hop.target]
        if hop.shared:
            reached = [r for r in known.values() if hop.key(r) in keys]
        else:
            reached = [known[k] for k in sorted(keys) if k in known]
        if plan:
            yield plan, reached
        if hop.transitive:  # a looping chain ends where it has been
            walked = self.walked[hop]
            walked.update(r.id for r in records)
            fresh = [r for r in reached if r.id not in walked]
            if fresh:
                yield {hop: plan}, fresh

    def by_id(self, kind: str, ids: set[str]) -> list[Record]:
        return self._read(kind, ids, "id")

    def by_value(self, hop: Hop, values: set[str]) -> list[Record]:
        return self._read(hop.target, values, hop.attr)

    def _read(self, kind: str, wanted: Iterable[str], attr: str) -> list[Record]:
        section = self.mapping.section(kind)
        key = getattr(section.read, attr)
        pages = _pages(self.client, section.sobject, self.mapping.fields(kind), wanted, key)
        rows = [r for page in pages for r in page]
        converted = self._convert(kind, rows)
        for record in converted:
            self.records[kind].setdefault(record.id, record)
        return converted

    def _convert(self, kind: str, rows: list[dict[str, Any]]) -> list[Record]:
        if kind == ACCOUNT:
            return [to_account(r, self.mapping) for r in rows]
        if kind == USER:
            return [to_user(r, self.mapping) for r in rows]
        children = Children(self.mapping)
        ids = [str(r["Id"]) for r in rows]  # their related rows: one query per source
        related = {s.key: read_rows(self.client, s, ids) for s in children.sources if ids}
        return [children.opportunity(r, related) for r in rows]


def _pages(
    client: OrgClient, sobject: str, fields: list[str], ids: Iterable[str], key: str
) -> Iterator[list[dict[str, Any]]]:
    wanted = sorted(set(ids))
    if wanted:
        yield from pull_by_ids(client, sobject, fields, wanted, id_field=key)
