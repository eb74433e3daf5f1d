"""One sync cycle: pull → map → evaluate → plan → push → record.

The only module that wires the org client, the engine and the store together. The engine
sees a snapshot and ``now``; the client sees field lists and payloads; the store sees run
counts, watermarks and the mirror. Watermarks and the mirror move only after the
cycle's writes are done, so a cycle that dies half way is redone from the old ones.

A cycle is *full* (read everything) the first time, when forced (nightly reconcile,
``--full``, a whole-org resync), after a mapping change or a dry run; otherwise it is
*incremental*: one composite call reads what changed since the watermarks, the org
state (in memory, or rebuilt from the mirror) moves on, and only what the changes
cascade to is re-evaluated (``syncd.engine.cascade``). A rules change or a new day (time
decides registrations and enforcement dates) re-evaluates everything, from memory.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from syncd.engine.cascade import Changes, Scope, affected, everything
from syncd.engine.domain import Decisions, Snapshot
from syncd.engine.enforcement import Enforcement, EnforcementRules, LedgerEntry, Rung, reconcile
from syncd.engine.evaluate import evaluate
from syncd.engine.policy import Policy
from syncd.errors import FatalSyncError, SyncdError
from syncd.salesforce import OrgClient, push_updates
from syncd.salesforce.push import FailedRecord, PushReport
from syncd.store.store import Store
from syncd.sync.mapping import FieldMapping, task_closing_values, task_values
from syncd.sync.orgstate import OrgState
from syncd.sync.plan import Plan, RecordWrite, plan_writes
from syncd.sync.reader import (
    PARTNER_ROWS,
    NoProgress,
    ProgressSink,
    ReadOptions,
    read_changes,
    read_org,
    watched_objects,
)

log = structlog.get_logger("syncd.cycle")

BATCH = 200  # sObject Collections take at most 200 records a call
# Salesforce answers these when closing a Task whose deal (and so the Task) is gone.
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


@dataclass(frozen=True)
class CycleOptions:
    api_reserve_percent: float = 20.0  # below this share of the daily allowance: no writes
    bulk_threshold: int = 50_000  # full reads of bigger objects use Bulk API 2.0
    write_concurrency: int = 4  # collection calls in flight at once
    overlap: timedelta = timedelta(minutes=5)  # re-read before each watermark

    @classmethod
    def from_settings(cls, settings: Any) -> CycleOptions:
        return cls(
            api_reserve_percent=settings.api_reserve_percent,
            bulk_threshold=settings.bulk_threshold,
            write_concurrency=settings.write_concurrency,
            overlap=timedelta(seconds=settings.overlap_seconds),
        )


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
    changed: int = 0  # incremental: records whose rule inputs changed (deletes included)
    evaluated: int = 0  # accounts and deals decided this cycle
    why_full: str | None = None  # why a cycle read the whole org

    @property
    def ok(self) -> bool:
        return self.outcome in ("success", "dry-run", "budget-hold")


@dataclass
class Pushed:
    written: int = 0
    failures: list[FailedRecord] = field(default_factory=list)
    interrupted: bool = False
    landed: list[RecordWrite] = field(default_factory=list)  # the plan's, not copies

    def add(self, batch: list[RecordWrite], report: PushReport) -> None:
        self.written += report.succeeded
        self.failures.extend(report.failed)
        failed = {f.record_id for f in report.failed}
        self.landed.extend(w for w in batch if w.record_id not in failed)


@dataclass
class TaskOutcome:
    opened: int = 0
    closed: int = 0
    failures: list[FailedRecord] = field(default_factory=list)
    deals: set[str] = field(default_factory=set)  # whose Task failed: decide them again


@dataclass
class _Work:
    """What a cycle read and decided, whichever way it read."""

    state: OrgState  # the org after this cycle's reads
    read: dict[str, int]
    watermarks: dict[str, datetime]
    scope: Scope | None  # None: every record
    gone: dict[str, str]  # deals deleted or merged away -> how
    changed: int = 0
    commit_mirror: Callable[[], None] = lambda: None


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
        options: CycleOptions = CycleOptions(),  # frozen, so a shared default is safe
    ):
        self.client = client
        self.store = store
        self.mapping = mapping
        self.policy = policy
        self.clock = clock
        self.progress = progress or NoProgress()
        self.should_stop = should_stop
        self.options = options
        # The org as the last committed cycle left it; kept between a daemon's cycles and
        # trusted only while the store says that cycle is still the last one.
        self._state: OrgState | None = None
        self._state_run: str | None = None

    def run(self, *, dry_run: bool = False, full: bool = False) -> CycleReport:
        run_id = str(uuid.uuid4())
        started = self.clock()
        calls_before = dict(self.client.calls)
        structlog.contextvars.bind_contextvars(run_id=run_id)
        resyncs = self.store.pending_resyncs()
        why_full = self._why_full(dry_run, full, resyncs)
        mode = "dry-run" if dry_run else "full" if why_full else "incremental"
        self.store.start_run(run_id, mode, started, self.policy.version)
        log.info("cycle.started", mode=mode, why_full=why_full, policy_version=self.policy.version)
        try:
            return self._run(run_id, mode, started, calls_before, dry_run, why_full, resyncs)
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

    # -- which kind of cycle --------------------------------------------------------------

    def _why_full(self, dry_run: bool, full: bool, resyncs: list[Any]) -> str | None:
        if dry_run:
            return "dry run"
        if full:
            return "requested"
        if any(r.scope == "full" for r in resyncs):
            return "whole-org resync queued"
        marks = self.store.watermarks()
        if any(name not in marks for name in self._objects()):
            return "first cycle"
        if self.store.get_fact("mapping_fingerprint") != mapping_fingerprint(self.mapping):
            return "field mapping changed"
        if self._known_state().empty:
            return "no mirror of the org"
        return None

    def _objects(self) -> list[str]:
        return watched_objects(self.mapping)

    def _known_state(self) -> OrgState:
        last = self.store.get_fact("state_run")
        if self._state is None or self._state_run != last:
            self._state = OrgState.from_store(self.store, self.mapping)
            self._state_run = last
        return self._state

    # -- the cycle --------------------------------------------------------------------------

    def _run(
        self,
        run_id: str,
        mode: str,
        started: datetime,
        calls_before: Mapping[str, int],
        dry_run: bool,
        why_full: str | None,
        resyncs: list[Any],
    ) -> CycleReport:
        work = self._read_all(dry_run) if why_full else self._read_changes(resyncs)
        now = self.clock()
        snapshot = work.state.snapshot
        decisions = evaluate(snapshot, self.policy, now, scope=work.scope)
        enforcement = reconcile(
            self.store.ledger(),
            decisions,
            snapshot,
            enforcement_rules(self.policy),
            now,
            scope=None if work.scope is None else work.scope.opportunities,
            gone=work.gone,
        )
        plan = plan_writes(
            decisions,
            work.state.current,
            self.mapping,
            comp_holds=enforcement.comp_holds,
            account_extras=resync_clears(snapshot, self.mapping, work.scope),
        )
        evaluated = len(decisions.accounts) + len(decisions.opportunities)
        log.info(
            "cycle.planned",
            accounts=len(plan.accounts),
            opportunities=len(plan.opportunities),
            evaluated=evaluated,
        )
        written, outcome = 0, "dry-run"
        failures: list[FailedRecord] = []
        tasks = TaskOutcome()
        holding = self._budget_hold()
        if holding and not dry_run:
            outcome = "budget-hold"
        if not dry_run and not holding:
            pushed = self._push(plan)
            written, failures = pushed.written, pushed.failures
            if not pushed.interrupted:
                tasks = self._enforce(enforcement)
                failures.extend(tasks.failures)
            outcome = "interrupted" if pushed.interrupted else "partial" if failures else "success"
            if not pushed.interrupted:
                retry = {f.record_id for f in pushed.failures if f.record_id} | tasks.deals
                self._commit(run_id, work, pushed, retry, [r.id for r in resyncs], now)
        calls = _delta(self.client.calls, calls_before)
        finished = self.clock()
        read_total = sum(work.read.values())
        self.store.finish_run(
            run_id,
            outcome=outcome,
            finished_at=finished,
            records_read=read_total,
            records_written=written,
            write_failures=len(failures),
            api_calls=sum(calls.values()),
        )
        log.info(
            "cycle.finished",
            mode=mode,
            outcome=outcome,
            read=read_total,
            changed=work.changed,
            evaluated=evaluated,
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
            read=work.read,
            plan=plan,
            written=written,
            failures=tuple(failures),
            api_calls=sum(calls.values()),
            api_calls_by_kind=calls,
            snapshot=snapshot,
            decisions=decisions,
            api_usage=(usage.used, usage.max) if usage else None,
            enforcement=enforcement,
            tasks_opened=tasks.opened,
            tasks_closed=tasks.closed,
            changed=work.changed,
            evaluated=evaluated,
            why_full=why_full,
        )

    def _read_all(self, dry_run: bool) -> _Work:
        """Read the whole org; stage it for the mirror (a dry run leaves the store alone)."""
        if not dry_run:
            self.store.clear_mirror_stage()
        options = self._read_options(bulk=self._bulk_objects())
        sink = None if dry_run else self.store.stage_mirror
        started = self.clock()
        pulled = read_org(self.client, self.mapping, self.progress, options=options, sink=sink)
        marks = dict(pulled.watermarks)
        for name in self._objects():  # an empty object: changes from now on
            marks.setdefault(name, started)
        live = pulled.snapshot.opportunities
        gone = {
            e.opportunity_id: "deleted"
            for e in self.store.ledger(open_only=True)
            if e.opportunity_id not in live
        }
        staged = [*self._objects(), PARTNER_ROWS]
        return _Work(
            state=OrgState.from_read(pulled),
            read=pulled.read,
            watermarks=marks,
            scope=None,
            gone=gone,
            commit_mirror=lambda: self.store.promote_mirror(staged),
        )

    def _read_changes(self, resyncs: list[Any]) -> _Work:
        before = self._known_state()
        self.store.clear_mirror_stage()
        applier = before.applier(self.mapping, stage=self.store.stage_mirror)
        changes = read_changes(
            self.client,
            self.mapping,
            self.store.watermarks(),
            applier.page,
            self._read_options(),
        )
        applied = applier.finish(changes.partners)
        after = applied.state
        scope = self._scope(before, after, applied.changes, applied.replan, resyncs)
        if applied.changes.total or applied.replan:
            log.info(
                "cycle.changes",
                users=len(applied.changes.users),
                accounts=len(applied.changes.accounts),
                opportunities=len(applied.changes.opportunities),
                replan=len(applied.replan),
                scope=scope.total,
            )

        def commit_mirror() -> None:
            self.store.merge_mirror_stage()
            self.store.update_mirror(applied.mirror_upserts, applied.mirror_deletes)

        return _Work(
            state=after,
            read=changes.read,
            watermarks=changes.watermarks,
            scope=scope,
            gone=applied.deleted_deals,
            changed=applied.changes.total,
            commit_mirror=commit_mirror,
        )

    def _scope(
        self,
        before: OrgState,
        after: OrgState,
        changes: Changes,
        replan: frozenset[str],
        resyncs: list[Any],
    ) -> Scope:
        """What to decide: what the changes reach, or everything when the rules moved on."""
        snapshot = after.snapshot
        everything_because = self._re_evaluate_all()
        if everything_because:
            log.info("cycle.re_evaluate_all", why=everything_because)
            return everything(snapshot)
        named = set(self.policy.named_account_ids) ^ set(self._fact_list("named_accounts"))
        asked = {r.record_id for r in resyncs if r.record_id}
        retry = set(self._fact_list("retry_ids"))
        wider = Changes(
            users=changes.users,
            accounts=changes.accounts | {i for i in named | asked if i in snapshot.accounts},
            opportunities=changes.opportunities
            | {i for i in asked | retry if i in snapshot.opportunities},
        )
        reached = affected(before.snapshot, snapshot, wider)
        extra = replan | retry
        return Scope(
            reached.accounts | {i for i in extra if i in snapshot.accounts},
            reached.opportunities | {i for i in extra if i in snapshot.opportunities},
        )

    def _re_evaluate_all(self) -> str | None:
        if self.store.get_fact("rules_fingerprint") != rules_fingerprint(self.policy):
            return "the rules changed"
        if self.store.get_fact("evaluated_on") != self.clock().date().isoformat():
            return "a new day (registrations expire, enforcement dates pass)"
        return None

    def _fact_list(self, key: str) -> list[str]:
        value = self.store.get_fact(key)
        return list(json.loads(value)) if value else []

    def _read_options(self, bulk: frozenset[str] = frozenset()) -> ReadOptions:
        return ReadOptions(
            bulk_objects=bulk,
            bulk_threshold=self.options.bulk_threshold,
            overlap=self.options.overlap,
        )

    def _bulk_objects(self) -> frozenset[str]:
        """Objects whose full read goes through Bulk API 2.0 (bigger than the threshold).

        Sized by the mirror (the last cycle's count); an object of unknown size starts
        over REST and switches when the first page's totalSize says it is big.
        """
        threshold = self.options.bulk_threshold
        known = self.store.mirror_counts()
        return frozenset(name for name in self._objects() if known.get(name, 0) > threshold)

    def _commit(
        self,
        run_id: str,
        work: _Work,
        pushed: Pushed,
        retry: set[str],
        resyncs: list[int],
        now: datetime,
    ) -> None:
        """The cycle's writes are done: move the mirror, then the marks, then the facts.

        In that order: a crash between mirror and marks re-reads changes the mirror
        already holds (harmless); the other way round would lose them.
        """
        work.commit_mirror()
        self.store.set_watermarks(work.watermarks, self.clock())
        # A whole-org read answers every queued resync; an incremental one every targeted
        # one (they were in its scope), and the whole-org ones wait for a full cycle.
        self.store.complete_resyncs(resyncs, self.clock())
        facts = {
            "policy_fingerprint": self.policy.fingerprint,
            "rules_fingerprint": rules_fingerprint(self.policy),
            "named_accounts": json.dumps(sorted(self.policy.named_account_ids)),
            "mapping_fingerprint": mapping_fingerprint(self.mapping),
            "evaluated_on": now.date().isoformat(),
            # Records whose write or Task failed: the next incremental cycle decides them
            # again even though nothing about them changed.
            "retry_ids": json.dumps(sorted(i for i in retry if i)),
            "state_run": run_id,
        }
        for key, value in facts.items():
            self.store.set_fact(key, value)
        work.state.record_written((w.record_id, w.values) for w in pushed.landed)
        self._state = work.state
        self._state_run = run_id

    def _budget_hold(self) -> bool:
        """Below the reserve of the org's daily API allowance: read, decide, write nothing.

        The reads already happened (they tell us the usage); skipping writes and Task
        creation leaves the reserve to the org's other integrations. Resumes by itself.
        """
        usage = self.client.usage
        if usage is None or usage.max <= 0:
            return False
        remaining = usage.max - usage.used
        holding = remaining < usage.max * self.options.api_reserve_percent / 100
        self.store.set_fact(
            "api_budget",
            json.dumps(
                {
                    "used": usage.used,
                    "max": usage.max,
                    "reserve_percent": self.options.api_reserve_percent,
                    "holding": holding,
                }
            ),
        )
        if holding:
            log.warning(
                "cycle.budget_hold",
                used=usage.used,
                max=usage.max,
                reserve_percent=self.options.api_reserve_percent,
            )
        return holding

    # -- push -------------------------------------------------------------------------

    def _push(self, plan: Plan) -> Pushed:
        """Write the plan, up to ``write_concurrency`` collection calls at a time.

        Waves of calls: between waves a stop request is honoured; within one, results are
        taken in plan order, so what reaches the store never depends on thread timing.
        """
        pushed = Pushed()
        total = plan.total
        batches = [
            (sobject, list(writes[start : start + BATCH]))
            for sobject, writes in (
                (self.mapping.account.sobject, plan.accounts),
                (self.mapping.opportunity.sobject, plan.opportunities),
            )
            for start in range(0, len(writes), BATCH)
        ]
        width = max(1, self.options.write_concurrency)
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="syncd-write") as pool:
            for start in range(0, len(batches), width):
                if self.should_stop():
                    remaining = total - pushed.written - len(pushed.failures)
                    log.warning("cycle.stop_requested", remaining=remaining)
                    pushed.interrupted = True
                    return pushed
                wave = batches[start : start + width]
                reports = pool.map(
                    lambda job: push_updates(self.client, job[0], [w.payload() for w in job[1]]),
                    wave,
                )
                for (_, batch), report in zip(wave, reports, strict=True):
                    pushed.add(batch, report)
                self.progress.update("push", pushed.written + len(pushed.failures), total)
        return pushed

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
                    outcome.deals.add(entry.opportunity_id)
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
                if result.success or _gone(result):  # a deleted deal takes its Tasks along
                    saved.append(closure.entry)
                    outcome.closed += 1
                else:  # stays open in the ledger: the next cycle closes it again
                    outcome.failures.append(_failed(closure.entry.task_id or "", result))
                    outcome.deals.add(closure.entry.opportunity_id)
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


def resync_clears(
    snapshot: Snapshot, mapping: FieldMapping, scope: Scope | None = None
) -> dict[str, dict[str, Any]]:
    """Untick RoE_Resync_Requested__c on the accounts this cycle re-evaluated."""
    field = mapping.account.read.resync_requested
    if not field:
        return {}
    accounts: Iterable[str] = snapshot.accounts if scope is None else scope.accounts
    return {
        key: {field: False}
        for key in accounts
        if key in snapshot.accounts and snapshot.accounts[key].resync_requested
    }


def rules_fingerprint(policy: Policy) -> str:
    """The policy's fingerprint without the named-account list (that one cascades)."""
    data = policy.model_dump(mode="json", exclude={"named_account_ids"})
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def mapping_fingerprint(mapping: FieldMapping) -> str:
    """A new mapping reads other fields: the mirror no longer describes the org."""
    return hashlib.sha256(mapping.model_dump_json().encode()).hexdigest()


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


def _gone(result: Any) -> bool:
    return any(e.code in GONE_CODES for e in result.errors)


def _delta(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
