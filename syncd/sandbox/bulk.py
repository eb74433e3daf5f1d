"""Bulk API 2.0 query jobs: ``jobs/query`` with CSV results paged by ``Sforce-Locator``.

Like Salesforce, the query runs against a snapshot taken when the job is created, so
rows written while a client pages through the results neither appear nor shift pages.
A locator is the base64 of the next row offset (Salesforce's look like ``MTAwMDA``,
which is base64 of ``10000``); it stays valid for as long as the job exists. Every
results page carries the header row, values are quoted, nulls are empty, booleans are
``true``/``false`` and datetimes are written ``2024-01-31T12:00:00.000Z``.

Two knobs let tests shape a job's life: ``polls_in_progress`` (how many status calls
answer ``InProgress`` before ``JobComplete``) and ``fail_with`` (the next job ends
``Failed`` with that ``errorMessage``).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from syncd.sandbox.org import INTEGRATION_USER_ID, SandboxOrg
from syncd.sandbox.reply import NOT_FOUND, Call, Reply, fail
from syncd.sandbox.schema import object_schema
from syncd.sandbox.soql import SoqlError
from syncd.sandbox.soql_eval import CompiledQuery, compile_query
from syncd.sandbox.values import format_datetime, parse_datetime
from syncd.sfid import make_id

OPERATIONS = ("query", "queryAll")
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
DEFAULT_MAX_RECORDS = 50_000  # the server's choice when the client does not say
CSV_TYPE = "text/csv; charset=UTF-8"
MAX_JOBS = 100  # Salesforce keeps jobs for 7 days; a long-running sandbox keeps the latest


@dataclass
class QueryJob:
    """One query job and the rows it froze when it was created."""

    id: str
    operation: str
    sobject: str
    fields: tuple[str, ...]
    types: dict[str, str]
    rows: list[dict[str, Any]]
    delimiter: str
    line_ending: str
    created: str
    version: str
    polls_left: int = 0
    error: str | None = None
    state: str = "UploadComplete"

    def info(self) -> dict[str, Any]:
        body = job_info(self)
        if self.state in ("JobComplete", "Failed"):
            body["numberRecordsProcessed"] = len(self.rows) if self.state == "JobComplete" else 0
            body["retries"] = 0
            body["totalProcessingTime"] = 0
        if self.error is not None:
            body["errorMessage"] = self.error
        return body


class JobFields(Protocol):
    id: str
    operation: str
    sobject: str
    created: str
    state: str
    version: str
    line_ending: str
    delimiter: str


def job_info(job: JobFields) -> dict[str, Any]:
    """The fields every Bulk 2.0 job's info answers with, query and ingest alike."""
    return {
        "id": job.id,
        "operation": job.operation,
        "object": job.sobject,
        "createdById": INTEGRATION_USER_ID,
        "createdDate": job.created,
        "systemModstamp": job.created,
        "state": job.state,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.version),
        "lineEnding": _key_of(LINE_ENDINGS, job.line_ending),
        "columnDelimiter": _key_of(DELIMITERS, job.delimiter),
    }


