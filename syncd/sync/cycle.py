"""One sync cycle: read → decide → reconcile → plan → push → commit. It only orchestrates.

The only module that wires the org client, the engine and the store together. The engine
sees a snapshot and ``now`` — read ONCE per cycle, so a cycle that starts a second before
midnight decides, records and dates everything on the same day. What the cycle leaves
behind (ledger, mirror, typed state with the watermarks, run record) is committed in ONE
transaction after its writes are done, so a cycle that dies at any instant is redone
from the previous state: nothing lost, nothing written twice.

A cycle is *full* (read everything) the first time, when forced (nightly reconcile,
``--full``, a whole-org resync), after a mapping change or a dry run; otherwise it is
*incremental*: one composite call reads what changed since the watermarks, the org
state (in memory, or loaded from the mirror: just what the changes reach) moves on, and
only what the changes cascade to is re-decided (``syncd.engine.cascade``). A rules
change or a new day (time decides registrations and enforcement dates) re-decides
everything, from memory (a fresh process loads the whole mirror for it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import structlog

from syncd.engine.domain import Decisions
from syncd.engine.enforcement import EnforcementRules, LedgerEntry, adopt, reconcile
from syncd.engine.evaluate import evaluate
from syncd.engine.history import HistoryEvent, Stamp
from syncd.engine.policy import Policy
from syncd.errors import FatalSyncError, SyncdError
from syncd.notify.events import CycleFacts as NoticeFacts
from syncd.notify.message import OutboxChange
from syncd.notify.notifier import Notifier
from syncd.salesforce import OrgClient, WriteJob, Writer
from syncd.store.commit import CycleCommit, MirrorChange, RunFinish
from syncd.store.state import CycleState, advanced
from syncd.store.store import Store
from syncd.sync.audit import CycleFacts as HistoryFacts
from syncd.sync.audit import LedgerMoves, cycle_history, earlier_knowledge
from syncd.sync.fingerprint import fingerprints
from syncd.sync.mapping import FieldMapping
from syncd.sync.options import CycleOptions
from syncd.sync.orgstate import OrgState
from syncd.sync.plan import Payloads, RecordWrite, exception_clears, plan_writes, resync_clears
from syncd.sync.reader import NoProgress, ProgressSink
from syncd.sync.reading import Reading
from syncd.sync.report import CycleReport
from syncd.sync.tasks import org_tasks, task_jobs, task_outcome
from syncd.sync.work import COMMITTED, CycleRun, Decided, Pushed, Work

__all__ = ["Cycle", "CycleOptions", "CycleReport"]

log = structlog.get_logger("syncd.cycle")
ENGINE_ERRORS_LOGGED = 50  # one line each; a count beyond that


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
        options: CycleOptions = CycleOptions(),  # noqa: B008  # frozen: a shared default is safe
        notifier: Notifier | None = None,
    ):
        self.client = client
        self.store = store
        self.mapping = mapping
        self.clock = clock
        self.progress = progress or NoProgress()
        self.should_stop = should_stop
        self.options = options
        self.notifier = notifier
        self.reading = Reading(client, store, mapping, policy, options, self.progress)
        self.policy = policy

    @property
    def policy(self) -> Policy:
        return self.reading.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        """A new rules file (the next cycle sees it changed and re-decides everything)."""
        self.reading.policy = policy
        self.rules = EnforcementRules.from_policy(policy)

    def run(self, *, dry_run: bool = False, full: bool = False) -> CycleReport:
        run = self._begin(dry_run, full)
        calls_before = dict(self.client.calls)
        structlog.contextvars.bind_contextvars(run_id=run.run_id)
        self.store.start_run(run.run_id, run.mode, run.now, self.policy.version)
        log.info("cycle.started", mode=run.mode, why_full=run.why_full, policy=self.policy.version)
        try:
            return self._run(run, calls_before)
        except SyncdError as exc:
            self._finish_failed(run, calls_before, exc, "failed")
            raise
        except BaseException as exc:  # a bug or an interrupt: never leave the run "running"
            self._finish_failed(run, calls_before, exc, "aborted")
            raise
        finally:
            structlog.contextvars.unbind_contextvars("run_id")

    # -- which kind of cycle --------------------------------------------------------------

    def _begin(self, dry_run: bool, full: bool) -> CycleRun:
        state = self.store.cycle_state()
        resyncs = self.store.pending_resyncs()
        why_full = self.reading.why_full(state, dry_run, full, resyncs)
        mode = "dry-run" if dry_run else "full" if why_full else "incremental"
        return CycleRun(
            run_id=str(uuid.uuid4()),
            now=self.clock(),
            started=time.monotonic(),
            state=state,
            mode=mode,
            why_full=why_full,
            resyncs=resyncs,
            tasks=None if dry_run else self.reading.task_read(state),
            dry_run=dry_run,
        )

    def org_state(self) -> OrgState:
        """The org as the last committed cycle left it (kept in memory, else the mirror)."""
        return self.reading.org_state()

    # -- the cycle --------------------------------------------------------------------------

    def _run(self, run: CycleRun, calls_before: Mapping[str, int]) -> CycleReport:
        org_id = self._org_id(run.state)
        work = self.reading.read(run)
        decided = self._decide(run, work)
        pushed, outcome = Pushed(), "dry-run"
        holding = self._budget_hold()
        if holding and not run.dry_run:
            outcome = "budget-hold"
        if not run.dry_run and not holding:
            pushed = self._push(decided, run.now)
            outcome = _outcome(pushed)
        calls = _delta(self.client.calls, calls_before)
        finish = self._finish(run, outcome, work, pushed, calls)
        if outcome in COMMITTED:
            self._commit(run, finish, work, decided, pushed, org_id)
        else:
            self.store.finish_run(finish)
        log.info(
            "cycle.finished",
            mode=run.mode,
            outcome=outcome,
            read=finish.records_read,
            changed=work.changed,
            evaluated=_evaluated(decided.decisions),
            written=pushed.written,
            failures=finish.write_failures,
            api_calls=finish.api_calls,
        )
        return self._report(run, finish, work, decided, pushed, calls)

    def _org_id(self, state: CycleState) -> str | None:
        """The org this client is logged into; a store bound to another one refuses."""
        org_id = self.client.org_id
        if org_id and state.org_id and org_id[:15] != state.org_id[:15]:
            raise FatalSyncError(
                f"the state store {self.store.location} belongs to org {state.org_id}, but "
                f"syncd is logged into org {org_id}: give each org its own state "
                "(state_dir or database_url); nothing was read or written"
            )
        return org_id

    def _decide(self, run: CycleRun, work: Work) -> Decided:
        snapshot = work.state.snapshot
        decisions = evaluate(snapshot, self.policy, run.now, scope=work.scope)
        _log_engine_errors(decisions)
        stored = self.reading.ledger(run, work, self.rules)
        history, adopted = adopt(stored, org_tasks(work.tasks, self.mapping), snapshot, run.now)
        if adopted:
            log.info("enforcement.adopted", tasks=len(adopted))
        enforcement = reconcile(
            history,
            decisions,
            snapshot,
            self.rules,
            run.now,
            scope=None if work.scope is None else work.scope.opportunities,
            gone=work.gone,
        )
        plan = plan_writes(
            decisions,
            work.state.current,
            self.mapping,
            holds=enforcement.holds,
            account_extras=resync_clears(snapshot, self.mapping, work.scope),
            opportunity_extras=exception_clears(decisions, snapshot, self.mapping),
        )
        log.info(
            "cycle.planned",
            accounts=len(plan.accounts),
            opportunities=len(plan.opportunities),
            evaluated=_evaluated(decisions),
        )
        decided = Decided(decisions, enforcement, plan, adopted, {e.key: e for e in stored})
        if self.notifier is not None and not run.dry_run:
            decided.outbox = self.notifier.plan(self._facts(run, work, decided), run.now)
        return decided

    def _facts(self, run: CycleRun, work: Work, decided: Decided) -> NoticeFacts:
        assert self.notifier is not None
        return NoticeFacts(
            snapshot=work.state.snapshot,
            decisions=decided.decisions,
            enforcement=decided.enforcement,
            stored=decided.ledger_before,
            adopted=decided.adopted,
            # Nothing committed and no earlier run: Tasks found now predate this store
            # (after an earlier run that died, they are this store's own, unannounced).
            fresh_store=run.state.empty and len(self.store.recent_runs(2)) < 2,
            instance_url=self.client.instance_url or "",
            currency=self.notifier.settings.currency,
            actions={r.level: r.action for r in self.rules.ladder},
        )

    # -- writing ----------------------------------------------------------------------------

    def _writer(self, total: int) -> Writer:
        return Writer(
            self.client,
            concurrency=self.options.write_concurrency,
            bulk_threshold=self.options.bulk_write_threshold,
            should_stop=self.should_stop,
            progress=lambda done, _all: self.progress.update("push", done, total),
        )

    def _push(self, decided: Decided, now: datetime) -> Pushed:
        """Write the plan and open and close the violation Tasks, all in one flow of
        calls (``concurrency`` in flight): a Task does not wait for the flags."""
        plan = decided.plan
        writes = [*plan.accounts, *plan.opportunities]
        records = [
            WriteJob(sobject, "update", Payloads(batch), [w.record_id for w in batch])
            for sobject, batch in (
                (self.mapping.account.sobject, plan.accounts),
                (self.mapping.opportunity.sobject, plan.opportunities),
            )
            if batch
        ]
        tasks = task_jobs(decided.enforcement, self.mapping)
        total = plan.total + sum(len(job.records) for job in tasks)
        landed = self._writer(total).write([*records, *tasks])
        # Task refs are ledger keys, never record Ids: what is left are the flags' results
        tasks_written = landed.take({r for job in tasks for r in job.refs})
        pushed = Pushed(
            written=len(landed.landed),
            failures=list(landed.failures),
            landed=[w for w in writes if w.record_id in landed.landed],
            interrupted=landed.interrupted,
        )
        pushed.tasks = task_outcome(decided.enforcement, tasks_written, now)
        pushed.failures.extend(pushed.tasks.failures)
        log.info("enforcement.done", opened=pushed.tasks.opened, closed=pushed.tasks.closed)
        if self.notifier is not None and decided.outbox is not None and not pushed.interrupted:
            pushed.outbox = self.notifier.publish_events(self.client, decided.outbox, now)
        return pushed

    def _budget_hold(self) -> bool:
        """Below the reserve of the org's daily API allowance: read, decide, write nothing.

        The reads already happened (they tell us the usage); skipping writes and Task
        creation leaves the reserve to the org's other integrations. Resumes by itself.
        """
        usage = self.client.usage
        if usage is None or usage.max <= 0:
            return False
        holding = usage.max - usage.used < usage.max * self.options.api_reserve_percent / 100
        if holding:
            log.warning(
                "cycle.budget_hold",
                used=usage.used,
                max=usage.max,
                reserve_percent=self.options.api_reserve_percent,
            )
        return holding

    # -- committing -------------------------------------------------------------------------

    def _finish(
        self, run: CycleRun, outcome: str, work: Work, pushed: Pushed, calls: Mapping[str, int]
    ) -> RunFinish:
        usage = self.client.usage
        return RunFinish(
            run_id=run.run_id,
            outcome=outcome,
            finished_at=run.finished(),
            records_read=sum(work.read.values()),
            records_written=pushed.written,
            write_failures=len(pushed.failures),
            api_calls=sum(calls.values()),
            api_used=usage.used if usage else None,
            api_max=usage.max if usage else None,
            budget_hold=outcome == "budget-hold",
        )

    def _commit(
        self,
        run: CycleRun,
        finish: RunFinish,
        work: Work,
        decided: Decided,
        pushed: Pushed,
        org_id: str | None,
    ) -> None:
        """The cycle's writes are done: commit everything it leaves behind, at once."""
        snapshot = work.state.snapshot
        failed = {f.record_id for f in pushed.failures if f.record_id} | pushed.tasks.deals
        retry = {i for i in failed if i in snapshot.opportunities or i in snapshot.accounts}
        state = advanced(
            run.state,
            run_id=run.run_id,
            watermarks=work.watermarks,
            fingerprints=fingerprints(self.policy, self.mapping),
            now=run.now,
            retry_ids=retry,
            org_id=org_id,
        )
        mirror = _with_written(work.mirror, pushed.landed, work.state.current)
        ledger = [*decided.adopted, *pushed.tasks.entries]
        self.store.commit_cycle(
            CycleCommit(
                run=finish,
                state=state,
                ledger=ledger,
                mirror=mirror,
                history=self._history(run, work, decided, pushed.landed, ledger),
                # A whole-org read answers every queued resync; an incremental one every
                # targeted one (they were in its scope); whole-org ones wait for a full one.
                resyncs_done=[r.id for r in run.resyncs if run.why_full or r.scope != "full"],
                outbox=_owed(decided, pushed),
            )
        )
        work.state.record_written((w.record_id, w.values) for w in pushed.landed)
        self.reading.remember(work.state, run.run_id)

    def _history(
        self,
        run: CycleRun,
        work: Work,
        decided: Decided,
        landed: Sequence[RecordWrite],
        ledger: Sequence[LedgerEntry],
    ) -> Iterator[HistoryEvent]:
        """The cycle's decision history, generated while the commit writes it."""
        facts = HistoryFacts(
            stamp=Stamp(run.run_id, run.now, decided.decisions.policy_version, self.client.user_id),
            decisions=decided.decisions,
            after=work.state,
            earlier=earlier_knowledge(work.before, self.store, self.mapping, run.state.empty),
            observed=work.observed,
            ledger=LedgerMoves(decided.ledger_before, ledger, {e.key for e in decided.adopted}),
        )
        return cycle_history(facts, self.mapping, landed)

    def _finish_failed(
        self, run: CycleRun, calls_before: Mapping[str, int], exc: BaseException, outcome: str
    ) -> None:
        calls = _delta(self.client.calls, calls_before)
        log.error("cycle.failed", error=str(exc), error_type=type(exc).__name__, outcome=outcome)
        self.store.finish_run(
            RunFinish(
                run_id=run.run_id,
                outcome=outcome,
                finished_at=run.finished(),
                api_calls=sum(calls.values()),
                error=f"{type(exc).__name__}: {exc}",
            )
        )
        if isinstance(exc, SyncdError) and not isinstance(exc, FatalSyncError):
            log.info("cycle.will_retry_next_tick")

    def _report(
        self,
        run: CycleRun,
        finish: RunFinish,
        work: Work,
        decided: Decided,
        pushed: Pushed,
        calls: Mapping[str, int],
    ) -> CycleReport:
        usage = self.client.usage
        return CycleReport(
            run_id=run.run_id,
            mode=run.mode,
            outcome=finish.outcome,
            started_at=run.now,
            finished_at=finish.finished_at,
            read=work.read,
            plan=decided.plan,
            written=pushed.written,
            failures=tuple(pushed.failures),
            api_calls=finish.api_calls,
            api_calls_by_kind=calls,
            snapshot=work.state.snapshot,
            decisions=decided.decisions,
            api_usage=(usage.used, usage.max) if usage else None,
            enforcement=decided.enforcement,
            tasks_opened=pushed.tasks.opened,
            tasks_closed=pushed.tasks.closed,
            tasks_adopted=len(decided.adopted),
            changed=work.changed,
            evaluated=_evaluated(decided.decisions),
            why_full=run.why_full,
            outbox=_owed(decided, pushed) if finish.outcome in COMMITTED else None,
        )


