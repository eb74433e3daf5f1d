"""Bulk API 2.0 ingest jobs: ``jobs/ingest`` insert, update and upsert from CSV.

A job lives as in Salesforce: created ``Open`` (POST), its CSV uploaded (PUT
``batches``, answered 201; one upload a job, as syncd sends), closed ``UploadComplete``
(PATCH), then processed: the status call (GET) that finds it due says ``InProgress`` or
writes its records and says ``JobComplete`` (``numberRecordsProcessed`` /
``numberRecordsFailed``). PATCH ``Aborted`` before that leaves every record unprocessed.
Records go through the org's own write path (``SandboxOrg.write``, in chunks of 10,000 as
Salesforce's internal batches), so schema checks, unique keys and armed per-record faults
(row locks) behave exactly as in sObject Collections.

CSV cells become values as Salesforce reads them: an empty cell leaves the field alone,
``#N/A`` sets it to null, ``true``/``false`` are booleans (any case), the rest is text the
field's type parses. Results files (GET ``successfulResults``, ``failedResults``,
``unprocessedrecords``; names matched in any case, as simple-salesforce asks for
``unprocessedRecords``) repeat the uploaded columns after ``sf__Id`` + ``sf__Created`` /
``sf__Error`` (``CODE:message:Fields --``). Salesforce does not keep the upload's order,
and neither does the sandbox: rows come back last first, so a client that assumes the
order fails its tests here.

Knobs for tests (on ``IngestJobs``): ``polls_in_progress`` (status calls answering
``InProgress`` first), ``fail_with`` / ``fail_after`` (the next job processes that many
records, then ends ``Failed`` with that ``errorMessage``), ``max_upload_bytes``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from syncd.sandbox.bulk import DELIMITERS, LINE_ENDINGS
from syncd.sandbox.bulk_ingest_job import CSV_TYPE, IngestJob, parse_upload, results_csv
from syncd.sandbox.org import SandboxOrg
from syncd.sandbox.reply import NOT_FOUND, Call, Reply, fail
from syncd.sandbox.schema import object_schema
from syncd.sandbox.values import format_datetime
from syncd.sfid import make_id

OPERATIONS = ("insert", "update", "upsert")
MAX_UPLOAD_BYTES = 150_000_000 * 3 // 4  # 150 MB once base64-encoded, as Salesforce counts
MAX_JOBS = 100  # Salesforce keeps jobs for 7 days; a long-running sandbox keeps the latest
RESULTS = {
    "successfulresults": "successful",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}
Forced = Callable[[str], str | None]


def ingest_kind(method: str, parts: list[str]) -> str:
    """The call kind of ``jobs/ingest/...`` (``parts`` after ``ingest``), as tests count."""
    if not parts:
        return "bulk_ingest_job" if method == "POST" else "other"
    if len(parts) == 1:
        kinds = {"GET": "bulk_ingest_status", "PATCH": "bulk_ingest_state"}
        return kinds.get(method, "bulk_ingest_delete" if method == "DELETE" else "other")
    if len(parts) == 2 and parts[1] == "batches" and method == "PUT":
        return "bulk_ingest_upload"
    if len(parts) == 2 and parts[1].lower() in RESULTS and method == "GET":
        return "bulk_ingest_results"
    return "other"


class IngestJobs:
    """The org's Bulk 2.0 ingest jobs; thread-safe."""

    def __init__(self, org: SandboxOrg, forced: Forced = lambda record_id: None) -> None:
        self.org = org
        self.forced = forced
        self.polls_in_progress = 0
        self.fail_with: str | None = None
        self.fail_after = 0
        self.max_upload_bytes = MAX_UPLOAD_BYTES
        self._jobs: dict[str, IngestJob] = {}
        self._count = 0
        self._lock = threading.Lock()

    def route(self, method: str, parts: list[str]) -> Callable[[Call], Reply] | None:
        """The handler for ``jobs/ingest[/{id}[/batches|/<results>]]`` (parts after jobs)."""
        if parts[:1] != ["ingest"]:
            return None
        rest = parts[1:]
        if not rest:
            return self.create if method == "POST" else None
        if len(rest) == 1:
            return {"GET": self.status, "PATCH": self.set_state, "DELETE": self.delete}.get(method)
        if len(rest) == 2 and rest[1] == "batches" and method == "PUT":
            return self.upload
        if len(rest) == 2 and rest[1].lower() in RESULTS and method == "GET":
            return self.results
        return None

    # -- endpoints ----------------------------------------------------------------------

    def create(self, call: Call) -> Reply:
        body = call.body if isinstance(call.body, dict) else {}
        problem = _check_request(body)
        if problem is not None:
            return problem
        obj = object_schema(str(body["object"]))
        assert obj is not None  # checked above
        external = obj.field(str(body.get("externalIdFieldName") or ""))
        with self._lock:
            self._count += 1
            job = IngestJob(
                id=make_id("750", 500_000 + self._count),
                operation=str(body["operation"]),
                sobject=obj.name,
                external_id=external.name if external else None,
                delimiter=DELIMITERS[body.get("columnDelimiter") or "COMMA"],
                line_ending=LINE_ENDINGS[body.get("lineEnding") or "LF"],
                created=format_datetime(datetime.now(UTC)),
                version=call.version,
            )
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS:  # each job holds its rows: bound the memory
                del self._jobs[next(iter(self._jobs))]
        return Reply(200, job.info())

    def upload(self, call: Call) -> Reply:
        job = self._job(call.parts[2])
        if job is None:
            return Reply(404, NOT_FOUND)
        if not isinstance(call.body, str):
            return fail(400, "INVALIDJOB", "upload the job's data as text/csv")
        if len(call.body.encode()) > self.max_upload_bytes:
            return fail(
                400,
                "INVALIDJOB",
                f"an upload takes at most {self.max_upload_bytes} "
                "bytes (150 MB once base64-encoded); split the data into jobs",
            )
        parsed = parse_upload(call.body, job.delimiter)
        if isinstance(parsed, str):
            return fail(400, "INVALIDJOB", parsed)
        with self._lock:
            if job.state != "Open" or job.header is not None:
                return fail(409, "INVALIDJOBSTATE", f"job {job.id} takes one upload while Open")
            job.header, job.rows = parsed
        return Reply(201)

    def set_state(self, call: Call) -> Reply:
        job = self._job(call.parts[2])
        if job is None:
            return Reply(404, NOT_FOUND)
        wanted = call.body.get("state") if isinstance(call.body, dict) else None
        with self._lock:
            if wanted == "UploadComplete" and job.state == "Open":
                job.state = "UploadComplete"
                job.polls_left, job.fail_with = self.polls_in_progress, self.fail_with
                job.fail_after, self.fail_with = self.fail_after, None
            elif wanted == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
                job.abort()
            else:
                return fail(
                    400,
                    "INVALIDJOBSTATE",
                    f"job {job.id} is {job.state}; it cannot become {wanted}",
                )
            return Reply(200, job.info())

    def status(self, call: Call) -> Reply:
        job = self._job(call.parts[2])
        if job is None:
            return Reply(404, NOT_FOUND)
        with self._lock:  # one status call processes a job, never two at once
            if job.state in ("UploadComplete", "InProgress"):
                if job.polls_left > 0:
                    job.polls_left -= 1
                    job.state = "InProgress"
                else:
                    job.process(self.org, self.forced)
            return Reply(200, job.info(with_counts=True))

    def results(self, call: Call) -> Reply:
        job = self._job(call.parts[2])
        if job is None:
            return Reply(404, NOT_FOUND)
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            return fail(
                400,
                "INVALIDJOBSTATE",
                f"job {job.id} is {job.state}; its results come once it has ended",
            )
        text = results_csv(job, RESULTS[call.parts[3].lower()])
        return Reply(200, text, {"Content-Type": CSV_TYPE})

    def delete(self, call: Call) -> Reply:
        with self._lock:
            job = self._jobs.get(call.parts[2])
            if job is None:
                return Reply(404, NOT_FOUND)
            if job.state not in ("JobComplete", "Failed", "Aborted"):
                return fail(400, "INVALIDJOBSTATE", f"job {job.id} is {job.state}")
            del self._jobs[job.id]
        return Reply(204)

    def _job(self, job_id: str) -> IngestJob | None:
        with self._lock:
            return self._jobs.get(job_id)


