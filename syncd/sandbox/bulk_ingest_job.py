"""One Bulk API 2.0 ingest job of the sandbox: its CSV, its processing, its results files.

See ``bulk_ingest`` for the endpoints and what the CSV means.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from syncd.sandbox.bulk import job_info
from syncd.sandbox.org import Forced, SandboxOrg
from syncd.sandbox.schema import ObjectSchema, object_schema

NULL = "#N/A"
BATCH = 10_000  # Salesforce processes a job in internal batches of 10,000 records
CSV_TYPE = "text/csv; charset=UTF-8"
_WRITE = {"insert": "create", "update": "update", "upsert": "upsert"}
Row = list[str]


@dataclass
class IngestJob:
    """One ingest job: what it writes, its uploaded rows and, once processed, the outcome."""

    id: str
    operation: str
    sobject: str
    external_id: str | None
    delimiter: str
    line_ending: str
    created: str
    version: str
    state: str = "Open"
    header: Row | None = None
    rows: list[Row] = field(default_factory=list)
    polls_left: int = 0
    fail_with: str | None = None
    fail_after: int = 0
    error: str | None = None
    successful: list[tuple[str, str, Row]] = field(default_factory=list)  # id, created, cells
    failed: list[tuple[str, str, Row]] = field(default_factory=list)  # id, sf__Error, cells
    unprocessed: list[Row] = field(default_factory=list)

    def info(self, *, with_counts: bool = False) -> dict[str, Any]:
        body = job_info(self)
        body["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
        if self.external_id:
            body["externalIdFieldName"] = self.external_id
        if with_counts:
            body.update(
                jobType="V2Ingest",
                numberRecordsProcessed=len(self.successful) + len(self.failed),
                numberRecordsFailed=len(self.failed),
                retries=0,
                totalProcessingTime=0,
                apiActiveProcessingTime=0,
                apexProcessingTime=0,
            )
        if self.error is not None:
            body["errorMessage"] = self.error
        return body

    def abort(self) -> None:
        """Stop before processing: every uploaded record stays unprocessed."""
        self.state, self.unprocessed = "Aborted", list(self.rows)

    def process(self, org: SandboxOrg, forced: Forced) -> None:
        """Write the records through the org (all, or ``fail_after`` of them before failing)."""
        obj = object_schema(self.sobject)
        assert obj is not None  # checked when the job was created
        problem = _header_problem(obj, self.header or [])
        if problem is not None:
            self.state, self.error, self.unprocessed = "Failed", problem, list(self.rows)
            return
        header = [f for name in self.header or [] if (f := obj.field(name)) is not None]
        limit = len(self.rows) if self.fail_with is None else min(self.fail_after, len(self.rows))
        for start in range(0, limit, BATCH):
            batch = self.rows[start : min(start + BATCH, limit)]
            records = [_record(header, cells) for cells in batch]
            answers = org.write(
                _WRITE[self.operation],
                obj.name,
                records,
                forced=forced,
                external_id=self.external_id,
            )
            for cells, answer in zip(batch, answers, strict=True):
                self._note(cells, answer)
        self.unprocessed = self.rows[limit:]
        self.state = "Failed" if self.fail_with is not None else "JobComplete"
        self.error = self.fail_with

    def _note(self, cells: Row, answer: dict[str, Any]) -> None:
        record_id = str(answer.get("id") or "")
        if answer["success"]:
            created = answer.get("created", self.operation == "insert")
            self.successful.append((record_id, "true" if created else "false", cells))
        else:
            self.failed.append((record_id, _error_text(answer["errors"]), cells))


def parse_upload(text: str, delimiter: str) -> tuple[Row, list[Row]] | str:
    """The upload's header and rows, or what is wrong with it."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(header):
        return "the upload has no header row"
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue  # a trailing blank line
        if len(cells) != len(header):
            return f"row {line} has {len(cells)} values for {len(header)} columns"
        rows.append(cells)
    return header, rows


def results_csv(job: IngestJob, which: str) -> str:
    """A results file, rows last first (Salesforce promises no order either)."""
    if job.header is None:
        return ""
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=job.delimiter, lineterminator=job.line_ending, quoting=csv.QUOTE_ALL
    )
    if which == "unprocessed":
        writer.writerow(job.header)
        writer.writerows(reversed(job.unprocessed))
        return out.getvalue()
    second = "sf__Created" if which == "successful" else "sf__Error"
    writer.writerow(["sf__Id", second, *job.header])
    rows = job.successful if which == "successful" else job.failed
    writer.writerows([record_id, value, *cells] for record_id, value, cells in reversed(rows))
    return out.getvalue()


def _header_problem(obj: ObjectSchema, header: Row) -> str | None:
    seen: set[str] = set()
    for name in header:
        known = obj.field(name)
        if known is None:
            return f"InvalidBatch : Field name not found : {name}"
        if known.name in seen:
            return f"InvalidBatch : Duplicate field name : {name}"
        seen.add(known.name)
    return None


def _record(header: list[Any], cells: Row) -> dict[str, Any]:
    """A CSV row as the record a Collections call would carry (empty cells left out)."""
    record: dict[str, Any] = {}
    for spec, cell in zip(header, cells, strict=True):
        if cell == "":
            continue
        if cell == NULL:
            record[spec.name] = None
        elif spec.type == "boolean" and cell.lower() in ("true", "false"):
            record[spec.name] = cell.lower() == "true"
        else:
            record[spec.name] = cell  # the field's own check parses (or refuses) the text
    return record


def _error_text(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {"statusCode": "UNKNOWN_EXCEPTION", "message": ""}
    fields = ",".join(first.get("fields") or ())
    return f"{first['statusCode']}:{first.get('message', '')}:{fields} --"


__all__ = ["CSV_TYPE", "IngestJob", "parse_upload", "results_csv"]
