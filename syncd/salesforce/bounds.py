"""The fewest API calls a cycle's reads and writes could cost: the one place for the formula.

Each API has a floor set by its own limits; the true bound of a set of rows is the lowest
floor of the APIs that could move it. With R rows of one object:

========================  ===============================================================
read through              calls
========================  ===============================================================
REST query                max(1, ⌈R / 2,000⌉): a page per 2,000 rows (the API's maximum)
Bulk API 2.0 query        2 + P: create the job, one status poll, P ≥ 1 results pages;
                          P = ⌈CSV bytes / page budget⌉ (syncd bounds a page by bytes, so
                          one page never holds more than its budget in memory)
========================  ===============================================================

Several objects are read together: ONE Composite call carries the first page of up to 5
objects' queries (a cycle's full read and its change read both start that way), then
each object costs its later REST pages or, when fewer, a Bulk query.

Writes: ``writes.lowest_bound`` (Collections ⌈N / 200⌉, Composite of Collections
⌈N / 1,000⌉, Bulk ingest 5 a job; a job's upload holds at most 150 MB once base64
encoded, so a set of writes whose CSV is C bytes needs ⌈C / 112.5 MB⌉ jobs). Describes
(unless they rode along in the first Composite call), extra status polls and a REST
page read before an object turned out big enough for Bulk are overhead above the bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncd.salesforce.bulk import BULK_PAGE_BYTES
from syncd.salesforce.writes import lowest_bound

REST_PAGE = 2_000  # records a REST query page holds at most
COMPOSITE_QUERIES = 5  # query subrequests one Composite call carries
# Past this many rows a Bulk query (3 calls) costs fewer than the REST pages after the
# first (⌈R / 2,000⌉ - 1): the default read threshold (``prefer_bulk``).
BULK_READ_THRESHOLD = 4 * REST_PAGE
INGEST_UPLOAD_BYTES = 150_000_000 * 3 // 4  # CSV one ingest job takes: 150 MB as base64


def ceil_div(n: int, d: int) -> int:
    return -(-n // d)


def rest_query(rows: int) -> int:
    """Calls a REST query of ``rows`` rows costs (an empty result is still one page)."""
    return max(1, ceil_div(rows, REST_PAGE))


def bulk_pages(csv_bytes: int, page_bytes: int = BULK_PAGE_BYTES) -> int:
    """Results pages a Bulk query of ``csv_bytes`` of CSV needs at ``page_bytes`` a page."""
    return max(1, ceil_div(csv_bytes, page_bytes))


def bulk_query(csv_bytes: int = 0, page_bytes: int = BULK_PAGE_BYTES) -> int:
    """Calls a Bulk API 2.0 query costs at least: create, one poll, its results pages."""
    return 2 + bulk_pages(csv_bytes, page_bytes)


def later_pages(rows: int, csv_bytes: int = 0) -> int:
    """Calls one object costs after its first REST page: more pages, or a Bulk query."""
    return min(rest_query(rows) - 1, bulk_query(csv_bytes))


def prefer_bulk(rows: int, described: bool = True) -> bool:
    """Whether a Bulk query reads ``rows`` rows (first page already read) in fewer calls
    than REST paging; without the object's describe at hand, Bulk costs one call more."""
    return bulk_query() + (0 if described else 1) < rest_query(rows) - 1


def read_bound(rows: Mapping[str, int], csv_bytes: Mapping[str, int] | None = None) -> int:
    """The fewest calls reading several objects costs (rows per object; CSV bytes of the
    objects read through Bulk, for their page count)."""
    sizes = csv_bytes or {}
    first = ceil_div(max(1, len(rows)), COMPOSITE_QUERIES)
    return first + sum(later_pages(n, sizes.get(name, 0)) for name, n in rows.items())


def ingest_jobs(csv_bytes: int) -> int:
    """Bulk ingest jobs ``csv_bytes`` of CSV need at least (one upload a job)."""
    return max(1, ceil_div(csv_bytes, INGEST_UPLOAD_BYTES))


def cycle_bound(
    read: Mapping[str, int],
    writes: Iterable[int],
    csv_bytes: Mapping[str, int] | None = None,
    upload_bytes: Iterable[int] = (),
) -> int:
    """The true bound of one cycle: its reads, and each set of writes (records of one
    object written one way) through its cheapest API; ``upload_bytes``: the CSV each set
    took when written through Bulk ingest (its job count), in the order of ``writes``."""
    counts, sizes = list(writes), list(upload_bytes)
    if len(sizes) > len(counts):
        raise ValueError(f"{len(sizes)} upload sizes for {len(counts)} sets of writes")
    sizes += [0] * (len(counts) - len(sizes))  # not written through Bulk ingest: one job
    jobs = (ingest_jobs(size) for size in sizes)
    return read_bound(read, csv_bytes) + sum(map(lowest_bound, counts, jobs))


__all__ = [
    "BULK_PAGE_BYTES",
    "BULK_READ_THRESHOLD",
    "INGEST_UPLOAD_BYTES",
    "REST_PAGE",
    "bulk_pages",
    "bulk_query",
    "cycle_bound",
    "ingest_jobs",
    "later_pages",
    "prefer_bulk",
    "read_bound",
    "rest_query",
]
