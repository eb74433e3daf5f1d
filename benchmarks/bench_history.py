"""What the decision history costs: rows and store bytes per cycle, at 100k and 1M deals.

    .venv/bin/python benchmarks/bench_history.py --opportunities 100000
    .venv/bin/python benchmarks/bench_history.py --opportunities 1000000

The org lives in process (the snapshot of ``bench_engine.py``, every syncd field empty, as
a freshly installed package leaves it); the cycles are syncd's own engine, enforcement,
plan and history derivation (``syncd.sync.audit``), committed through ``Store.commit_cycle``
into a SQLite store (or ``--database-url``) — no HTTPS sandbox, no API calls: the history
costs none. Every planned write and Task is taken to land.

1. **first full cycle**: every record decided for the first time;
2. **a day of incremental cycles**: 288 cycles at 5-minute intervals, with ~1 % of the
   deals edited per hour (``--edit-rate``) by people, in a fixed mix: re-owned, partner
   put on or taken off, exception requested, exception decided, override set, syncd's
   status flag edited by hand (syncd restores it), and edits that touch no rule (stage);
   the nightly full reconcile at 02:00 re-decides everything and finds nothing new.

A deal edit re-decides the deals of its account, as the cascade does for deal changes
(built once here, since these edits never move a deal). Bytes are the history table and
its indexes as the database stores them (SQLite ``dbstat``, PostgreSQL
``pg_total_relation_size``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections import ChainMap, Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imported after the path tweak (E402), so the script runs from a checkout.
from bench_engine import build_snapshot, peak_rss_mb  # noqa: E402 - the sibling script

from syncd.engine.cascade import Scope  # noqa: E402
from syncd.engine.domain import Opportunity, Snapshot  # noqa: E402
from syncd.engine.enforcement import Enforcement, EnforcementRules, LedgerEntry, reconcile  # noqa: E402
from syncd.engine.evaluate import evaluate  # noqa: E402
from syncd.engine.history import Stamp  # noqa: E402
from syncd.engine.policy import Policy, load_policy  # noqa: E402
from syncd.store.commit import CycleCommit, RunFinish  # noqa: E402
from syncd.store.history import history_count  # noqa: E402
from syncd.store.store import Store  # noqa: E402
from syncd.sync.audit import (  # noqa: E402
    CycleFacts,
    LedgerMoves,
    NothingEarlier,
    StateEarlier,
    cycle_history,
)
from syncd.sync.mapping import FieldMapping, load_mapping, written_values  # noqa: E402
from syncd.sync.orgstate import OrgState  # noqa: E402
from syncd.sync.plan import (  # noqa: E402
    Plan,
    exception_clears,
    plan_writes,
)
from syncd.sync.reader import account_written_fields, opportunity_written_fields  # noqa: E402
from syncd.sync.tasks import resolved_without_write  # noqa: E402

DAY = datetime(2026, 12, 1, tzinfo=UTC)
CYCLES, EVERY = 288, timedelta(minutes=5)
EDITS = (("re-owned", 35), ("partner", 20), ("exception requested", 10),
         ("exception decided", 5), ("override", 5), ("status by hand", 10),
         ("no rule input", 15))  # fmt: skip


@dataclass
class Measured:
    rows: int
    bytes: int
    seconds: float  # deriving and committing the history (and the ledger) of the cycle
    kinds: Counter[str]


class Org:
    """The org and what syncd knows of it, moved on by people's edits and syncd's writes."""

    def __init__(self, snapshot: Snapshot, mapping: FieldMapping, seed: int) -> None:
        self.snapshot, self.mapping = snapshot, mapping
        self.rng = random.Random(seed)
        self.opps: dict[str, Opportunity] = dict(snapshot.opportunities)
        self.snapshot = Snapshot(snapshot.accounts, self.opps, snapshot.users)
        empty_a, empty_o = account_written_fields(mapping), opportunity_written_fields(mapping)
        self.current: dict[str, Mapping[str, Any]] = {
            **{k: written_values({}, empty_a) for k in snapshot.accounts},
            **{k: written_values({}, empty_o) for k in snapshot.opportunities},
        }
        self.deals_on: dict[str, list[str]] = defaultdict(list)
        for key, opp in self.opps.items():
            self.deals_on[opp.account_id or ""].append(key)
        self.ids = sorted(self.opps)
        self.users = sorted(snapshot.users)
        self.partners = sorted(a.id for a in snapshot.accounts.values() if a.is_partner)
        self.old_opps: dict[str, Opportunity] = {}
        self.old_current: dict[str, Mapping[str, Any]] = {}

    def state(self) -> OrgState:
        return OrgState(self.snapshot, self.current)

    def before(self) -> OrgState:
        """The org as the last cycle left it: this cycle's edits undone by an overlay."""
        opps = ChainMap(self.old_opps, self.opps)
        snapshot = Snapshot(self.snapshot.accounts, opps, self.snapshot.users)
        return OrgState(snapshot, ChainMap(self.old_current, self.current))  # type: ignore[arg-type]

    def edit(self, count: int, at: datetime) -> tuple[set[str], set[str]]:
        """People edit ``count`` deals; (deals whose rule inputs changed, flags edited)."""
        self.old_opps, self.old_current = {}, {}
        changed, replan = set(), set()
        status = self.mapping.opportunity.write.status
        for key in self.rng.sample(self.ids, count):
            kind = self.rng.choices([k for k, _ in EDITS], [w for _, w in EDITS])[0]
            opp = self.opps[key]
            who = self.rng.choice(self.users)
            stamp = {"last_modified_by": who, "last_modified_at": at - timedelta(minutes=1)}
            if kind == "status by hand":
                self.old_current[key] = self.current[key]
                self.current[key] = {**self.current[key], status: "Compliant"}
                self.old_opps[key], self.opps[key] = opp, replace(opp, **stamp)
                replan.add(key)
                continue
            self.old_opps[key] = opp
            self.opps[key] = replace(opp, **self._edited(kind, opp), **stamp)
            changed.add(key)
        return changed, replan

    def _edited(self, kind: str, opp: Opportunity) -> dict[str, Any]:
        rng = self.rng
        if kind == "re-owned":
            return {"owner_id": rng.choice(self.users)}
        if kind == "partner":
            return {"partner_id": None if opp.partner_id else rng.choice(self.partners)}
        if kind == "exception requested":
            return {"exception_requested": True, "exception_reason": "customer asked"}
        if kind == "exception decided":
            decision = rng.choice(("Approved", "Rejected"))
            return {"exception_requested": True, "exception_decision": decision,
                    "exception_decision_reason": "checked with the partner"}  # fmt: skip
        if kind == "override":
            return {"override_lead": rng.choice(("Direct", "Partner")),
                    "override_reason": "channel chief's call"}  # fmt: skip
        return {"stage_name": "Negotiation"}

    def scope(self, changed: set[str], replan: set[str]) -> Scope:
        deals = set(replan)
        for key in changed:
            deals.update(self.deals_on[self.opps[key].account_id or ""])
        return Scope(frozenset(), frozenset(deals))

    def written(self, plan: Plan) -> None:
        for write in (*plan.accounts, *plan.opportunities):
            self.current[write.record_id] = {**self.current[write.record_id], **write.values}


