"""The one push path: every record syncd writes — flags, Task opens, Task closes — goes here.

Writes are batched (200 records per sObject Collections call), up to ``concurrency``
calls in flight, in waves: between waves a stop request is honoured; within one, results
are taken in the order given, so what reaches the store never depends on thread timing.
Every record gets its own result: a record Salesforce refuses (validation rule, row lock,
bad picklist value) is logged once with its error code and handed back; it never stops the
other records. Request-level failures are the client's business (retry, or a classified
error that stops the cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from syncd.salesforce.client import COLLECTION_SIZE, OrgClient
from syncd.salesforce.results import RecordResult

log = structlog.get_logger("syncd.salesforce")

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


@dataclass(frozen=True)
class Writer:
    client: OrgClient
    concurrency: int = 4
    should_stop: Callable[[], bool] = lambda: False
    progress: Callable[[int, int], None] = lambda done, total: None

    def write(self, jobs: Sequence[WriteJob]) -> Written:
        batches = [batch for job in jobs for batch in _batches(job)]
        total = sum(len(job.records) for job in jobs)
        out = Written()
        width = max(1, self.concurrency)
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="syncd-write") as pool:
            for start in range(0, len(batches), width):
                if self.should_stop():
                    log.warning("writer.stop_requested", remaining=total - out.attempted)
                    out.interrupted = True
                    return out
                wave = batches[start : start + width]
                for batch, results in zip(wave, pool.map(self._send, wave), strict=True):
                    _collect(out, batch, results)
                self.progress(out.attempted, total)
        return out

    def _send(self, batch: WriteJob) -> list[RecordResult]:
        if batch.operation == "upsert":
            assert batch.key_field is not None
            return self.client.upsert(batch.sobject, batch.key_field, batch.records)
        return self.client.update(batch.sobject, batch.records)


def _batches(job: WriteJob) -> list[WriteJob]:
    return [
        WriteJob(
            job.sobject,
            job.operation,
            job.records[start : start + COLLECTION_SIZE],
            job.refs[start : start + COLLECTION_SIZE],
            job.key_field,
        )
        for start in range(0, len(job.records), COLLECTION_SIZE)
    ]


def _collect(out: Written, batch: WriteJob, results: Sequence[RecordResult]) -> None:
    for result in results:
        ref = batch.refs[result.index]
        if result.success:
            out.landed[ref] = result
        else:
            out.failures.append(failed_record(batch.sobject, ref, result))
            out.failed_refs.add(ref)
