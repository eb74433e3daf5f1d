"""Bulk API 2.0 query: create a job, poll it, read its CSV results page by page.

HTTP goes through simple-salesforce's Bulk 2.0 client (``sf.bulk2.<Object>._client``);
each step runs inside ``OrgClient._call`` so retries, re-authentication and error
classification apply exactly as for REST calls. We poll with our own loop because the
library's ``wait_for_job`` sleeps half a second before its first look and waits up to a
day; here the first poll is immediate, later ones back off, and the total wait is bounded.

CSV carries no types, so values are typed from the object's describe: booleans become
``bool``, ``int``/``long`` fields ``int``, ``double``/``currency``/``percent`` ``float``,
empty cells ``None`` and everything else ``str``. Datetimes are rewritten from Bulk's
``...000Z`` to REST's ``...000+0000`` so a record read by Bulk is byte-for-byte the record
REST would have given (the mirror and watermarks compare them as strings).

Results pages are fetched here, not by the library's ``get_query_results``: it reads a
missing ``Sforce-Locator`` as "last page" (silently dropping the rest of the result) and
a missing ``Sforce-NumberOfRecords`` as a bare KeyError. Salesforce always sends both
(the locator is ``null`` on the last page), so an answer without them is refused.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation, _Bulk2Client
from simple_salesforce.util import call_salesforce

from syncd.errors import FatalSyncError, RetriableError
from syncd.salesforce.csv_lines import csv_lines
from syncd.salesforce.soql import identifier

T = TypeVar("T")
Caller = Callable[[str, Callable[[Salesforce], T]], T]

MAX_POLL_SECONDS = 10.0  # a long job costs a few dozen status calls, not thousands
POLL_GROWTH = 1.5
_FROM = re.compile(r"\bFROM\s+([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)
_INTEGERS = frozenset({"int", "long"})
_FLOATS = frozenset({"double", "currency", "percent"})
_CONVERTED = _INTEGERS | _FLOATS | {"boolean", "datetime"}
_DONE, _FAILED = "JobComplete", frozenset({"Failed", "Aborted"})
_WAITING = frozenset({"UploadComplete", "InProgress", "Open"})
LOCATOR, RECORD_COUNT = "Sforce-Locator", "Sforce-NumberOfRecords"
BULK_PAGE_BYTES = 32_000_000  # CSV bytes a results page holds, about (syncd's budget)
# Before the first page tells, and with no sample of the rows (``row_bytes``), a row is
# taken as this wide: the first page asks for BULK_PAGE_BYTES / 640 = 50,000 rows.
ASSUMED_ROW_BYTES = 640


class BulkJobFailed(FatalSyncError):
    """A Bulk 2.0 query job ended Failed or Aborted; REST paging may still read the data."""

    def __init__(self, job_id: str, state: str, message: str) -> None:
        self.job_id, self.state = job_id, state
        super().__init__(
            f"Bulk API 2.0 query job {job_id} ended {state}: {message}. Look it up in Setup > "
            "Bulk Data Load Jobs; a smaller full-load threshold makes syncd use REST instead."
        )


@dataclass(frozen=True)
class BulkQuery:
    """One query to run through Bulk 2.0 and how patiently to wait for it."""

    soql: str
    sobject: str
    types: Mapping[str, str]  # lower-case field name -> describe type
    include_deleted: bool = False
    page_bytes: int = BULK_PAGE_BYTES  # CSV a results page may hold, about
    page_records: int | None = None  # and at most this many rows (None: bytes decide)
    row_bytes: float | None = None  # a row's CSV width, from a sample (sizes the 1st page)
    poll_seconds: float = 0.2
    timeout_seconds: float = 3600.0


def sobject_of(soql: str) -> str:
    """The object after the first FROM (syncd's queries have no sub-selects)."""
    match = _FROM.search(soql)
    if match is None:
        raise ValueError(f"cannot find 'FROM <object>' in the bulk query {soql!r}")
    return identifier(match[1], "object")


def field_types(describe: Mapping[str, Any]) -> dict[str, str]:
    """Lower-case field name -> describe ``type`` (``boolean``, ``int``, ``currency``, ...)."""
    return {
        str(f["name"]).lower(): str(f.get("type", "string"))
        for f in describe.get("fields") or ()
        if isinstance(f, Mapping) and f.get("name")
    }


def csv_row_bytes(records: Sequence[Mapping[str, Any]]) -> float | None:
    """About how wide a row of these records is in a results page's CSV (every value
    quoted, comma-separated, one line each), from REST records of the same query: what
    sizes the first results page before one was seen. None without a sample."""
    if not records:
        return None
    # two quotes and a separator (or the line's end) per cell
    text = sum(len(_cell(v)) + 3 for record in records for v in record.values())
    return text / len(records)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run(
    call: Caller[Any],
    query: BulkQuery,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_page: Callable[[int, int], None] = lambda size, rows: None,
) -> Iterator[list[dict[str, Any]]]:
    """Create the job, wait for it, then yield its rows, typed, ``DECODE_ROWS`` at a time.

    Pipelined: while the caller works on one results page, the next is already being
    fetched (one call in flight, so at most two pages' CSV text are held). A page asks
    for as many rows as ``query.page_bytes`` of CSV hold, judged by the pages so far.
    ``on_page`` is told each page's CSV size and rows.
    """
    job_id = _create(call, query)
    _wait(call, query, job_id, sleep, clock)
    sizer = _PageSizer(query.page_bytes, query.page_records, query.row_bytes)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncd-bulk-read") as pool:
        pending: Future[dict[str, Any]] | None = pool.submit(
            _fetch, call, query, job_id, "", sizer.next_rows()
        )
        try:
            while pending is not None:
                result = pending.result()
                text = result["records"]
                on_page(len(text), result["number_of_records"])
                locator = result["locator"]
                pending = None
                if locator:  # the next page travels while this one is decoded
                    sizer.saw(len(text), result["number_of_records"])
                    pending = pool.submit(_fetch, call, query, job_id, locator, sizer.next_rows())
                yield from _decoded(text, result["number_of_records"], query.types, job_id)
        finally:
            if pending is not None:
                pending.cancel()


DECODE_ROWS = 5_000  # rows typed and handed on at once: a page is never held decoded


class _PageSizer:
    """maxRecords for the next page: its byte budget at the bytes a row took so far."""

    def __init__(self, page_bytes: int, cap: int | None, row_bytes: float | None = None) -> None:
        self.page_bytes, self.cap = page_bytes, cap
        self.assumed = row_bytes or ASSUMED_ROW_BYTES
        self.bytes, self.rows = 0, 0

    def saw(self, size: int, rows: int) -> None:
        self.bytes, self.rows = self.bytes + size, self.rows + rows

    def next_rows(self) -> int:
        per_row = self.bytes / self.rows if self.rows else self.assumed
        rows = max(1, int(self.page_bytes / max(per_row, 1.0)))
        return min(rows, self.cap) if self.cap else rows


def _fetch(
    call: Caller[Any], query: BulkQuery, job_id: str, locator: str, size: int
) -> dict[str, Any]:
    fetch = partial(_results, sobject=query.sobject, job_id=job_id, locator=locator, size=size)
    return call(f"bulk results {query.sobject}", fetch)  # type: ignore[no-any-return]


def _decoded(
    text: str | bytes, expected: int, types: Mapping[str, str], job_id: str
) -> Iterator[list[dict[str, Any]]]:
    """A page's rows, typed, in chunks; refused when the count disagrees with its header."""
    count = 0
    for records in _chunks(parse_rows(text, types, job_id), DECODE_ROWS):
        count += len(records)
        if count > expected:
            break
        yield records
    if count != expected:
        raise FatalSyncError(
            f"Bulk query job {job_id}: Sforce-NumberOfRecords says "
            f"{expected} but the CSV page holds {'more than ' if count > expected else ''}"
            f"{count if count <= expected else expected} rows"
        )


def _chunks(rows: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _client(sf: Salesforce, sobject: str) -> _Bulk2Client:
    # sf.bulk2 is rebuilt on every access with the session's current token, so a call
    # retried after re-authentication carries the new one.
    return getattr(sf.bulk2, sobject)._client


def _results(
    sf: Salesforce, *, sobject: str, job_id: str, locator: str, size: int
) -> dict[str, Any]:
    client = _client(sf, sobject)
    params: dict[str, Any] = {"maxRecords": size}
    if locator:
        params["locator"] = locator
    response = call_salesforce(
        url=f"{client.bulk2_url}query/{job_id}/results",
        method="GET",
        session=client.session,
        headers={**client.headers, "Accept": "text/csv"},
        params=params,
    )
    return results_page(response, job_id)


def results_page(response: requests.Response, job_id: str) -> dict[str, Any]:
    """locator (empty on the last page), number_of_records and the CSV text of a page."""
    missing = [name for name in (LOCATOR, RECORD_COUNT) if name not in response.headers]
    if missing:
        raise LookupError(f"results of Bulk query job {job_id} without {', '.join(missing)}")
    count, locator = response.headers[RECORD_COUNT], response.headers[LOCATOR]
    if not count.isdigit():
        raise ValueError(f"results of Bulk query job {job_id} with {RECORD_COUNT}: {count!r}")
    return {
        "locator": "" if locator == "null" else locator,
        "number_of_records": int(count),
        "records": response.content,  # decoded line by line as it is parsed (parse_rows)
    }


def _status(sf: Salesforce, *, sobject: str, job_id: str) -> Mapping[str, Any]:
    info = _client(sf, sobject).get_job(job_id, True)
    state = info.get("state") if isinstance(info, Mapping) else None
    if state not in _WAITING | _FAILED | {_DONE}:
        raise ValueError(f"Bulk query job {job_id} reports the state {state!r}")
    return info  # type: ignore[no-any-return]


def _create(call: Caller[Any], query: BulkQuery) -> str:
    operation = Operation.query_all if query.include_deleted else Operation.query
    info = call(
        f"bulk job {query.sobject}",
        lambda sf: _client(sf, query.sobject).create_job(operation, query.soql),
    )
    job_id = info.get("id") if isinstance(info, Mapping) else None
    if not job_id:
        raise FatalSyncError(f"Salesforce created a bulk query job on {query.sobject} without id")
    return str(job_id)


def _wait(
    call: Caller[Any],
    query: BulkQuery,
    job_id: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    deadline = clock() + query.timeout_seconds
    interval = query.poll_seconds
    while True:
        info = call(f"bulk status {job_id}", partial(_status, sobject=query.sobject, job_id=job_id))
        state = str(info["state"])
        if state == _DONE:
            return
        if state in _FAILED:
            raise BulkJobFailed(job_id, state, str(info.get("errorMessage") or "no errorMessage"))
        if clock() + interval > deadline:
            raise RetriableError(
                f"Bulk query job {job_id} on {query.sobject} is still {state or 'unknown'} after "
                f"{query.timeout_seconds:g} s; the next cycle starts a new one"
            )
        sleep(interval)
        interval = min(interval * POLL_GROWTH, MAX_POLL_SECONDS)


def parse_page(
    text: str | bytes, types: Mapping[str, str], job_id: str = "?"
) -> list[dict[str, Any]]:
    """A results page (header row + rows) as typed record dicts."""
    return list(parse_rows(text, types, job_id))


def parse_rows(
    text: str | bytes, types: Mapping[str, str], job_id: str = "?"
) -> Iterator[dict[str, Any]]:
    """The rows of a results page, typed one at a time (the page is never held decoded).

    A page as Salesforce sent it (UTF-8 bytes) is decoded a line at a time (``csv_lines``).
    """
    try:
        yield from _typed_rows(csv_lines(text), types, job_id)
    except UnicodeDecodeError as exc:
        raise FatalSyncError(
            f"Bulk query job {job_id}: a results page is not UTF-8 ({exc.reason} at byte "
            f"{exc.start} of a line)"
        ) from exc


def _typed_rows(
    lines: Iterator[str], types: Mapping[str, str], job_id: str
) -> Iterator[dict[str, Any]]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    # Most columns are text (Ids, picklists, names): only "" -> None; the others typed.
    converted = [
        (index, name, kind)
        for index, (name, kind) in enumerate((n, types.get(n.lower())) for n in header)
        if kind in _CONVERTED
    ]
    for line, row in enumerate(reader, start=2):
        if len(row) != len(header):
            raise FatalSyncError(
                f"Bulk query job {job_id}: CSV row {line} has {len(row)} values for "
                f"{len(header)} columns"
            )
        record = {name: value or None for name, value in zip(header, row, strict=True)}
        for index, name, kind in converted:
            record[name] = typed(row[index], kind, name, job_id)
        yield record


def typed(value: str, kind: str | None, name: str = "?", job_id: str = "?") -> Any:
    """One CSV cell as the REST API would have given it."""
    if value == "":
        return None
    try:
        if kind == "boolean":
            return _boolean(value)
        if kind in _INTEGERS:
            return int(value)
        if kind in _FLOATS:
            return float(value)
    except ValueError as exc:
        raise FatalSyncError(
            f"Bulk query job {job_id}: field {name} ({kind}) holds {value!r}, not a {kind}"
        ) from exc
    if kind == "datetime" and value.endswith("Z"):
        return value[:-1] + "+0000"
    return value


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ValueError(value)
    return lowered == "true"


__all__ = [
    "BulkJobFailed",
    "BulkQuery",
    "field_types",
    "parse_page",
    "parse_rows",
    "run",
    "sobject_of",
    "typed",
]
