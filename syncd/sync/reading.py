"""How a cycle reads: which kind of cycle it is, the org read whole or by its changes.

``Reading`` keeps the org as the last committed cycle left it between a daemon's cycles,
trusted only while the store says that cycle is still the last one; a fresh process
rebuilds it from the store's mirror. A full read streams the org into the mirror's
staging; a change read moves the known org on and works out what the changes cascade to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from syncd.engine.cascade import Changes, Scope, affected, everything
from syncd.engine.policy import Policy
from syncd.salesforce import OrgClient
from syncd.store.commit import MirrorChange
from syncd.store.state import CycleState
from syncd.store.store import ResyncRequest, Store
from syncd.sync import children
from syncd.sync.fingerprint import mapping_fingerprint, rules_fingerprint
from syncd.sync.mapping import FieldMapping
from syncd.sync.options import CycleOptions
from syncd.sync.orgstate import OrgState
from syncd.sync.reader import (
    ProgressSink,
    ReadOptions,
    TaskRead,
    read_changes,
    read_org,
    watched_objects,
)
from syncd.sync.work import COMMITTED, NOT_WRITING, CycleRun, Work

log = structlog.get_logger("syncd.cycle")


@dataclass
class Reading:
    client: OrgClient
    store: Store
    mapping: FieldMapping
    policy: Policy
    options: CycleOptions
    progress: ProgressSink
    _state: OrgState | None = field(default=None, init=False, repr=False)
    _state_run: str | None = field(default=None, init=False, repr=False)

    def read(self, run: CycleRun) -> Work:
        return self._read_all(run) if run.why_full else self._read_changes(run)

    def remember(self, state: OrgState, run_id: str) -> None:
        """The org as a committed cycle left it (its writes recorded in it)."""
        self._state, self._state_run = state, run_id

    def why_full(
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

    def task_read(self, state: CycleState) -> TaskRead:
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

    def _read_all(self, run: CycleRun) -> Work:
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
        staged = (*watched_objects(self.mapping), *children.keys(self.mapping))
        return Work(
            state=OrgState.from_read(pulled),
            read=pulled.read,
            watermarks=marks,
            scope=None,
            gone=gone,
            tasks=pulled.tasks,
            mirror=MirrorChange(promote=staged),
            before=self._state if self._state_run == run.state.state_run else None,
        )

    def _read_changes(self, run: CycleRun) -> Work:
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
        applied = applier.finish(changes.related)
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
        return Work(
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
        self,
        run: CycleRun,
        before: OrgState,
        after: OrgState,
        changes: Changes,
        replan: frozenset[str],
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

    def _re_evaluate_all(self, run: CycleRun) -> str | None:
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
