"""Push writes in Collections batches and report one result per record.

A record Salesforce refuses (validation rule, row lock, bad picklist value) is logged once,
counted and handed back; it never stops the other records. Request-level failures are
the client's business (retry, or a classified error that stops the cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from syncd.salesforce.client import COLLECTION_SIZE, OrgClient
from syncd.salesforce.results import RecordResult

log = structlog.get_logger("syncd.salesforce")

Write = Callable[[str, Sequence[Mapping[str, Any]]], list[RecordResult]]


@dataclass(frozen=True)
class FailedRecord:
    record_id: str | None  # None for a create that failed
    index: int  # position in the records handed to push_*
    code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushReport:
    attempted: int
    succeeded: int
    failed: tuple[FailedRecord, ...]
    calls: int  # Collections requests made, retries included


def push_updates(
    client: OrgClient,
    sobject: str,
    records: Sequence[Mapping[str, Any]],
    *,
    on_batch: Callable[[int], None] | None = None,
) -> PushReport:
    """Update records (each with its ``Id``); ``on_batch`` gets the count done so far."""
    return _push(client.update, client, sobject, records, on_batch)


def push_creates(
    client: OrgClient,
    sobject: str,
    records: Sequence[Mapping[str, Any]],
    *,
    on_batch: Callable[[int], None] | None = None,
) -> PushReport:
    """Insert records; failures carry ``record_id=None`` and their index."""
    return _push(client.create, client, sobject, records, on_batch)


def _push(
    write: Write,
    client: OrgClient,
    sobject: str,
    records: Sequence[Mapping[str, Any]],
    on_batch: Callable[[int], None] | None,
) -> PushReport:
    calls_before = client.calls.get("collections", 0)
    succeeded = 0
    failed: list[FailedRecord] = []
    for start in range(0, len(records), COLLECTION_SIZE):
        batch = records[start : start + COLLECTION_SIZE]
        for result in write(sobject, batch):
            record = batch[result.index]
            if result.success:
                succeeded += 1
            else:
                failed.append(_failure(sobject, start + result.index, record, result))
        if on_batch is not None:
            on_batch(start + len(batch))
    return PushReport(
        attempted=len(records),
        succeeded=succeeded,
        failed=tuple(failed),
        calls=client.calls.get("collections", 0) - calls_before,
    )


def _failure(
    sobject: str, index: int, record: Mapping[str, Any], result: RecordResult
) -> FailedRecord:
    first = result.errors[0] if result.errors else None
    failure = FailedRecord(
        record_id=record.get("Id") or result.id,
        index=index,
        code=first.code if first else "UNKNOWN",
        message="; ".join(e.message for e in result.errors),
        fields=tuple(f for e in result.errors for f in e.fields),
    )
    log.warning(
        "salesforce.record_failed",
        sobject=sobject,
        record_id=failure.record_id,
        index=index,
        code=failure.code,
        fields=list(failure.fields),
        message=failure.message[:300],
    )
    return failure
