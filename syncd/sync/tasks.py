"""Violation Tasks in the org: open (upsert by key) and close what enforcement decided.

Task writes go through the same push path as record writes (``syncd.salesforce.push``):
every Task gets its own result. What landed is what the ledger records; a refused Task
is logged with its error code, its entry kept as it was (an open entry without a Task
is retried next cycle with the level, owner and priority it was first given), and its
deal decided again next cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from syncd.engine.enforcement import Closure, Enforcement, LedgerEntry, OrgTask, TaskSpec
from syncd.salesforce import FailedRecord, WriteJob, Writer, Written
from syncd.sync.mapping import FieldMapping, task_closing_values, task_values, to_org_task

# Salesforce answers these when closing a Task whose deal (and so the Task) is gone.
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


@dataclass
class TaskOutcome:
    entries: list[LedgerEntry] = field(default_factory=list)  # to save in the ledger
    opened: int = 0  # Tasks created in the org this cycle
    closed: int = 0
    failures: list[FailedRecord] = field(default_factory=list)
    deals: set[str] = field(default_factory=set)  # whose Task failed: decide them again
    interrupted: bool = False


def org_tasks(records: Iterable[dict[str, object]], mapping: FieldMapping) -> list[OrgTask]:
    found = (to_org_task(r, mapping) for r in records)
    return [t for t in found if t is not None]


def push_tasks(
    writer: Writer, enforcement: Enforcement, mapping: FieldMapping, now: datetime
) -> TaskOutcome:
    """Upsert the Tasks to open, update the ones to close; the ledger entries to save."""
    return task_outcome(enforcement, writer.write(task_jobs(enforcement, mapping)), now)


def task_jobs(enforcement: Enforcement, mapping: FieldMapping) -> list[WriteJob]:
    """The writes of a cycle's Tasks: upserts by key to open, updates to close (refs:
    the ledger keys). The cycle sends them with its record writes, in the same calls' flow."""
    opening = list(enforcement.opened)
    closing = _closing_tasks(enforcement)
    task = mapping.task
    return [
        WriteJob(
            task.sobject,
            "upsert",
            [task_values(TaskSpec.of(e), mapping) for e in opening],
            [e.key for e in opening],
            key_field=task.key_field,
        ),
        WriteJob(
            task.sobject,
            "update",
            [_closing(c, mapping) for c in closing],
            [c.entry.key for c in closing],
        ),
    ]


def task_outcome(enforcement: Enforcement, written: Written, now: datetime) -> TaskOutcome:
    """What the Task writes leave for the ledger (``written``: their results by key)."""
    out = TaskOutcome(entries=list(enforcement.seen))
    out.entries += resolved_without_write(enforcement.closed)
    out.interrupted = written.interrupted
    gone = {f.record_id for f in written.failures if f.code in GONE_CODES}
    for entry in enforcement.opened:
        result = written.landed.get(entry.key)
        if result is not None:
            out.entries.append(replace(entry, task_id=result.id, task_opened_at=now))
            out.opened += result.created is not False  # an upsert may find it by key
        else:  # refused (or never sent): kept without a Task, retried next cycle
            out.entries.append(entry)
            out.deals.add(entry.opportunity_id)
    for closure in _closing_tasks(enforcement):
        key = closure.entry.key
        if key in written.landed or key in gone:  # a deleted deal takes its Tasks along
            out.entries.append(_closed(closure))
            out.closed += 1
        else:  # stays open in the ledger: the next cycle closes it again
            out.deals.add(closure.entry.opportunity_id)
    out.failures = [f for f in written.failures if f.record_id not in gone]
    return out


def _closing_tasks(enforcement: Enforcement) -> list[Closure]:
    return [c for c in enforcement.closed if c.writes_task]


def _closing(closure: Closure, mapping: FieldMapping) -> dict[str, object]:
    entry = closure.entry
    return task_closing_values(entry.task_id or "", closure.note, entry.description, mapping)


def _closed(closure: Closure) -> LedgerEntry:
    return replace(closure.entry, task_closed=True, resolution=closure.note)


def resolved_without_write(closures: Sequence[Closure]) -> list[LedgerEntry]:
    return [replace(c.entry, resolution=c.note) for c in closures if not c.writes_task]