def _check_request(body: dict[str, Any]) -> Reply | None:
    operation, name = body.get("operation"), str(body.get("object") or "")
    if operation not in OPERATIONS:
        return fail(
            400, "INVALIDJOB", f"the sandbox ingests {', '.join(OPERATIONS)}; not {operation!r}"
        )
    obj = object_schema(name)
    if obj is None:
        return fail(400, "INVALIDJOB", f"Unable to find object: {name}")
    if (body.get("contentType") or "CSV") != "CSV":
        return fail(400, "INVALIDJOB", "contentType must be CSV")
    if (body.get("columnDelimiter") or "COMMA") not in DELIMITERS:
        return fail(400, "INVALIDJOB", f"unknown columnDelimiter {body['columnDelimiter']!r}")
    if (body.get("lineEnding") or "LF") not in LINE_ENDINGS:
        return fail(400, "INVALIDJOB", f"unknown lineEnding {body['lineEnding']!r}")
    key = body.get("externalIdFieldName")
    if operation == "upsert":
        field = obj.field(str(key or ""))
        if field is None or not (field.external_id or field.name == "Id"):
            return fail(400, "INVALIDJOB", f"{key!r} is not an External ID field of {obj.name}")
    return None


__all__ = ["IngestJobs", "ingest_kind"]