class Ledger:
    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}

    def landed(self, enforcement: Enforcement, now: datetime) -> list[LedgerEntry]:
        """The entries a cycle saves once every Task it opens or closes has landed."""
        saved = list(enforcement.seen) + resolved_without_write(enforcement.closed)
        saved += [replace(e, task_id=e.task_id or f"00T{abs(hash(e.key)) % 10**15:015d}",
                          task_opened_at=e.task_opened_at or now)
                  for e in enforcement.opened]  # fmt: skip
        saved += [replace(c.entry, task_closed=True, resolution=c.note)
                  for c in enforcement.closed if c.writes_task]  # fmt: skip
        return saved


def one_cycle(
    store: Store, org: Org, ledger: Ledger, policy: Policy, rules: EnforcementRules,
    now: datetime, scope: Scope | None, earlier: Any, observed: set[str], sized: bool = True,
) -> Measured:  # fmt: skip
    decisions = evaluate(org.snapshot, policy, now, scope=scope)
    history = list(ledger.entries.values())
    enforcement = reconcile(history, decisions, org.snapshot, rules, now,
                            scope=None if scope is None else scope.opportunities)  # fmt: skip
    plan = plan_writes(
        decisions, org.current, org.mapping, holds=enforcement.holds,
        opportunity_extras=exception_clears(decisions, org.snapshot, org.mapping),
    )  # fmt: skip
    saved = ledger.landed(enforcement, now)
    run_id = str(uuid.uuid4())
    facts = CycleFacts(
        stamp=Stamp(run_id, now, decisions.policy_version),
        decisions=decisions,
        after=org.state(),
        earlier=earlier,
        observed=observed,
        ledger=LedgerMoves(dict(ledger.entries), saved, frozenset()),
    )
    kinds: Counter[str] = Counter()

    def counted() -> Any:
        for event in cycle_history(facts, org.mapping, [*plan.accounts, *plan.opportunities]):
            kinds[event.kind.value] += 1
            yield event

    rows, size = history_count(store), history_bytes(store) if sized else 0
    started = time.perf_counter()
    store.start_run(run_id, "bench", now, policy.version)
    store.commit_cycle(CycleCommit(run=RunFinish(run_id, "success", now), ledger=saved,
                                   history=counted()))  # fmt: skip
    seconds = time.perf_counter() - started
    org.written(plan)
    ledger.entries.update({e.key: e for e in saved})
    grown = history_bytes(store) - size if sized else 0
    return Measured(history_count(store) - rows, grown, seconds, kinds)


