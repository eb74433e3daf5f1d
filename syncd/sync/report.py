"""What a cycle reports to whoever ran it (the CLI summary, metrics, tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from syncd.engine.domain import Decisions, Snapshot
from syncd.engine.enforcement import Enforcement
from syncd.notify.message import OutboxChange
from syncd.salesforce import FailedRecord
from syncd.sync.plan import Plan


@dataclass(frozen=True)
class CycleReport:
    run_id: str
    mode: str
    # success / partial / interrupted / failed / aborted / dry-run / budget-hold (writes skipped to
    # keep the org's API reserve for other integrations)
    outcome: str
    started_at: datetime
    finished_at: datetime
    read: Mapping[str, int]
    plan: Plan
    written: int
    failures: tuple[FailedRecord, ...]
    api_calls: int
    api_calls_by_kind: Mapping[str, int]
    snapshot: Snapshot
    decisions: Decisions
    error: str | None = None
    api_usage: tuple[int, int] | None = None  # (used, max) as Salesforce last reported
    enforcement: Enforcement | None = None  # what the ledger reconciliation planned
    tasks_opened: int = 0
    tasks_closed: int = 0
    tasks_adopted: int = 0  # Tasks found in the org that the ledger did not know
    changed: int = 0  # incremental: records whose rule inputs changed (deletes included)
    evaluated: int = 0  # accounts and deals decided this cycle
    why_full: str | None = None  # why a cycle read the whole org
    outbox: OutboxChange | None = None  # notifications this cycle committed

    @property
    def ok(self) -> bool:
        return self.outcome in ("success", "dry-run", "budget-hold")
