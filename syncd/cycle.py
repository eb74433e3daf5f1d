"""One sync cycle: pull → map → evaluate → plan → push → record.

The only module that wires the org client, the engine and the store together. The engine
sees a snapshot and ``now``; the client sees field lists and payloads; the store sees run
counts and watermarks. Watermarks move only after the cycle's writes are done.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from syncd.domain import Decisions, Snapshot
from syncd.enforcement import Enforcement, EnforcementRules, LedgerEntry, Rung, reconcile
from syncd.engine import evaluate
from syncd.errors import FatalSyncError, SyncdError
from syncd.mapping import FieldMapping, task_closing_values, task_values
from syncd.plan import Plan, RecordWrite, plan_writes
from syncd.policy import Policy
from syncd.reader import NoProgress, ProgressSink, read_org
from syncd.salesforce import OrgClient, push_updates
from syncd.salesforce.push import FailedRecord
from syncd.store import Store

log = structlog.get_logger("syncd.cycle")

BATCH = 200  # sObject Collections take at most 200 records a call


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

    @property
    def ok(self) -> bool:
        return self.outcome in ("success", "dry-run", "budget-hold")


@dataclass
class TaskOutcome:
    opened: int = 0
    closed: int = 0
    failures: list[FailedRecord] = field(default_factory=list)


class Cycle:
    def __init__(
        self,
        client: OrgClient,
        store: Store,
        mapping: FieldMapping,
        policy: Policy,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: ProgressSink | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        api_reserve_percent: float = 20.0,
    ):
        self.client = client
        self.store = store
        self.mapping = mapping
        self.policy = policy
        self.clock = clock
        self.progress = progress or NoProgress()
        self.should_stop = should_stop
        self.api_reserve_percent = api_reserve_percent

    def run(self, *, dry_run: bool = False) -> CycleReport:
        run_id = str(uuid.uuid4())
        mode = "dry-run" if dry_run else "full"
        started = self.clock()
        calls_before = dict(self.client.calls)
        structlog.contextvars.bind_contextvars(run_id=run_id)
        self.store.start_run(run_id, mode, started, self.policy.version)
        log.info("cycle.started", mode=mode, policy_version=self.policy.version)
        try:
            return self._run(run_id, mode, started, calls_before, dry_run)
        except SyncdError as exc:
            self._finish_failed(run_id, calls_before, exc)
            raise
        except BaseException as exc:  # a bug or an interrupt: never leave the run "running"
            self.store.finish_run(
                run_id,
                outcome="aborted",
                finished_at=self.clock(),
                error=f"{type(exc).__name__}: {exc}",
            )
            raise
        finally:
            structlog.contextvars.unbind_contextvars("run_id")

    def _run(
        self,
        run_id: str,
        mode: str,
        started: datetime,
        calls_before: Mapping[str, int],
        dry_run: bool,
    ) -> CycleReport:
        resyncs = [r.id for r in self.store.pending_resyncs()]
        pulled = read_org(self.client, self.mapping, self.progress)
        now = self.clock()
        before = self.store.get_fact("policy_fingerprint")
        if before is not None and before != self.policy.fingerprint:
            log.info("cycle.policy_changed", policy_version=self.policy.version)
        decisions = evaluate(pulled.snapshot, self.policy, now)
        enforcement = reconcile(
            self.store.ledger(), decisions, pulled.snapshot, enforcement_rules(self.policy), now
        )
        plan = plan_writes(
            decisions,
            pulled.current,
            self.mapping,
            comp_holds=enforcement.comp_holds,
            account_extras=resync_clears(pulled.snapshot, self.mapping),
        )
        log.info(
            "cycle.planned",
            accounts=len(plan.accounts),
            opportunities=len(plan.opportunities),
            evaluated=len(decisions.opportunities),
        )
        written, outcome = 0, "dry-run"
        failures: list[FailedRecord] = []
        tasks = TaskOutcome()
        holding = self._budget_hold()
        if holding and not dry_run:
            outcome = "budget-hold"
        if not dry_run and not holding:
            written, failures, interrupted = self._push(plan)
            if not interrupted:
                tasks = self._enforce(enforcement)
                failures.extend(tasks.failures)
            outcome = "interrupted" if interrupted else "partial" if failures else "success"
            if not interrupted:
                # Only now: a cycle that died before this point is redone from the old marks.
                self.store.replace_mirror(pulled.raw)
                # A full cycle re-evaluates everything, so it answers every queued resync.
                self.store.complete_resyncs(resyncs, self.clock())
                self.store.set_watermarks(pulled.watermarks, self.clock())
                self.store.set_fact("policy_fingerprint", self.policy.fingerprint)
        calls = _delta(self.client.calls, calls_before)
        finished = self.clock()
        self.store.finish_run(
            run_id,
            outcome=outcome,
            finished_at=finished,
            records_read=sum(pulled.read.values()),
            records_written=written,
            write_failures=len(failures),
            api_calls=sum(calls.values()),
        )
        log.info(
            "cycle.finished",
            outcome=outcome,
            read=sum(pulled.read.values()),
            written=written,
            failures=len(failures),
            api_calls=sum(calls.values()),
        )
        usage = self.client.usage
        return CycleReport(
            run_id=run_id,
            mode=mode,
            outcome=outcome,
            started_at=started,
            finished_at=finished,
            read=pulled.read,
            plan=plan,
            written=written,
            failures=tuple(failures),
            api_calls=sum(calls.values()),
            api_calls_by_kind=calls,
            snapshot=pulled.snapshot,
            decisions=decisions,
            api_usage=(usage.used, usage.max) if usage else None,
            enforcement=enforcement,
            tasks_opened=tasks.opened,
            tasks_closed=tasks.closed,
        )

    def _budget_hold(self) -> bool:
        """Below the reserve of the org's daily API allowance: read, decide, write nothing.

        The reads already happened (they tell us the usage); skipping writes and Task
        creation leaves the reserve to the org's other integrations. Resumes by itself.
        """
        usage = self.client.usage
        if usage is None or usage.max <= 0:
            return False
        remaining = usage.max - usage.used
        holding = remaining < usage.max * self.api_reserve_percent / 100
        self.store.set_fact(
            "api_budget",
            json.dumps(
                {
                    "used": usage.used,
                    "max": usage.max,
                    "reserve_percent": self.api_reserve_percent,
                    "holding": holding,
                }
            ),
        )
        if holding:
            log.warning(
                "cycle.budget_hold",
                used=usage.used,
                max=usage.max,
                reserve_percent=self.api_reserve_percent,
            )
        return holding

    # -- push -------------------------------------------------------------------------

    def _push(self, plan: Plan) -> tuple[int, list[FailedRecord], bool]:
        written = 0
        failures: list[FailedRecord] = []
        total = plan.total
        for sobject, writes in (
            (self.mapping.account.sobject, plan.accounts),
            (self.mapping.opportunity.sobject, plan.opportunities),
        ):
            for start in range(0, len(writes), BATCH):
                if self.should_stop():
                    log.warning("cycle.stop_requested", remaining=total - written - len(failures))
                    return written, failures, True
                batch: list[RecordWrite] = list(writes[start : start + BATCH])
                report = push_updates(self.client, sobject, [w.payload() for w in batch])
                written += report.succeeded
                failures.extend(report.failed)
                self.progress.update("push", written + len(failures), total)
        return written, failures, False

    # -- enforcement --------------------------------------------------------------------

    def _enforce(self, enforcement: Enforcement) -> TaskOutcome:
        """Open and close violation Tasks; commit to the ledger only what landed."""
        outcome = TaskOutcome()
        task = self.mapping.task
        saved: list[LedgerEntry] = list(enforcement.seen)
        opened = list(enforcement.opened)
        for start in range(0, len(opened), BATCH):
            batch = opened[start : start + BATCH]
            payload = [task_values(spec, self.mapping) for _, spec in batch]
            results = self.client.upsert(task.sobject, task.key_field, payload)
            for (entry, _spec), result in zip(batch, results, strict=True):
                if result.success:
                    saved.append(replace(entry, task_id=result.id))
                    outcome.opened += 1
                else:
                    outcome.failures.append(_failed(entry.key, result))
        closing = [c for c in enforcement.closed if c.entry.task_id]
        saved.extend(c.entry for c in enforcement.closed if not c.entry.task_id)
        for start in range(0, len(closing), BATCH):
            closures = closing[start : start + BATCH]
            payload = [
                task_closing_values(
                    c.entry.task_id or "", c.note, c.entry.description, self.mapping
                )
                for c in closures
            ]
            for closure, result in zip(
                closures, self.client.update(task.sobject, payload), strict=True
            ):
                if result.success:
                    saved.append(closure.entry)
                    outcome.closed += 1
                else:  # stays open in the ledger: the next cycle closes it again
                    outcome.failures.append(_failed(closure.entry.task_id or "", result))
        self.store.save_ledger(saved)
        log.info("enforcement.done", opened=outcome.opened, closed=outcome.closed)
        return outcome

    def _finish_failed(self, run_id: str, calls_before: Mapping[str, int], exc: SyncdError) -> None:
        calls = _delta(self.client.calls, calls_before)
        outcome = "failed"
        log.error("cycle.failed", error=str(exc), error_type=type(exc).__name__)
        self.store.finish_run(
            run_id,
            outcome=outcome,
            finished_at=self.clock(),
            api_calls=sum(calls.values()),
            error=f"{type(exc).__name__}: {exc}",
        )
        if not isinstance(exc, FatalSyncError):
            log.info("cycle.will_retry_next_tick")


def resync_clears(snapshot: Snapshot, mapping: FieldMapping) -> dict[str, dict[str, Any]]:
    """Untick RoE_Resync_Requested__c on the accounts this (full) cycle has re-evaluated."""
    field = mapping.account.read.resync_requested
    if not field:
        return {}
    return {a.id: {field: False} for a in snapshot.accounts.values() if a.resync_requested}


def enforcement_rules(policy: Policy) -> EnforcementRules:
    escalation = policy.escalation
    return EnforcementRules(
        window_days=escalation.window_days,
        ladder=tuple(
            Rung(r.level, str(r.action), str(r.owner), str(r.priority)) for r in escalation.ladder
        ),
        sticky_codes=frozenset(policy.compensation.sticky_codes),
        channel_ops_user_id=policy.owners.channel_ops_user_id,
        channel_chief_user_id=policy.owners.channel_chief_user_id,
        due_days={"Normal": 7, "High": 3},
    )


def _failed(record_id: str, result: Any) -> FailedRecord:
    first = result.errors[0] if result.errors else None
    failure = FailedRecord(
        record_id=record_id,
        index=result.index,
        code=first.code if first else "UNKNOWN",
        message=first.message if first else "",
        fields=first.fields if first else (),
    )
    log.warning("salesforce.record_failed", record_id=record_id, code=failure.code)
    return failure


def _delta(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
