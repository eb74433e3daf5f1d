"""Bulk API 2.0 ingest: insert, update or upsert records through CSV jobs, one result each.

Each upload of at most ``max_upload_bytes`` (100 MB: under simple-salesforce's 100 MiB
check and, base64-encoded, under Salesforce's 150 MB a job) is one job: create
(``Open``), upload the CSV (``ingest_csv``), close (``UploadComplete``), poll until
``JobComplete`` / ``Failed`` / ``Aborted``, then read the results files its counts say
are non-empty (``ingest_results``). Every job is submitted before the first is waited
for, so Salesforce works on all of them at once.

**Calls**, with J jobs (J = ⌈CSV bytes / 100 MB⌉: the 900,000 Opportunity updates of a
first cycle at 1,000,000 deals are 140 MB, ~155 bytes a row with their reasons, so 2):
``Σ_j (3 + P_j + R_j)``: create, upload and close,
P_j ≥ 1 status polls (the first at once, then after ``poll_seconds``, growing by
``poll_growth`` up to ``max_poll_seconds``) and R_j ∈ {1, 2, 3} results files. At
least 5 calls a job; a job with some refused records costs 6 (and 1 more per extra poll).

HTTP goes through simple-salesforce's Bulk 2.0 client (``sf.bulk2.<Object>._client``),
each step inside ``OrgClient._call`` (retries, re-authentication, classified errors), as
``bulk.py`` does for Bulk queries. Results come back in the caller's order: a refused
record carries Salesforce's error code as ``statusCode``; one no result names fails
with ``BULK_UNPROCESSED`` so the next cycle retries it. A job that ends ``Failed`` or
``Aborted`` raises ``BulkIngestFailed``; one still running at the deadline is aborted and
raises ``BulkIngestTimeout``. Both carry every record's result (``.results``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import structlog
import tenacity
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation, _Bulk2Client
from simple_salesforce.util import call_salesforce

from syncd.errors import FatalSyncError, RetriableError, SyncdError
from syncd.salesforce import ingest_csv, ingest_results
from syncd.salesforce.ingest_results import UNPROCESSED
from syncd.salesforce.results import RecordResult

log = structlog.get_logger("syncd.salesforce")
T = TypeVar("T")
Caller = Callable[[str, Callable[[Salesforce], T]], T]
WriteOperation = Literal["insert", "update", "upsert"]

MAX_UPLOAD_BYTES = 100_000_000
_DONE, _ENDED = "JobComplete", frozenset({"JobComplete", "Failed", "Aborted"})


@dataclass(frozen=True)
class WriteJob:
    """What to write: the object, the operation and, for upsert, the external-id field."""

    sobject: str
    operation: WriteOperation = "update"
    external_id: str | None = None

    def __post_init__(self) -> None:
        if self.operation not in ("insert", "update", "upsert"):
            raise ValueError(f"writes are insert, update or upsert; not {self.operation!r}")
        if (self.operation == "upsert") != bool(self.external_id):
            raise ValueError("an upsert needs external_id, and only an upsert takes one")

    @property
    def key(self) -> str | None:
        """The column that identifies a record (None for insert)."""
        return "Id" if self.operation == "update" else self.external_id


def check_records(job: WriteJob, records: Sequence[Mapping[str, Any]]) -> None:
    """Refuse records an operation cannot write (before any call is made)."""
    for index, record in enumerate(records):
        if job.key is not None and record.get(job.key) in (None, ""):
            raise ValueError(f"{job.operation} {job.sobject}: record #{index} has no {job.key}")
        if job.operation == "insert" and record.get("Id"):
            raise ValueError(f"insert {job.sobject}: record #{index} already has an Id")


@dataclass(frozen=True)
class IngestOptions:
    """How patiently to wait for a job, and how large one upload may be."""

    poll_seconds: float = 0.5
    poll_growth: float = 1.5
    max_poll_seconds: float = 10.0
    max_polls: int = 500  # with the defaults the 1 h deadline comes first
    timeout_seconds: float = 3600.0
    max_upload_bytes: int = MAX_UPLOAD_BYTES


class BulkIngestError(SyncdError):
    """A job did not complete; ``results`` still holds one result per record (caller order)."""

    def __init__(self, message: str, results: Sequence[RecordResult]) -> None:
        self.results = tuple(results)
        super().__init__(message)


class BulkIngestFailed(BulkIngestError, FatalSyncError):
    """A job ended Failed or Aborted (an unknown column, aborted in Setup, ...)."""


class BulkIngestTimeout(BulkIngestError, RetriableError):
    """A job was still running at the deadline; syncd aborted it."""


@dataclass
class _Submitted:
    """A job syncd created, uploaded and closed, holding records ``start`` to ``end``."""

    job_id: str
    start: int
    end: int
    state: str = ""
    error: str = ""
    timed_out: bool = False


def run(
    call: Caller[Any],
    job: WriteJob,
    records: Sequence[Mapping[str, Any]],
    options: IngestOptions = IngestOptions(),  # frozen, so sharing it is safe
    sleep: Callable[[float], None] = time.sleep,
    on_upload: Callable[[int], None] = lambda size: None,
) -> list[RecordResult]:
    """Write ``records`` through as many jobs as their CSV needs; one result per record.
    ``on_upload`` is told each job's CSV size (what the call bound's job count is from)."""
    check_records(job, records)
    header = ingest_csv.columns(records, job.key)
    submitted = []
    for chunk in ingest_csv.chunks(records, header, options.max_upload_bytes):
        on_upload(len(chunk.data))
        submitted.append(_submit(call, job, chunk))
        del chunk  # 100 MB: not held while the next one is built
    results: list[RecordResult | None] = [None] * len(records)
    for sub in submitted:
        info = _wait(call, job, sub, options, sleep)
        _collect(call, job, sub, info, records, header, results)
    upsert = job.operation == "upsert"
    final = [
        r or ingest_results.unprocessed(i, "no result of its job names it", upsert=upsert)
        for i, r in enumerate(results)
    ]
    _raise_if_ended_badly(job, submitted, final)
    return final


def _client(sf: Salesforce, *, sobject: str) -> _Bulk2Client:
    # sf.bulk2 is rebuilt on every access with the current token (re-authentication).
    return getattr(sf.bulk2, sobject)._client


def _submit(call: Caller[Any], job: WriteJob, chunk: ingest_csv.Chunk) -> _Submitted:
    client = partial(_client, sobject=job.sobject)
    operation, key = Operation(job.operation), job.external_id
    info = call(
        f"bulk ingest {job.sobject}",
        lambda sf: client(sf).create_job(operation, external_id_field=key),
    )
    job_id = str(info.get("id") or "") if isinstance(info, Mapping) else ""
    if not job_id or info.get("state") != "Open":
        raise FatalSyncError(f"Salesforce's new Bulk ingest job on {job.sobject} is not Open")
    call(f"bulk upload {job_id}", lambda sf: _upload(client(sf), job_id, chunk.data))
    call(f"bulk close {job_id}", lambda sf: client(sf).close_job(job_id))
    log.info(
        "salesforce.bulk_ingest.submitted",
        sobject=job.sobject,
        job_id=job_id,
        operation=job.operation,
        records=chunk.end - chunk.start,
    )
    return _Submitted(job_id, chunk.start, chunk.end)


def _upload(client: _Bulk2Client, job_id: str, data: bytes) -> None:
    """PUT the CSV as the bytes it already is: the library's ``upload_job_data`` takes
    text and encodes it twice (its size check, then the body), three copies of 100 MB."""
    response = call_salesforce(
        url=f"{client.bulk2_url}ingest/{job_id}/batches",
        method="PUT",
        session=client.session,
        headers={
            **client.headers,
            "Content-Type": client.CSV_CONTENT_TYPE,
            "Accept": client.JSON_CONTENT_TYPE,
        },
        data=data,
    )
    if response.status_code != HTTPStatus.CREATED:
        raise FatalSyncError(
            f"Bulk ingest job {job_id}: the upload failed: answered {response.status_code}, not "
            f"201 Created: {response.text[:300]}"
        )


def _results_file(client: _Bulk2Client, job_id: str, kind: str) -> bytes:
    """A results file as the bytes Salesforce sent (parsed as they are decoded): the
    library's ``get_ingest_results`` returns it as one str."""
    response = call_salesforce(
        url=f"{client.bulk2_url}ingest/{job_id}/{kind}",
        method="GET",
        session=client.session,
        headers={**client.headers, "Accept": client.CSV_CONTENT_TYPE},
    )
    return response.content


