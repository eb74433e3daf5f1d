"""Fallbacks of a read: another way to the same rows when the cheaper way fails.

Both apply for the cycle at hand only, and each logs a warning naming the error: a
composite change check that keeps failing (its retries spent) becomes one query per
object; a Bulk API read that fails before its first page becomes REST paging. Neither
applies to a used-up allowance or refused credentials (``errors.stops_cycle``): no other
way of reading gets past those.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import structlog

from syncd.errors import SyncdError
from syncd.salesforce import OrgClient
from syncd.salesforce.errors import error_code, stops_cycle

log = structlog.get_logger("syncd.reader")

Page = list[dict[str, Any]]
Pages = Generator[Page, None, None]


def change_pages(
    client: OrgClient, queries: Mapping[str, tuple[str, bool]], describe: Iterable[str] = ()
) -> tuple[dict[str, tuple[int, Pages]], datetime | None]:
    """The change queries in one composite call, or one query per object if it fails;
    with the org's clock when the (first) query was answered, for the watermarks.
    ``describe``: objects whose describe rides along in the composite (none if it fails)."""
    try:
        pages = client.query_batch(queries, describe=describe)
        return pages, client.server_time
    except SyncdError as exc:
        if stops_cycle(exc):
            raise
        log.warning(
            "pull.changes_composite_failed",
            error_code=error_code(exc),
            error=str(exc),
            fallback="one query per object",
            objects=list(queries),
        )
    pages, asked_at = {}, None
    for name, (soql, deleted) in queries.items():
        pages[name] = client.open_query(soql, include_deleted=deleted)
        asked_at = asked_at or client.server_time  # the earliest: nothing newer is missed
    return pages, asked_at


def bulk_or_rest(sobject: str, bulk: Iterator[Page], rest: Pages) -> Pages:
    """Bulk pages; REST pages instead if the Bulk read fails before its first page.

    ``rest`` is a REST read already open (its first page is paid for; its cursor lives
    two days) or one that opens on first use. It is closed unused once Bulk delivers. A
    failure after Bulk pages were handed on is raised: its rows are already on their way
    and a second read would hand them on twice.
    """
    try:
        first = next(bulk, None)
    except SyncdError as exc:
        if stops_cycle(exc):
            raise
        log.warning(
            "pull.bulk_failed",
            sobject=sobject,
            error_code=error_code(exc),
            error=str(exc),
            fallback="rest",
        )
        yield from rest
        return
    rest.close()
    if first is not None:
        yield first
        yield from bulk


def lazy(open_pages: Callable[[], Iterator[Page]]) -> Pages:
    """A generator that runs ``open_pages`` only when its first page is asked for."""
    yield from open_pages()
