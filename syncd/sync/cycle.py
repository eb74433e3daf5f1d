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
state (in memory, or rebuilt from the mirror) moves on, and only what the changes
cascade to is re-decided (``syncd.engine.cascade``). A rules change or a new day (time
decides registrations and enforcement dates) re-decides everything, from memory.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from syncd.engine.cascade import Changes, Scope, affected, everything
from syncd.engine.domain import Decisions, Snapshot
from syncd.engine.enforcement import Enforcement, EnforcementRules, LedgerEntry, adopt, reconcile
from syncd.engine.evaluate import evaluate
from syncd.engine.history import HistoryEvent, Stamp
from syncd.engine.policy import Policy
from syncd.errors import FatalSyncError, SyncdError
from syncd.notify.events import CycleFacts as NoticeFacts
from syncd.notify.message import OutboxChange
from syncd.notify.notifier import Notifier
from syncd.salesforce import FailedRecord, OrgClient, WriteJob, Writer
from syncd.store.commit import CycleCommit, MirrorChange, RunFinish
from syncd.store.state import CycleState, advanced
from syncd.store.store import ResyncRequest, Store
from syncd.sync.audit import CycleFacts as HistoryFacts
from syncd.sync.audit import LedgerMoves, cycle_history, earlier_knowledge
from syncd.sync.fingerprint import fingerprints, mapping_fingerprint, rules_fingerprint
from syncd.sync.mapping import FieldMapping
from syncd.sync.orgstate import OrgState
from syncd.sync.plan import Plan, RecordWrite, plan_writes
from syncd.sync.reader import (
    PARTNER_ROWS,
    NoProgress,
    ProgressSink,
    ReadOptions,
    TaskRead,
    read_changes,
    read_org,
    watched_objects,
)
from syncd.sync.tasks import TaskOutcome, org_tasks, push_tasks

log = structlog.get_logger("syncd.cycle")

COMMITTED = frozenset({"success", "partial"})  # outcomes whose results were committed
NOT_WRITING = frozenset({"dry-run", "budget-hold"})  # outcomes that wrote nothing