def _wait(
    call: Caller[Any],
    job: WriteJob,
    sub: _Submitted,
    options: IngestOptions,
    sleep: Callable[[float], None],
) -> Mapping[str, Any]:
    """The job's info once it ended; past the deadline it is aborted (counts unknown)."""
    client = partial(_client, sobject=job.sobject)
    status = f"bulk status {sub.job_id}"
    poll = _poller(options, sleep)
    info = poll(lambda: call(status, lambda sf: client(sf).get_job(sub.job_id, False)))
    if info is None:
        _abort(call, client, sub)
        sub.state, sub.timed_out = "Aborted", True
        sub.error = (
            f"aborted by syncd: still running after {options.max_polls} polls or "
            f"{options.timeout_seconds:g} s"
        )
        info = {}  # counts unknown: every results file is read
    else:
        sub.state, sub.error = _state(info), str(info.get("errorMessage") or "")
    log.info(
        "salesforce.bulk_ingest.ended",
        job_id=sub.job_id,
        state=sub.state,
        processed=info.get("numberRecordsProcessed"),
        failed=info.get("numberRecordsFailed"),
    )
    return info


def _poller(options: IngestOptions, sleep: Callable[[float], None]) -> tenacity.Retrying:
    """Ask again until the job has ended, backing off; None once polls or time run out."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda info: _state(info) not in _ENDED),
        wait=tenacity.wait_exponential(
            multiplier=options.poll_seconds,
            exp_base=options.poll_growth,
            max=options.max_poll_seconds,
        ),
        stop=tenacity.stop_after_attempt(options.max_polls)
        | tenacity.stop_after_delay(options.timeout_seconds),
        sleep=sleep,
        retry_error_callback=lambda state: None,
    )


def _abort(
    call: Caller[Any], client: Callable[[Salesforce], _Bulk2Client], sub: _Submitted
) -> None:
    """Abort a job that outlived the deadline, so it cannot land after the next cycle's."""
    try:
        call(f"bulk abort {sub.job_id}", lambda sf: client(sf).abort_job(sub.job_id, False))
    except SyncdError as exc:  # it may have ended meanwhile; its results tell what happened
        log.warning("salesforce.bulk_ingest.abort_failed", job_id=sub.job_id, error=str(exc))


