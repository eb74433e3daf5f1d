"""Bulk API 2.0 ingest results matched back to the caller's records, one result each.

Results files come in no guaranteed order, so a result row finds its record by the
uploaded key cells (see ``ingest_csv``). Which files to read follows from the job's
counts: ``successfulResults`` when a record succeeded, ``failedResults`` when one was
refused, ``unprocessedrecords`` when fewer were processed than uploaded; all three when
the counts are unknown (a job syncd aborted). A record no file names is unprocessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncd.salesforce import ingest_csv
from syncd.salesforce.ingest_csv import CREATED_COLUMN, ERROR_COLUMN, ID_COLUMN, Key
from syncd.salesforce.results import RecordFailure, RecordResult

SUCCESSFUL, FAILED, UNPROCESSED_RECORDS = "successfulResults", "failedResults", "unprocessedrecords"
UNPROCESSED = "BULK_UNPROCESSED"  # the code of a record Bulk 2.0 never processed


def reads(info: Mapping[str, Any], uploaded: int) -> list[str]:
    """The result sets the job's counts say are non-empty (all three if counts are missing)."""
    processed, failed = _count(info, "numberRecordsProcessed"), _count(info, "numberRecordsFailed")
    if processed is None or failed is None:
        return [SUCCESSFUL, FAILED, UNPROCESSED_RECORDS]
    wanted = {
        SUCCESSFUL: processed > failed,
        FAILED: failed > 0,
        UNPROCESSED_RECORDS: processed < uploaded,
    }
    return [name for name, needed in wanted.items() if needed]


def _count(info: Mapping[str, Any], name: str) -> int | None:
    value = info.get(name)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Pending:
    """One job's records waiting for their result row, by key (duplicates in upload order)."""

    def __init__(
        self, records: Sequence[Mapping[str, Any]], names: Sequence[str], start: int, end: int
    ) -> None:
        self._first: dict[Key, int] = {}
        self._more: dict[Key, list[int]] = {}
        for index in range(start, end):
            key = ingest_csv.record_key(records[index], names)
            if key in self._first:
                self._more.setdefault(key, []).append(index)
            else:
                self._first[key] = index

    def take(self, key: Key) -> int | None:
        """The index of the next record with this key, or None when none is waiting."""
        index = self._first.pop(key, None)
        extra = self._more.get(key)
        if index is not None and extra:
            self._first[key] = extra.pop(0)
        return index


def result(
    kind: str, index: int, sf: Mapping[str, str], *, upsert: bool, unprocessed_why: str
) -> RecordResult:
    """A record's result from its row in the ``kind`` results file."""
    record_id = sf.get(ID_COLUMN) or None
    if kind == SUCCESSFUL:
        created = sf.get(CREATED_COLUMN, "").lower() == "true" if upsert else None
        return RecordResult(index=index, id=record_id, success=True, created=created)
    if kind == FAILED:
        error = ingest_csv.parse_error(sf.get(ERROR_COLUMN, ""))
        return RecordResult(index, record_id, False, (error,), False if upsert else None)
    return unprocessed(index, unprocessed_why, upsert=upsert)


def unprocessed(index: int, why: str, *, upsert: bool) -> RecordResult:
    """A record Bulk 2.0 did not process: a failure the next cycle retries."""
    failure = RecordFailure(
        code=UNPROCESSED,
        message=f"Bulk API 2.0 did not process this record ({why}); the next cycle writes it again",
    )
    # Failed upserts say created=False, as Collections do; other writes carry no flag.
    return RecordResult(index, None, False, (failure,), False if upsert else None)


__all__ = [
    "FAILED",
    "SUCCESSFUL",
    "UNPROCESSED",
    "UNPROCESSED_RECORDS",
    "Pending",
    "reads",
    "result",
    "unprocessed",
]