def _owed(decided: Decided, pushed: Pushed) -> OutboxChange | None:
    """The notifications to commit: as planned, with the platform events' outcomes."""
    return pushed.outbox if pushed.outbox is not None else decided.outbox


def _outcome(pushed: Pushed) -> str:
    if pushed.interrupted:
        return "interrupted"
    return "partial" if pushed.failures else "success"


def _log_engine_errors(decisions: Decisions) -> None:
    """A rule that raised on a record made it Review; say which record and why, so the bug is
    fixed rather than read as a data problem."""
    for record_id, error in sorted(decisions.errors.items())[:ENGINE_ERRORS_LOGGED]:
        log.error("engine.record_failed", record_id=record_id, error=error)
    if len(decisions.errors) > ENGINE_ERRORS_LOGGED:
        log.error("engine.records_failed", count=len(decisions.errors))


def _evaluated(decisions: Decisions) -> int:
    return len(decisions.accounts) + len(decisions.opportunities)


def _with_written(
    change: MirrorChange,
    landed: Sequence[RecordWrite],
    current: Mapping[str, Mapping[str, Any]],
) -> MirrorChange:
    """The mirror's move with the values of the records whose writes landed: all of
    syncd's field values on each, made as the commit saves them (not held at once)."""

    def after(sobject: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for write in landed:
            if write.sobject == sobject:
                yield write.record_id, {**current.get(write.record_id, {}), **write.values}

    sobjects = dict.fromkeys(w.sobject for w in landed)
    return replace(change, written={sobject: after(sobject) for sobject in sobjects})


def _delta(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
