"""The one push path: every record syncd writes — flags, Task opens, Task closes — goes here.

Each object's records go out through the API their number calls for (Collections, a
Composite of Collections, or a Bulk API 2.0 ingest job: ``syncd.salesforce.writes``), up
to ``concurrency`` calls in flight — the next goes out as soon as one ends —; a stop
request is honoured before more calls are sent, and results are taken in the order the
calls were made, so what reaches the store never depends on thread timing.
Every record gets its own result: a record Salesforce refuses (validation rule, row lock,
bad picklist value) is logged once with its error code and handed back; it never stops the
other records. Request-level failures are the client's business (retry, or a classified
error that stops the cycle).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from syncd.salesforce.client import OrgClient
from syncd.salesforce.ingest import BulkIngestError
from syncd.salesforce.results import RecordResult
from syncd.salesforce.writes import COMPOSITE_RECORDS, choose, write_records

log = structlog.get_logger("syncd.salesforce")

# Bulk API 2.0 from here: below it a Composite of Collections needs at most 5 calls
# (1,000 records each), the least one Bulk job costs (create, upload, close, poll, results).
BULK_WRITE_THRESHOLD = 5_000

Operation = Literal["update", "upsert"]


@dataclass(frozen=True)
class FailedRecord:
    """A record Salesforce refused: the caller's ref (record Id or Task key) and why."""

    record_id: str | None
    index: int  # position in its Collections call
    code: str
    message: str
    fields: tuple[str, ...] = ()


def failed_record(sobject: str, ref: str | None, result: RecordResult) -> FailedRecord:
    """The one way a refused record is described (and logged)."""
    first = result.errors[0] if result.errors else None
    failure = FailedRecord(
        record_id=ref or result.id,
        index=result.index,
        code=first.code if first else "UNKNOWN",
        message="; ".join(e.message for e in result.errors),
        fields=tuple(f for e in result.errors for f in e.fields),
    )
    log.warning(
        "salesforce.record_failed",
        sobject=sobject,
        record_id=failure.record_id,
        code=failure.code,
        fields=list(failure.fields),
        message=failure.message[:300],
    )
    return failure


@dataclass(frozen=True, slots=True)
class WriteJob:
    """Records of one object to write one way; ``refs`` name them for the caller."""

    sobject: str
    operation: Operation
    records: Sequence[Mapping[str, Any]]
    refs: Sequence[str]  # one per record: the record Id, or the Task's key
    key_field: str | None = None  # upsert: the external Id field


@dataclass
class Written:
    """Per-record results of a set of jobs, by the caller's ref."""

    landed: dict[str, RecordResult] = field(default_factory=dict)
    failures: list[FailedRecord] = field(default_factory=list)
    failed_refs: set[str] = field(default_factory=set)
    interrupted: bool = False

    @property
    def attempted(self) -> int:
        return len(self.landed) + len(self.failed_refs)

    def take(self, refs: Set[str]) -> Written:
        """Move the results of the records named ``refs`` out into a Written of their own:
        a small share (the Tasks) leaves a million flags' results where they are, uncopied."""
        taken = Written(
            landed={ref: self.landed.pop(ref) for ref in refs if ref in self.landed},
            failures=[f for f in self.failures if f.record_id in refs],
            failed_refs=self.failed_refs & refs,
            interrupted=self.interrupted,
        )
        self.failures = [f for f in self.failures if f.record_id not in refs]
        self.failed_refs -= refs
        return taken


@dataclass(frozen=True)
class Writer:
    """Writes jobs through the API their size calls for (``syncd.salesforce.writes``).

    Up to ``bulk_threshold`` records of an object go out in Composite requests of
    Collections (1,000 records a call; 200 or fewer: one Collections call), up to
    ``concurrency`` calls in flight; more go in one Bulk API 2.0 ingest job.
    """

    client: OrgClient
    concurrency: int = 4
    should_stop: Callable[[], bool] = lambda: False
    progress: Callable[[int, int], None] = lambda done, total: None
    bulk_threshold: int | None = BULK_WRITE_THRESHOLD

    def write(self, jobs: Sequence[WriteJob]) -> Written:
        """Send every job's calls, ``concurrency`` in flight: a call goes out as soon as
        one ends (no waiting for the slowest of a wave); results are taken in the order
        the calls were made. A stop request is honoured before more calls are sent."""
        queue = deque(unit for job in jobs for unit in self._units(job))
        total = sum(len(job.records) for job in jobs)
        out = Written()
        width = max(1, self.concurrency)
        sent: deque[tuple[WriteJob, Future[list[RecordResult]]]] = deque()
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="syncd-write") as pool:
            while queue or sent:
                free = width - _running(sent)
                if queue and free > 0:
                    if self.should_stop():
                        log.warning("writer.stop_requested", remaining=total - out.attempted)
                        out.interrupted = True
                        queue.clear()
                    for unit in [queue.popleft() for _ in range(min(free, len(queue)))]:
                        sent.append((unit, pool.submit(self._send, unit)))
                if sent and not sent[0][1].done():  # wait for a call to end: the first, or any
                    wait([f for _, f in sent if not f.done()], return_when=FIRST_COMPLETED)
                while sent and sent[0][1].done():  # in order: the store never sees timing
                    unit, future = sent.popleft()
                    _collect(out, unit, future.result())
                    self.progress(out.attempted, total)
        return out

    def _units(self, job: WriteJob) -> list[WriteJob]:
        """A Bulk job takes all of an object's records; smaller sets split per call."""
        size = len(job.records)
        if choose(size, self.bulk_threshold) == "bulk":
            return [job]
        return [
            WriteJob(
                job.sobject,
                job.operation,
                job.records[start : start + COMPOSITE_RECORDS],
                job.refs[start : start + COMPOSITE_RECORDS],
                job.key_field,
            )
            for start in range(0, size, COMPOSITE_RECORDS)
        ]

    def _send(self, unit: WriteJob) -> list[RecordResult]:
        try:
            return write_records(
                self.client,
                unit.sobject,
                unit.records,
                operation=unit.operation,
                external_id=unit.key_field,
                bulk_threshold=self.bulk_threshold,
            )
        except BulkIngestError as exc:  # every record has its result: failures retry later
            log.warning("writer.bulk_job_incomplete", sobject=unit.sobject, error=str(exc))
            return list(exc.results)


def _running(sent: Sequence[tuple[WriteJob, Future[list[RecordResult]]]]) -> int:
    return sum(not future.done() for _, future in sent)


def _collect(out: Written, unit: WriteJob, results: Sequence[RecordResult]) -> None:
    for result in results:
        ref = unit.refs[result.index]
        if result.success:
            out.landed[ref] = result
        else:
            out.failures.append(failed_record(unit.sobject, ref, result))
            out.failed_refs.add(ref)
