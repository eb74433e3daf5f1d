"""How a cycle reads: which kind of cycle it is, the org read whole or by its changes.

``Reading`` keeps the org as the last committed cycle left it between a daemon's cycles,
trusted only while the store says that cycle is still the last one. A fresh process
whose cycle is incremental loads from the store's mirror just what the cycle needs
(``syncd.sync.partial``: the records read, what they cascade to, what deciding that
reads); one that decides everything (a new day, new rules) rebuilds the whole org. A
full read streams the org into the mirror's staging; a change read moves the known org
on and works out what the changes cascade to, and the records deciding that reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from syncd.engine.cascade import Changes, Scope, everything, reach, within
from syncd.engine.enforcement import EnforcementRules, LedgerEntry, ledger_needs, parse_key
from syncd.engine.inputs import ACCOUNT, OPPORTUNITY
from syncd.engine.policy import Policy
from syncd.salesforce import OrgClient
from syncd.store.commit import MirrorChange
from syncd.store.state import CycleState
from syncd.store.store import ResyncRequest, Store
from syncd.sync import children
from syncd.sync.fingerprint import mapping_fingerprint, rules_fingerprint
from syncd.sync.mapping import FieldMapping
from syncd.sync.options import CycleOptions
from syncd.sync.orgstate import Applied, OrgState
from syncd.sync.partial import MirrorLoader, all_links, known_links, link_change, neighbourhood
from syncd.sync.reader import (
    ProgressSink,
    ReadOptions,
    TaskRead,
    read_changes,
    read_org,
    watched_objects,
)
from syncd.sync.tasks import org_tasks
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
    # Puts ``_state`` back as the last commit left it: a change read edits it in place.
    _undo: Callable[[], None] | None = field(default=None, init=False, repr=False)

    def read(self, run: CycleRun) -> Work:
        if self._undo is not None:  # the last cycle read changes but did not commit
            self._undo()
            self._undo = None
        return self._read_all(run) if run.why_full else self._read_changes(run)

    def remember(self, state: OrgState, run_id: str) -> None:
        """The org as a committed cycle left it (its writes recorded in it); a partial
        state is not kept (the next cycle loads what it needs)."""
        self._undo = None
        whole = state.loader is None
        self._state, self._state_run = (state, run_id) if whole else (None, None)

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
        if not self._mirrored(state):
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

    def _mirrored(self, state: CycleState) -> bool:
        if self._state is not None and self._state_run == state.state_run:
            return not self._state.empty
        sobjects = (self.mapping.account.sobject, self.mapping.opportunity.sobject)
        return self.store.mirror_holds(sobjects)

    def _starting_state(self, run: CycleRun) -> OrgState:
        """The org as the last commit left it: in memory; else the whole mirror when every
        record is decided again (or the store's links are not complete yet); else just
        what this cycle asks for, loaded from the mirror as it asks."""
        if self._state is not None and self._state_run == run.state.state_run:
            return self._state
        if self._re_evaluate_all(run) or not run.state.links_complete:
            log.info("cycle.org_state", loaded="the whole mirror")
            return self._known_state(run.state)
        log.info("cycle.org_state", loaded="as needed")
        return MirrorLoader(self.store, self.mapping).state

    # -- the cycle --------------------------------------------------------------------------

    def _read_all(self, run: CycleRun) -> Work:
        """Read the whole org; stage it for the mirror (a dry run leaves the store alone)."""
        if not run.dry_run:
            self.store.clear_mirror_stage()
        options = self._read_options(*self._sized_objects())
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
            mirror=MirrorChange(promote=staged, links=all_links(pulled.snapshot)),
            before=self._state if self._state_run == run.state.state_run else None,
        )

    def _read_changes(self, run: CycleRun) -> Work:
        before = self._starting_state(run)
        self.store.clear_mirror_stage()
        applier = before.applier(self.mapping, stage=self.store.stage_mirror)
        if before is self._state:
            self._undo = applier.undo
        changes = read_changes(
            self.client,
            self.mapping,
            run.state.watermarks,
            applier.page,
            self._read_options(),
            tasks=run.tasks,
        )
        applied = applier.finish(changes.related)
        scope = self._scope(run, applied, changes.tasks)
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
            state=applied.state,
            read=changes.read,
            watermarks=changes.watermarks,
            scope=scope,
            gone=applied.deleted_deals,
            tasks=changes.tasks,
            changed=applied.changes.total,
            mirror=MirrorChange(
                merge_stage=True,
                upserts=applied.mirror_upserts,
                deletes=applied.mirror_deletes,
                links=link_change(applied, stored=run.state.links_complete),
            ),
            before=applied.before,
            observed=applied.changes.accounts | applied.changes.opportunities | applied.replan,
        )

    def _scope(self, run: CycleRun, applied: Applied, tasks: list[dict[str, Any]]) -> Scope:
        """What to decide: what the changes reach, or everything when the rules moved on;
        with the records deciding it reads (a partial state loads them)."""
        after = applied.state
        everything_because = self._re_evaluate_all(run)
        if everything_because:
            log.info("cycle.re_evaluate_all", why=everything_because)
            return everything(after.snapshot)
        links = known_links(applied, self.store)
        named = set(self.policy.named_account_ids) ^ set(run.state.named_accounts)
        asked = {r.record_id for r in run.resyncs if r.record_id}
        retry = set(run.state.retry_ids)
        _load(after, ACCOUNT, named | asked | retry)
        _load(after, OPPORTUNITY, asked | retry | _task_deals(tasks, self.mapping))
        snapshot = after.snapshot
        wider = Changes(
            users=applied.changes.users,
            accounts=applied.changes.accounts
            | {i for i in named | asked if i in snapshot.accounts},
            opportunities=applied.changes.opportunities
            | {i for i in asked | retry if i in snapshot.opportunities},
        )
        reached = reach(applied.before.snapshot, snapshot, wider, links)
        for kind, ids in reached.items():
            ids |= applied.replan | retry
            _load(after, kind, ids)
        scope = within(snapshot, reached)
        roots = {ACCOUNT: scope.accounts, OPPORTUNITY: scope.opportunities}
        return replace(scope, reads=neighbourhood(after, roots, links))

    def ledger(self, run: CycleRun, work: Work, rules: EnforcementRules) -> list[LedgerEntry]:
        """The ledger entries this cycle's enforcement reads: of the deals it decides (or
        lost), their reps' recent ones and the Tasks it read; all when it decides all."""
        scope = work.scope
        if scope is None or scope.reads is None:
            return self.store.ledger()
        deals = scope.opportunities | work.gone.keys()
        needs = ledger_needs(deals, work.state.snapshot, rules, run.now)
        keys = [t.key for t in org_tasks(work.tasks, self.mapping)]
        return self.store.ledger_about(needs, keys)

    def _re_evaluate_all(self, run: CycleRun) -> str | None:
        if run.state.rules_fingerprint != rules_fingerprint(self.policy):
            return "the rules changed"
        if run.state.evaluated_on != run.now.date():
            return "a new day (registrations expire, enforcement dates pass)"
        return None

    def _read_options(
        self, bulk: frozenset[str] = frozenset(), small: frozenset[str] = frozenset()
    ) -> ReadOptions:
        return ReadOptions(
            bulk_objects=bulk,
            small_objects=small,
            bulk_threshold=self.options.bulk_threshold,
            overlap=self.options.overlap,
        )

    def _sized_objects(self) -> tuple[frozenset[str], frozenset[str]]:
        """Objects the last cycle counted above the bulk threshold (their full read goes
        through Bulk API 2.0), and those it counted at or below it (REST, no describe).

        Sized by the mirror; an object of unknown size starts over REST and switches
        when the first page's totalSize says it is big.
        """
        threshold = self.options.bulk_threshold
        known = self.store.mirror_counts()
        sized = {n: known[n] for n in watched_objects(self.mapping) if n in known}
        big = frozenset(n for n, count in sized.items() if count > threshold)
        return big, frozenset(sized) - big


def _load(state: OrgState, kind: str, ids: Iterable[str]) -> None:
    """Make sure a partial state holds these records (those the mirror has)."""
    if state.loader is not None:
        state.loader.ensure(kind, ids)


def _task_deals(tasks: list[dict[str, Any]], mapping: FieldMapping) -> set[str]:
    """The deals of the violation Tasks read (adopting a Task reads its deal)."""
    keys = (parse_key(t.key) for t in org_tasks(tasks, mapping))
    return {parsed[0] for parsed in keys if parsed is not None}
