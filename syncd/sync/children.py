"""Related child objects, declared in the mapping (``RelatedSource``), read with the deals.

The reader, the org state, ``explain``'s fetch and ``syncd check`` iterate over
``mapping.opportunity.sources`` and meet the rows only here: how to query them (all, or
those of some deals), how they sit in memory and in the store's mirror, and how they lay
over a deal's own fields before it becomes a domain ``Opportunity``. A deal-registration
object of the org's own is then a mapping entry, not a change to the code.

Rows in memory (``Rows``): source key -> deal Id -> the row's values in ``fills`` order
(the bare value when the source fills one key: a million deals' partners cost no more
than an Id each).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from syncd.engine.domain import Opportunity, Registration
from syncd.engine.picklist import Choices
from syncd.salesforce import OrgClient
from syncd.salesforce.soql import id_chunks, identifier, select, soql_format
from syncd.sync.mapping import FieldMapping, OpportunityRead, RelatedSource, to_opportunity

Packed = Any  # one row's values: the bare value of a one-key source, else a tuple
Rows = dict[str, dict[str, Packed]]  # source key -> deal Id -> its row's values
Page = list[dict[str, Any]]


def wheres(source: RelatedSource, parent_ids: list[str] | None) -> list[str]:
    """The WHERE clauses reading a source's rows: all of them, or those of some deals."""
    filters = [soql_format(f"{identifier(f)} = {{}}", v) for f, v in source.where]
    parent = identifier(source.parent_field)
    if parent_ids is None:
        return [" AND ".join(filters)] if filters else [""]
    return [
        " AND ".join([*filters, soql_format(f"{parent} IN {{}}", chunk)])
        for chunk in id_chunks(parent_ids)
    ]


def read_rows(
    client: OrgClient, source: RelatedSource, parent_ids: list[str] | None
) -> dict[str, Packed]:
    """Deal Id -> its row's values (all deals, or ``parent_ids``): one query per chunk."""
    rows: dict[str, tuple[str, Packed]] = {}
    for where in wheres(source, parent_ids):
        soql = select(source.sobject, ["Id", *source.fields], where=where or None)
        for record in client.query(soql):
            parent, row_id = record.get(source.parent_field), str(record.get("Id") or "")
            if parent and (parent not in rows or row_id > rows[parent][0]):
                rows[parent] = (row_id, pack(source, record))
    return {parent: packed for parent, (_, packed) in rows.items() if packed is not None}


def pack(source: RelatedSource, record: Mapping[str, Any]) -> Packed:
    """A row's values as kept; None when it holds none (it fills nothing)."""
    values = tuple(record.get(f) for _, f in source.fills)
    if all(v is None or v == "" for v in values):
        return None
    return values[0] if len(values) == 1 else values


def _values(source: RelatedSource, packed: Packed) -> tuple[Any, ...]:
    return (packed,) if len(source.fills) == 1 else tuple(packed)


def mirror_rows(source: RelatedSource, rows: Mapping[str, Packed]) -> Page:
    """The rows as the store's mirror keeps them: ``{"Id": deal, field: value, ...}``."""
    fields = [f for _, f in source.fills]
    return [
        {"Id": deal, **dict(zip(fields, _values(source, packed), strict=True))}
        for deal, packed in rows.items()
        if packed is not None
    ]


def from_mirror(source: RelatedSource, records: Iterable[Mapping[str, Any]]) -> dict[str, Packed]:
    found = ((str(r["Id"]), pack(source, r)) for r in records)
    return {deal: packed for deal, packed in found if packed is not None}


def keys(mapping: FieldMapping) -> tuple[str, ...]:
    """The mirror keys of the mapping's related sources."""
    return tuple(s.key for s in mapping.opportunity.sources)


class Children:
    """A mapping's related sources, ready to turn a deal and its rows into an Opportunity."""

    def __init__(self, mapping: FieldMapping) -> None:
        self.mapping = mapping
        self.sources = mapping.opportunity.sources
        self.read = _read_with_rows(mapping.opportunity.read, self.sources)
        self._labels = [(s.key, [label(s, f) for _, f in s.fills], s) for s in self.sources]

    def opportunity(self, record: Mapping[str, Any], rows: Rows) -> Opportunity:
        """The deal with its rows' values in the keys the sources fill (None without a row)."""
        if not self.sources:
            return to_opportunity(record, self.mapping)
        return to_opportunity(self._laid(record, rows), self.mapping, read=self.read)

    def _laid(self, record: Mapping[str, Any], rows: Rows) -> dict[str, Any]:
        laid = dict(record)
        deal = str(record.get(self.mapping.opportunity.read.id))
        for key, labels, source in self._labels:
            packed = rows.get(key, {}).get(deal)
            if packed is not None:
                laid.update(zip(labels, _values(source, packed), strict=True))
        return laid

    def refill(self, opp: Opportunity, rows: Rows) -> Opportunity:
        """``opp`` with what its rows fill read again (its rows changed, its record did not)."""
        m = self.mapping.opportunity
        part = self._laid({m.read.id: opp.id}, rows)
        fresh = to_opportunity(part, self.mapping, read=self.read)
        filled = {key for s in self.sources for key, _ in s.fills}
        changes: dict[str, Any] = {}
        if "partner_id" in filled:
            changes["partner_id"] = fresh.partner_id
        if filled - {"partner_id"}:
            changes["registration"] = _registration(opp, fresh, filled, m)
        labels = tuple(f"{label}:" for _, names, _ in self._labels for label in names)
        kept = tuple(d for d in opp.defects if not d.startswith(labels))
        changes["defects"] = kept + tuple(d for d in fresh.defects if d.startswith(labels))
        return replace(opp, **changes)


def label(source: RelatedSource, field: str) -> str:
    """How a child's field is named once laid over the deal (never a real field name)."""
    return f"{source.key}.{field}"


@functools.lru_cache(maxsize=16)
def _read_with_rows(read: OpportunityRead, sources: tuple[RelatedSource, ...]) -> OpportunityRead:
    """The deal's read keys, those a source fills read from its laid-over fields instead."""
    names = {key: label(s, f) for s in sources for key, f in s.fills}
    return read.model_copy(update=names)


def _registration(
    old: Opportunity, fresh: Opportunity, filled: set[str], m: Any
) -> Registration | None:
    """A registration read partly from rows: the filled parts fresh, the rest as it was."""
    before, now = old.registration, fresh.registration

    def part(key: str, attr: str) -> Any:
        source = now if f"registration_{key}" in filled else before
        return getattr(source, attr) if source is not None else None

    partner, status = part("partner_id", "partner_id"), part("status", "status")
    if partner is None and status is None:
        return None
    return Registration(
        partner_id=partner,
        status=status,
        approved=status in Choices(m.registration_approved_values),
        approved_on=part("approved_on", "approved_on"),
        expires_on=part("expires_on", "expires_on"),
    )