def history_bytes(store: Store) -> int:
    with store.begin() as conn:
        if store.dialect == "postgresql":
            return int(conn.execute(text("SELECT pg_total_relation_size('history')")).scalar_one())
        query = text("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'history' "
                     "OR name LIKE 'ix_history_%'")  # fmt: skip
        return int(conn.execute(query).scalar_one())


def run_day(store: Store, org: Org, ledger: Ledger, policy: Policy, rules: EnforcementRules,
            rate: float) -> tuple[Measured, Measured]:  # fmt: skip
    """(the 287 incremental cycles together, the nightly full reconcile)."""
    per_cycle = max(1, round(len(org.ids) * rate / 12))
    day = Measured(0, 0, 0.0, Counter())
    nightly = Measured(0, 0, 0.0, Counter())
    size = history_bytes(store)
    for i in range(1, CYCLES + 1):
        now = DAY + i * EVERY - timedelta(seconds=30)
        if i == 24:  # 02:00: the nightly full reconcile (nothing changed since 01:55)
            nightly = one_cycle(store, org, ledger, policy, rules, now, None,
                                StateEarlier(org.state()), set())  # fmt: skip
            continue
        changed, replan = org.edit(per_cycle, now)
        scope = org.scope(changed, replan)
        measured = one_cycle(store, org, ledger, policy, rules, now, scope,
                             StateEarlier(org.before()), changed | replan, sized=False)  # fmt: skip
        day.rows += measured.rows
        day.seconds += measured.seconds
        day.kinds.update(measured.kinds)
    day.bytes = history_bytes(store) - size - nightly.bytes
    return day, nightly


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, help="default: a fifth of the deals")
    parser.add_argument("--edit-rate", type=float, default=0.01, help="deals edited per hour")
    parser.add_argument("--database-url", help="default: a SQLite file in a temp directory")
    args = parser.parse_args(argv)
    policy = load_policy(ROOT / "config" / "rules.yaml")
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    rules = EnforcementRules.from_policy(policy)
    n = args.opportunities
    org = Org(build_snapshot(n, args.accounts or n // 5), mapping, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.database_url or f"sqlite:///{tmp}/syncd.db")
        ledger = Ledger()
        first = one_cycle(store, org, ledger, policy, rules, DAY, None, NothingEarlier(), set())
        day, nightly = run_day(store, org, ledger, policy, rules, args.edit_rate)
        dialect = store.dialect
        store.close()
    report(n, dialect, first, day, nightly, round(n * args.edit_rate / 12))
    return 0


def report(n: int, dialect: str, first: Measured, day: Measured, nightly: Measured,
           per_cycle: int) -> None:  # fmt: skip
    print(f"{n:,} deals, {dialect}; peak RSS {peak_rss_mb():,.0f} MB")
    print(f"first full cycle: {dict(first.kinds.most_common())}")
    print(f"a day ({CYCLES - 1} incremental cycles, {per_cycle} deals edited each): "
          f"{dict(day.kinds.most_common())}")  # fmt: skip
    print("| deals | cycle | history rows | store growth | bytes/row | commit time |")
    for label, m in (("first full cycle", first),
                     (f"a day: {CYCLES - 1} incremental, 1 %/h edited", day),
                     ("nightly full reconcile, nothing new", nightly)):  # fmt: skip
        per_row = f"{m.bytes / m.rows:,.0f}" if m.rows else "–"
        print(f"| {n:,} | {label} | {m.rows:,} | {m.bytes / 1e6:,.1f} MB | {per_row} | "
              f"{m.seconds:,.1f} s |")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
