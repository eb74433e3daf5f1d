"""Write records through the API that costs the fewest calls for their number; one result each.

``write_records`` is the one entry point. For N records of one object and operation:

========================  ====================  =============================================
N                         API                   calls
========================  ====================  =============================================
0                         none                  0
1 … 200                   sObject Collections   1
201 … threshold - 1       Composite of          ⌈N / 1,000⌉ (five Collections subrequests of
                          Collections           200 records in one Composite request)
≥ threshold (2,000)       Bulk API 2.0 ingest   Σ_jobs (3 + P + R) ≥ 5·J, J = ⌈CSV bytes /
                                                100 MB⌉; P ≥ 1 status polls, R ∈ {1, 2, 3}
                                                results files (see ``ingest.py``)
========================  ====================  =============================================

The threshold is a setting (``bulk_threshold``; None never uses Bulk). Its default follows
Salesforce's guidance and CumulusCI (Bulk from 2,000 records). In calls alone, Bulk is
cheaper only from about 5,000–6,000 records (Composite needs ⌈N/1000⌉ calls, one Bulk
job 5 to 7); below that Bulk saves Salesforce's processing, not calls.

Every path gives one ``RecordResult`` per record, in the caller's order, with the same
shape for the same outcome. A Composite subrequest that failed as a whole is classified as
the client classifies a failed call: a temporary failure (``UNABLE_TO_LOCK_ROW``,
``SERVER_UNAVAILABLE``) makes its records failures with that code, retried next cycle;
anything else (a malformed request, the API limit) raises, as a failed Collections call
does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from syncd.errors import FatalSyncError, RetriableError
from syncd.salesforce.client import COLLECTION_SIZE, OrgClient
from syncd.salesforce.errors import classify, error_entries
from syncd.salesforce.ingest import IngestOptions, WriteJob, WriteOperation, check_records
from syncd.salesforce.results import RecordFailure, RecordResult
from syncd.salesforce.soql import identifier

BULK_THRESHOLD = 2_000  # Salesforce's "more than a few thousand records" (and CumulusCI's)
COLLECTIONS_PER_COMPOSITE = 5  # Composite allows at most 5 query/Collections subrequests
COMPOSITE_RECORDS = COLLECTIONS_PER_COMPOSITE * COLLECTION_SIZE  # 1,000 a call
Api = Literal["none", "collections", "composite", "bulk"]

_STATUS_ERRORS: dict[int, type[SalesforceError]] = {  # as simple-salesforce maps statuses
    300: SalesforceMoreThanOneRecord,
    400: SalesforceMalformedRequest,
    401: SalesforceExpiredSession,
    403: SalesforceRefusedRequest,
    404: SalesforceResourceNotFound,
}


def choose(count: int, bulk_threshold: int | None = BULK_THRESHOLD) -> Api:
    """The API ``write_records`` uses for ``count`` records (see the table above)."""
    if count <= 0:
        return "none"
    if bulk_threshold is not None and count >= bulk_threshold:
        return "bulk"
    return "collections" if count <= COLLECTION_SIZE else "composite"


def call_bound(count: int, api: Api, jobs: int = 1) -> int:
    """The fewest calls ``api`` can write ``count`` records in (Bulk: ``jobs`` jobs)."""
    if count <= 0 or api == "none":
        return 0
    if api == "collections":
        return -(-count // COLLECTION_SIZE)
    if api == "composite":
        return -(-count // COMPOSITE_RECORDS)
    return 5 * jobs  # create, upload, close, one poll, one results file


def lowest_bound(count: int, jobs: int = 1) -> int:
    """The fewest calls any of the three APIs can write ``count`` records in."""
    apis: tuple[Api, ...] = ("collections", "composite", "bulk")
    return min(call_bound(count, api, jobs) for api in apis)


def write_records(
    client: OrgClient,
    sobject: str,
    records: Sequence[Mapping[str, Any]],
    *,
    operation: WriteOperation = "update",
    external_id: str | None = None,
    bulk_threshold: int | None = BULK_THRESHOLD,
    ingest_options: IngestOptions | None = None,
) -> list[RecordResult]:
    """Write ``records`` (update: each with its ``Id``; upsert: each with ``external_id``)
    through Collections, Composite of Collections or Bulk API 2.0 by their number.

    Raises ``ValueError`` for records the operation cannot write (before any call), the
    client's classified errors for a failed call, and ``ingest.BulkIngestFailed`` /
    ``BulkIngestTimeout`` (each carrying every record's result) for a Bulk job that did
    not complete.
    """
    job = WriteJob(identifier(sobject, "object"), operation, external_id)
    check_records(job, records)
    api = choose(len(records), bulk_threshold)
    if api == "bulk":
        return client.bulk_ingest(job, records, ingest_options or IngestOptions())
    if api == "composite":
        return composite_collections(client, job, records)
    if api == "collections":
        return _collections(client, job, records)
    return []


def _collections(
    client: OrgClient, job: WriteJob, records: Sequence[Mapping[str, Any]]
) -> list[RecordResult]:
    if job.operation == "upsert":
        return client.upsert(job.sobject, job.external_id or "", records)
    if job.operation == "insert":
        return client.create(job.sobject, records)
    return client.update(job.sobject, records)


def composite_collections(
    client: OrgClient, job: WriteJob, records: Sequence[Mapping[str, Any]]
) -> list[RecordResult]:
    """One Composite call per 1,000 records, each carrying up to five Collections writes."""
    method, url = _route(client, job)
    results: list[RecordResult] = []
    for start in range(0, len(records), COMPOSITE_RECORDS):
        group = records[start : start + COMPOSITE_RECORDS]
        chunks = [
            (start + offset, group[offset : offset + COLLECTION_SIZE])
            for offset in range(0, len(group), COLLECTION_SIZE)
        ]
        subrequests = [
            {
                "method": method,
                "url": url,
                "referenceId": _reference(first),
                "body": {"allOrNone": False, "records": _typed(job.sobject, chunk)},
            }
            for first, chunk in chunks
        ]
        answers = {a.get("referenceId"): a for a in client.composite(subrequests)}
        for first, chunk in chunks:
            answer = answers.get(_reference(first))
            results.extend(_sub_results(job, answer, first, len(chunk)))
    return results


def _route(client: OrgClient, job: WriteJob) -> tuple[str, str]:
    base = f"/services/data/v{client.settings.api_version}/composite/sobjects"
    if job.operation == "upsert":
        return "PATCH", f"{base}/{job.sobject}/{identifier(job.external_id or '')}"
    return ("POST" if job.operation == "insert" else "PATCH"), base


def _reference(first: int) -> str:
    return f"records{first}"


def _typed(sobject: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Collections need ``attributes.type`` on every record."""
    return [
        {"attributes": {"type": sobject}, **{k: v for k, v in r.items() if k != "attributes"}}
        for r in records
    ]


def _sub_results(job: WriteJob, answer: Any, first: int, count: int) -> list[RecordResult]:
    """One subrequest's records, from its answer in the Composite response."""
    operation = f"{job.operation} {job.sobject}"
    if not isinstance(answer, Mapping):
        raise FatalSyncError(f"Salesforce's composite answer lacks the {operation} of #{first}")
    status, body = answer.get("httpStatusCode"), answer.get("body")
    if status == 200 and isinstance(body, list) and len(body) == count:
        return [RecordResult.from_response(first + i, item) for i, item in enumerate(body)]
    if status == 200:
        got = len(body) if isinstance(body, list) else type(body).__name__
        raise FatalSyncError(f"Salesforce answered {operation} with {got} results for {count}")
    exc = subresponse_exception(int(status or 0), body, operation)
    error = classify(exc, operation)
    if not isinstance(error, RetriableError):
        raise error
    entries = error_entries(exc) or [{"errorCode": "UNKNOWN", "message": str(body)[:200]}]
    return [_refused(first + i, entries, job) for i in range(count)]


def subresponse_exception(status: int, body: Any, operation: str) -> SalesforceError:
    """A failed subrequest as the exception simple-salesforce raises for that failed call,
    so ``errors.classify`` (the one classifier) decides what it means."""
    exc_type = _STATUS_ERRORS.get(status, SalesforceGeneralError)
    return exc_type(f"composite subrequest: {operation}", status, operation, body)


def _refused(index: int, entries: list[dict[str, Any]], job: WriteJob) -> RecordResult:
    """A record of a subrequest that failed for a temporary reason (retried next cycle)."""
    errors = tuple(
        RecordFailure(
            code=str(e.get("errorCode") or "UNKNOWN"),
            message=str(e.get("message") or ""),
            fields=tuple(str(f) for f in e.get("fields") or ()),
        )
        for e in entries
    )
    return RecordResult(index, None, False, errors, False if job.operation == "upsert" else None)


__all__ = [
    "BULK_THRESHOLD",
    "COMPOSITE_RECORDS",
    "call_bound",
    "choose",
    "composite_collections",
    "lowest_bound",
    "subresponse_exception",
    "write_records",
]