def _state(info: Any) -> str:
    return str(info.get("state", "")) if isinstance(info, Mapping) else ""


def _collect(
    call: Caller[Any],
    job: WriteJob,
    sub: _Submitted,
    info: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    header: list[str],
    results: list[RecordResult | None],
) -> None:
    """Give every record of this job the result its results files name."""
    names = ingest_csv.key_columns(job.operation, header, job.external_id)
    positions = [header.index(name) for name in names]
    pending = ingest_results.Pending(records, names, sub.start, sub.end)
    why = f"job {sub.job_id} ended {sub.state}"
    for kind in ingest_results.reads(info, sub.end - sub.start):
        for line in _result_rows(call, job, sub, kind, header):
            found = pending.take(ingest_csv.row_key(line.cells, positions))
            if found is None:
                log.warning("salesforce.bulk_ingest.unknown_row", job_id=sub.job_id, kind=kind)
                continue
            upsert = job.operation == "upsert"
            results[found] = ingest_results.result(
                kind, found, line.sf, upsert=upsert, unprocessed_why=why
            )


def _result_rows(
    call: Caller[Any], job: WriteJob, sub: _Submitted, kind: str, header: list[str]
) -> Iterator[ingest_csv.ResultRow]:
    """A results file's rows, parsed one at a time: a million-record job's results are
    never held parsed at once (only the file's text is)."""
    client = partial(_client, sobject=job.sobject)
    data = call(
        f"bulk results {sub.job_id}", lambda sf: _results_file(client(sf), sub.job_id, kind)
    )
    try:
        yield from ingest_csv.result_rows(data or b"", header, f"job {sub.job_id} {kind}")
    except ValueError as exc:  # UnicodeDecodeError included
        raise FatalSyncError(f"Salesforce's Bulk ingest results do not parse: {exc}") from exc


def _raise_if_ended_badly(
    job: WriteJob, submitted: Sequence[_Submitted], results: Sequence[RecordResult]
) -> None:
    bad = [s for s in submitted if s.state != _DONE]
    if not bad:
        return
    detail = "; ".join(
        f"job {s.job_id} ended {s.state}: {s.error or 'no errorMessage'}" for s in bad
    )
    message = (
        f"Bulk API 2.0 {job.operation} of {job.sobject} did not complete ({detail}). The "
        f"records it did not process are reported {UNPROCESSED}; see Setup > Bulk Data Load "
        "Jobs."
    )
    if all(s.timed_out for s in bad):
        raise BulkIngestTimeout(message, results)
    raise BulkIngestFailed(message, results)


__all__ = [
    "MAX_UPLOAD_BYTES",
    "UNPROCESSED",
    "BulkIngestError",
    "BulkIngestFailed",
    "BulkIngestTimeout",
    "IngestOptions",
    "WriteJob",
    "check_records",
    "run",
]