@dataclass(frozen=True)
class CycleOptions:
    api_reserve_percent: float = 20.0  # below this share of the daily allowance: no writes
    bulk_threshold: int = 50_000  # full reads of bigger objects use Bulk API 2.0
    write_concurrency: int = 4  # write calls in flight at once
    bulk_write_threshold: int = 5_000  # writes of more records go through Bulk API 2.0
    overlap: timedelta = timedelta(minutes=5)  # re-read before each watermark

    @classmethod
    def from_settings(cls, settings: Any) -> CycleOptions:
        return cls(
            api_reserve_percent=settings.api_reserve_percent,
            bulk_threshold=settings.bulk_threshold,
            write_concurrency=settings.write_concurrency,
            bulk_write_threshold=settings.bulk_write_threshold,
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
    tasks_adopted: int = 0  # Tasks found in the org that the ledger did not know
    changed: int = 0  # incremental: records whose rule inputs changed (deletes included)
    evaluated: int = 0  # accounts and deals decided this cycle
    why_full: str | None = None  # why a cycle read the whole org
    outbox: OutboxChange | None = None  # notifications this cycle committed

    @property
    def ok(self) -> bool:
        return self.outcome in ("success", "dry-run", "budget-hold")


@dataclass
class _Work:
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
class _Decided:
    decisions: Decisions
    enforcement: Enforcement
    plan: Plan
    adopted: list[LedgerEntry]  # ledger entries learned from the org's Tasks
    ledger_before: Mapping[str, LedgerEntry]  # the ledger as the cycle found it, by key
    outbox: OutboxChange | None = None  # notifications owed (syncd.notify)


@dataclass
class _Pushed:
    written: int = 0
    failures: list[FailedRecord] = field(default_factory=list)
    landed: list[RecordWrite] = field(default_factory=list)  # the plan's, not copies
    tasks: TaskOutcome = field(default_factory=TaskOutcome)
    interrupted: bool = False
    outbox: OutboxChange | None = None  # with the platform events' outcomes


@dataclass(frozen=True)
class _Run:
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
        notifier: Notifier | None = None,
    ):
        self.client = client
        self.store = store
        self.mapping = mapping
        self.policy = policy
        self.rules = EnforcementRules.from_policy(policy)
        self.clock = clock
        self.progress = progress or NoProgress()
        self.should_stop = should_stop
        self.options = options
        self.notifier = notifier
        # The org as the last committed cycle left it; kept between a daemon's cycles and
        # trusted only while the store says that cycle is still the last one.
        self._state: OrgState | None = None
        self._state_run: str | None = None

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

    def _begin(self, dry_run: bool, full: bool) -> _Run:
        state = self.store.cycle_state()
        resyncs = self.store.pending_resyncs()
        why_full = self._why_full(state, dry_run, full, resyncs)
        mode = "dry-run" if dry_run else "full" if why_full else "incremental"
        return _Run(
            run_id=str(uuid.uuid4()),
            now=self.clock(),
            started=time.monotonic(),
            state=state,
            mode=mode,
            why_full=why_full,
            resyncs=resyncs,
            tasks=None if dry_run else self._task_read(state),
            dry_run=dry_run,
        )

    def _why_full(
        self, state: CycleState, dry_run: bool, full: bool, resyncs: list[ResyncRequest]
    ) -> str | None:
        if dry_run:
            return "dry run"
        if full:
            return "requested"
        if any(r.scope == "full" for r in resyncs):
            return "whole-org resync queued"
        if any(name not in state.watermarks for name in watched_objects(self.mapping)):
            return "first cycle"
        if state.mapping_fingerprint != mapping_fingerprint(self.mapping):
            return "field mapping changed"
        if self._known_state(state).empty:
            return "no mirror of the org"
        return None

    def _task_read(self, state: CycleState) -> TaskRead:
        """All of syncd's Tasks when the store never saw them; else people's changes.

        After a run that may have written Tasks and died before committing, the
        integration user's own changes are read too, so those Tasks are adopted.
        """
        since = state.watermarks.get(self.mapping.task.sobject)
        if since is None:
            return TaskRead()
        uncommitted = next(
            (r.outcome not in COMMITTED for r in self.store.recent_runs(5)
             if r.outcome not in NOT_WRITING),
            False,
        )  # fmt: skip
        return TaskRead(since=since, exclude_user=None if uncommitted else self.client.user_id)

    def org_state(self) -> OrgState:
        """The org as the last committed cycle left it (kept in memory, else the mirror)."""
        return self._known_state(self.store.cycle_state())

    def _known_state(self, state: CycleState) -> OrgState:
        if self._state is None or self._state_run != state.state_run:
            self._state = OrgState.from_store(self.store, self.mapping)
            self._state_run = state.state_run
        return self._state

    # -- the cycle --------------------------------------------------------------------------

    def _run(self, run: _Run, calls_before: Mapping[str, int]) -> CycleReport:
        org_id = self._org_id(run.state)
        work = self._read_all(run) if run.why_full else self._read_changes(run)
        decided = self._decide(run, work)
        pushed, outcome = _Pushed(), "dry-run"
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

    def _decide(self, run: _Run, work: _Work) -> _Decided:
        snapshot = work.state.snapshot
        decisions = evaluate(snapshot, self.policy, run.now, scope=work.scope)
        stored = self.store.ledger()
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
        decided = _Decided(decisions, enforcement, plan, adopted, {e.key: e for e in stored})
        if self.notifier is not None and not run.dry_run:
            decided.outbox = self.notifier.plan(self._facts(run, work, decided), run.now)
        return decided

    def _facts(self, run: _Run, work: _Work, decided: _Decided) -> NoticeFacts:
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

    # -- reading ----------------------------------------------------------------------------

    def _read_all(self, run: _Run) -> _Work:
        """Read the whole org; stage it for the mirror (a dry run leaves the store alone)."""
        if not run.dry_run:
            self.store.clear_mirror_stage()
        options = self._read_options(bulk=self._bulk_objects())
        sink = None if run.dry_run else self.store.stage_mirror
        pulled = read_org(
            self.client, self.mapping, self.progress, options=options, sink=sink, tasks=run.tasks
        )
        marks = dict(pulled.watermarks)
        for name in watched_objects(self.mapping):  # an empty object: changes from now on
            marks.setdefault(name, run.now)
        live = pulled.snapshot.opportunities
        gone = {
            e.opportunity_id: "deleted"
            for e in self.store.ledger(open_only=True)
            if e.opportunity_id not in live
        }
        staged = (*watched_objects(self.mapping), PARTNER_ROWS)
        return _Work(
            state=OrgState.from_read(pulled),
            read=pulled.read,
            watermarks=marks,
            scope=None,
            gone=gone,
            tasks=pulled.tasks,
            mirror=MirrorChange(promote=staged),
            before=self._state if self._state_run == run.state.state_run else None,
        )

    def _read_changes(self, run: _Run) -> _Work:
        before = self._known_state(run.state)
        self.store.clear_mirror_stage()
        applier = before.applier(self.mapping, stage=self.store.stage_mirror)
        changes = read_changes(
            self.client,
            self.mapping,
            run.state.watermarks,
            applier.page,
            self._read_options(),
            tasks=run.tasks,
        )
        applied = applier.finish(changes.partners)
        after = applied.state
        scope = self._scope(run, before, after, applied.changes, applied.replan)
        if applied.changes.total or applied.replan:
            log.info(
                "cycle.changes",
                users=len(applied.changes.users),
                accounts=len(applied.changes.accounts),
                opportunities=len(applied.changes.opportunities),
                replan=len(applied.replan),
                scope=scope.total,
            )
        return _Work(
            state=after,
            read=changes.read,
            watermarks=changes.watermarks,
            scope=scope,
            gone=applied.deleted_deals,
            tasks=changes.tasks,
            changed=applied.changes.total,
            mirror=MirrorChange(
                merge_stage=True, upserts=applied.mirror_upserts, deletes=applied.mirror_deletes
            ),
            before=before,
            observed=applied.changes.accounts | applied.changes.opportunities | applied.replan,
        )

    def _scope(
        self, run: _Run, before: OrgState, after: OrgState, changes: Changes, replan: frozenset[str]
    ) -> Scope:
        """What to decide: what the changes reach, or everything when the rules moved on."""
        snapshot = after.snapshot
        everything_because = self._re_evaluate_all(run)
        if everything_because:
            log.info("cycle.re_evaluate_all", why=everything_because)
            return everything(snapshot)
        named = set(self.policy.named_account_ids) ^ set(run.state.named_accounts)
        asked = {r.record_id for r in run.resyncs if r.record_id}
        retry = set(run.state.retry_ids)
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

    def _re_evaluate_all(self, run: _Run) -> str | None:
        if run.state.rules_fingerprint != rules_fingerprint(self.policy):
            return "the rules changed"
        if run.state.evaluated_on != run.now.date():
            return "a new day (registrations expire, enforcement dates pass)"
        return None

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
        return frozenset(
            name for name in watched_objects(self.mapping) if known.get(name, 0) > threshold
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

    def _push(self, decided: _Decided, now: datetime) -> _Pushed:
        """Write the plan, then open and close the violation Tasks."""
        plan = decided.plan
        writes = [*plan.accounts, *plan.opportunities]
        jobs = [
            WriteJob(sobject, "update", [w.payload() for w in batch], [w.record_id for w in batch])
            for sobject, batch in (
                (self.mapping.account.sobject, plan.accounts),
                (self.mapping.opportunity.sobject, plan.opportunities),
            )
            if batch
        ]
        written = self._writer(plan.total).write(jobs)
        pushed = _Pushed(
            written=len(written.landed),
            failures=list(written.failures),
            landed=[w for w in writes if w.record_id in written.landed],
            interrupted=written.interrupted,
        )
        if pushed.interrupted:
            return pushed
        tasks = push_tasks(self._writer(0), decided.enforcement, self.mapping, now)
        pushed.tasks = tasks
        pushed.failures.extend(tasks.failures)
        pushed.interrupted = tasks.interrupted
        log.info("enforcement.done", opened=tasks.opened, closed=tasks.closed)
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
        self, run: _Run, outcome: str, work: _Work, pushed: _Pushed, calls: Mapping[str, int]
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
        run: _Run,
        finish: RunFinish,
        work: _Work,
        decided: _Decided,
        pushed: _Pushed,
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
        landed = [(w, _after(work.state.current, w)) for w in pushed.landed]
        mirror = _with_written(work.mirror, landed)
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
        self._state, self._state_run = work.state, run.run_id

    def _history(
        self,
        run: _Run,
        work: _Work,
        decided: _Decided,
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
        self, run: _Run, calls_before: Mapping[str, int], exc: BaseException, outcome: str
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
        run: _Run,
        finish: RunFinish,
        work: _Work,
        decided: _Decided,
        pushed: _Pushed,
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


def _owed(decided: _Decided, pushed: _Pushed) -> OutboxChange | None:
    """The notifications to commit: as planned, with the platform events' outcomes."""
    return pushed.outbox if pushed.outbox is not None else decided.outbox


def _outcome(pushed: _Pushed) -> str:
    if pushed.interrupted:
        return "interrupted"
    return "partial" if pushed.failures else "success"


def _evaluated(decisions: Decisions) -> int:
    return len(decisions.accounts) + len(decisions.opportunities)


def _after(current: Mapping[str, Mapping[str, Any]], write: RecordWrite) -> dict[str, Any]:
    """All of syncd's field values on a record once ``write`` landed."""
    return {**current.get(write.record_id, {}), **write.values}


def _with_written(
    change: MirrorChange, landed: Iterable[tuple[RecordWrite, dict[str, Any]]]
) -> MirrorChange:
    written: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for write, values in landed:
        written.setdefault(write.sobject, []).append((write.record_id, values))
    return MirrorChange(
        promote=change.promote,
        merge_stage=change.merge_stage,
        upserts=change.upserts,
        deletes=change.deletes,
        written=written,
    )


def resync_clears(
    snapshot: Snapshot, mapping: FieldMapping, scope: Scope | None = None
) -> dict[str, dict[str, Any]]:
    """Untick RoE_Resync_Requested__c on the accounts this cycle re-evaluated."""
    field_name = mapping.account.read.resync_requested
    if not field_name:
        return {}
    accounts: Iterable[str] = snapshot.accounts if scope is None else scope.accounts
    return {
        key: {field_name: False}
        for key in accounts
        if key in snapshot.accounts and snapshot.accounts[key].resync_requested
    }


def exception_clears(
    decisions: Decisions, snapshot: Snapshot, mapping: FieldMapping
) -> dict[str, dict[str, Any]]:
    """Untick RoE_Exception_Requested__c where channel operations rejected the request."""
    field_name = mapping.opportunity.read.exception_requested
    if not field_name:
        return {}
    return {
        key: {field_name: False}
        for key, decision in decisions.opportunities.items()
        if "EXCEPTION_REJECTED" in decision.reasons
        and snapshot.opportunities[key].exception_requested
    }


def _delta(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
