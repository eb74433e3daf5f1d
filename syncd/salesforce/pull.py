"""Pull records: everything, or what changed since a watermark, or a given set of ids.

Incremental pulls query ``watermark >= since - overlap ORDER BY watermark``: the overlap
catches rows that long transactions committed with earlier timestamps (facts B,
"Incremental sync"), and the caller handles records idempotently, so seeing a record
twice is harmless while missing one is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from syncd.salesforce.client import OrgClient
from syncd.salesforce.soql import id_chunks, identifier, select, soql_format

Page = list[dict[str, Any]]


def pull(
    client: OrgClient,
    sobject: str,
    fields: Sequence[str],
    *,
    since: datetime | None = None,
    overlap: timedelta = timedelta(minutes=5),
    watermark_field: str = "SystemModstamp",
    include_deleted: bool = False,
    on_page: Callable[[int], None] | None = None,
) -> Iterator[Page]:
    """Yield pages of ``sobject``; full when ``since`` is None, else changes since it.

    ``on_page`` is told the number of records pulled so far after each page.
    """
    soql = pull_soql(sobject, fields, since=since, overlap=overlap, watermark_field=watermark_field)
    yield from _counted(client.query_pages(soql, include_deleted=include_deleted), on_page)


def pull_soql(
    sobject: str,
    fields: Sequence[str],
    *,
    since: datetime | None = None,
    overlap: timedelta = timedelta(minutes=5),
    watermark_field: str = "SystemModstamp",
    where: str | None = None,
) -> str:
    """The query ``pull`` runs: every row, or ``watermark >= since - overlap`` in order.

    ``where``: a further condition (already built with ``soql_format``), ANDed.
    """
    mark = identifier(watermark_field)
    order_by = None
    if since is not None:
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError(
                f"pull({sobject}): since={since.isoformat()} is a naive datetime; "
                "pass a timezone-aware one (e.g. datetime.now(UTC))"
            )
        if overlap < timedelta(0):
            raise ValueError(f"pull({sobject}): overlap must not be negative")
        since_where = soql_format(f"{mark} >= {{}}", since - overlap)
        where = f"({where}) AND {since_where}" if where else since_where
        order_by = mark
    return select(sobject, _with(fields, "Id", mark), where=where, order_by=order_by)


def pull_by_ids(
    client: OrgClient,
    sobject: str,
    fields: Sequence[str],
    ids: Iterable[str],
    *,
    id_field: str = "Id",
) -> Iterator[Page]:
    """Yield pages of the records whose ``id_field`` is in ``ids`` (IN-lists chunked)."""
    key = identifier(id_field)
    columns = _with(fields, "Id", key)
    for chunk in id_chunks(ids):
        soql = select(sobject, columns, where=soql_format(f"{key} IN {{}}", chunk))
        yield from client.query_pages(soql)


def _with(fields: Sequence[str], *required: str) -> list[str]:
    return list(dict.fromkeys([*fields, *required]))


def _counted(pages: Iterator[Page], on_page: Callable[[int], None] | None) -> Iterator[Page]:
    total = 0
    for page in pages:
        total += len(page)
        if on_page is not None:
            on_page(total)
        yield page
