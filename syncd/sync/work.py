"""The values a cycle hands from step to step: what it started from, read, decided, pushed."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from syncd.engine.cascade import Scope
from syncd.engine.domain import Decisions
from syncd.engine.enforcement import Enforcement, LedgerEntry
from syncd.notify.message import OutboxChange
from syncd.salesforce import FailedRecord
from syncd.store.commit import MirrorChange
from syncd.store.state import CycleState
from syncd.store.store import ResyncRequest
from syncd.sync.orgstate import OrgState
from syncd.sync.plan import Plan, RecordWrite
from syncd.sync.reader import TaskRead
from syncd.sync.tasks import TaskOutcome

COMMITTED = frozenset({"success", "partial"})  # outcomes whose results were committed
NOT_WRITING = frozenset({"dry-run", "budget-hold"})  # outcomes that wrote nothing


@dataclass
class Work:
    """What a cycle read, whichever way it read."""

    state: OrgState  # the org after this cycle's reads
    read: dict[str, int]
    watermarks: dict[str, datetime]
    scope: Scope | None  # None: every record
    gone: dict[str, str]  # deals deleted or merged away -> how
    tasks: list[dict[str, Any]]  # violation Tasks read from the org
    mirror: MirrorChange
    changed: int = 0
    before: OrgState | None = None  # the org as the last cycle left it, when at hand
    observed: frozenset[str] = frozenset()  # records whose rule inputs or RoE fields changed


@dataclass
class Decided:
    decisions: Decisions
    enforcement: Enforcement
    plan: Plan
    adopted: list[LedgerEntry]  # ledger entries learned from the org's Tasks
    ledger_before: Mapping[str, LedgerEntry]  # the ledger as the cycle found it, by key
    outbox: OutboxChange | None = None  # notifications owed (syncd.notify)


@dataclass
class Pushed:
    written: int = 0
    failures: list[FailedRecord] = field(default_factory=list)
    landed: list[RecordWrite] = field(default_factory=list)  # the plan's, not copies
    tasks: TaskOutcome = field(default_factory=TaskOutcome)
    interrupted: bool = False
    outbox: OutboxChange | None = None  # with the platform events' outcomes


@dataclass(frozen=True)
class CycleRun:
    """The one clock reading of a cycle and what it started from."""

    run_id: str
    now: datetime
    started: float  # time.monotonic() at the start (durations only)
    state: CycleState
    mode: str
    why_full: str | None
    resyncs: list[ResyncRequest]
    tasks: TaskRead | None
    dry_run: bool

    def finished(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self.started)