class BulkJobs:
    """The org's Bulk 2.0 query jobs; thread-safe."""

    def __init__(self, org: SandboxOrg, today: Callable[[], date | None] = lambda: None) -> None:
        self.org = org
        self.today = today
        self.polls_in_progress = 0  # status calls answering InProgress before JobComplete
        self.fail_with: str | None = None  # the next job fails with this errorMessage
        self.job_fault: Callable[[], str | None] = lambda: None  # a fault campaign's
        self._jobs: dict[str, QueryJob] = {}
        self._count = 0
        self._lock = threading.Lock()

    def route(self, method: str, parts: list[str]) -> Callable[[Call], Reply] | None:
        """The handler for ``jobs/query[/{id}[/results]]`` (parts start after ``jobs``)."""
        if parts[:1] != ["query"]:
            return None
        if len(parts) == 1:
            return self.create if method == "POST" else None
        if len(parts) == 2:
            return {"GET": self.status, "DELETE": self.delete}.get(method)
        if len(parts) == 3 and parts[2] == "results" and method == "GET":
            return self.results
        return None

    # -- endpoints ----------------------------------------------------------------------

    def create(self, call: Call) -> Reply:
        body = call.body if isinstance(call.body, dict) else {}
        problem = _check_request(body)
        if problem is not None:
            return problem
        try:
            compiled = compile_query(str(body["query"]), self.today())
        except SoqlError as exc:
            return fail(400, exc.code, exc.message)
        if compiled.count or compiled.offset:
            what = "aggregate functions such as COUNT()" if compiled.count else "OFFSET"
            return fail(400, "INVALIDJOB", f"Bulk API 2.0 query does not support {what}")
        rows = self.org.query(compiled, include_deleted=body["operation"] == "queryAll")
        job = self._new_job(call.version, body, compiled, rows)
        return Reply(200, job.info())

    def status(self, call: Call) -> Reply:
        job = self._job(call.parts[2])
        if job is None:
            return Reply(404, NOT_FOUND)
        with self._lock:
            if job.state in ("UploadComplete", "InProgress"):
                if job.polls_left > 0:
                    job.polls_left -= 1
                    job.state = "InProgress"
                else:
                    job.state = "Failed" if job.error is not None else "JobComplete"
            return Reply(200, job.info())

    def results(self, call: Call) -> Reply:
        job = self._job(call.parts[2])
        if job is None:
            return Reply(404, NOT_FOUND)
        if job.state != "JobComplete":
            return fail(
                400,
                "INVALIDJOBSTATE",
                f"Query job {job.id} is {job.state}; its results are available once "
                "it is JobComplete",
            )
        start = _start(call.params.get("locator"))
        size = _max_records(call.params.get("maxRecords"))
        if start is None or start > len(job.rows):
            return fail(400, "INVALIDLOCATOR", f"invalid locator for query job {job.id}")
        if size is None:
            return fail(400, "INVALIDPARAMETER", "maxRecords must be a positive whole number")
        page = job.rows[start : start + size]
        end = start + len(page)
        headers = {
            "Content-Type": CSV_TYPE,
            "Sforce-Locator": _locator(end) if end < len(job.rows) else "null",
            "Sforce-NumberOfRecords": str(len(page)),
        }
        return Reply(200, to_csv(job, page), headers)

    def delete(self, call: Call) -> Reply:
        with self._lock:
            job = self._jobs.pop(call.parts[2], None)
        return Reply(204) if job is not None else Reply(404, NOT_FOUND)

    # -- internals ----------------------------------------------------------------------

    def _new_job(
        self,
        version: str,
        body: dict[str, Any],
        compiled: CompiledQuery,
        rows: list[dict[str, Any]],
    ) -> QueryJob:
        obj = object_schema(compiled.sobject)
        types = {}
        if obj is not None:
            types = {name: f.type for name in compiled.fields if (f := obj.field(name))}
        with self._lock:
            self._count += 1
            job = QueryJob(
                id=make_id("750", self._count),
                operation=body["operation"],
                sobject=compiled.sobject,
                fields=compiled.fields,
                types=types,
                rows=rows,
                delimiter=DELIMITERS[body.get("columnDelimiter") or "COMMA"],
                line_ending=LINE_ENDINGS[body.get("lineEnding") or "LF"],
                created=format_datetime(datetime.now(UTC)),
                version=version,
                polls_left=self.polls_in_progress,
                error=self.fail_with or self.job_fault(),
            )
            self.fail_with = None
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS:  # each job holds its snapshot: bound the memory
                del self._jobs[next(iter(self._jobs))]
        return job

    def _job(self, job_id: str) -> QueryJob | None:
        with self._lock:
            return self._jobs.get(job_id)


def _check_request(body: dict[str, Any]) -> Reply | None:
    operation = body.get("operation")
    if operation not in OPERATIONS:
        return fail(
            400,
            "INVALIDJOB",
            f"operation {operation!r} is not a query operation; use query or queryAll",
        )
    if not isinstance(body.get("query"), str) or not body["query"].strip():
        return fail(400, "INVALIDJOB", "a query job needs a SOQL query")
    if (body.get("columnDelimiter") or "COMMA") not in DELIMITERS:
        return fail(400, "INVALIDJOB", f"unknown columnDelimiter {body['columnDelimiter']!r}")
    if (body.get("lineEnding") or "LF") not in LINE_ENDINGS:
        return fail(400, "INVALIDJOB", f"unknown lineEnding {body['lineEnding']!r}")
    return None


def to_csv(job: QueryJob, rows: list[dict[str, Any]]) -> str:
    """One results page: the header row, then every value quoted as Salesforce does."""
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=job.delimiter, lineterminator=job.line_ending, quoting=csv.QUOTE_ALL
    )
    writer.writerow(job.fields)
    for row in rows:
        writer.writerow([csv_value(row.get(name), job.types.get(name)) for name in job.fields])
    return out.getvalue()


def csv_value(value: Any, field_type: str | None) -> str:
    """A stored (REST JSON form) value as Bulk 2.0 writes it in CSV."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{Decimal(repr(value)):f}"  # never 1e+16
    if field_type == "datetime" and isinstance(value, str):
        moment = parse_datetime(value)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _start(locator: str | None) -> int | None:
    if locator in (None, ""):
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _max_records(raw: str | None) -> int | None:
    if raw in (None, ""):
        return DEFAULT_MAX_RECORDS
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _key_of(table: dict[str, str], value: str) -> str:
    return next(k for k, v in table.items() if v == value)


__all__ = ["BulkJobs", "QueryJob", "csv_value", "to_csv"]
