"""A plain Bulk-2.0 script (simple-salesforce's ``bulk2``) against syncd's ``write_records``,
for the same writes a full syncd cycle makes: exact API calls and wall time.

    .venv/bin/python benchmarks/bench_bulk2_script.py --opportunities 10000 --latency 0.05
    .venv/bin/python benchmarks/bench_bulk2_script.py --opportunities 100000 --latency 0.05

The sandbox org runs in a child process (as in ``bench_cycle.py``: a synthetic org over
HTTPS on 127.0.0.1, a fixed delay on every call). The script an admin would write: read
Users, Accounts and Opportunities with ``query_all``, make syncd's decisions (the same
``evaluate`` / ``reconcile`` / ``plan_writes``), then ``sf.bulk2.Account.update``,
``sf.bulk2.Opportunity.update`` and ``sf.bulk2.Task.upsert`` (by ``RoE_Key__c``) with the
library's defaults (it sleeps ``wait`` = 5 s before the first status call), and one
``get_failed_records`` per job to learn what was refused. Then, on a fresh copy of the same
org, the same writes through ``syncd.salesforce.writes.write_records`` (one Bulk job per
object at these sizes, every record's result read back).

Reads are reported apart: syncd's full cycle reads through its own path (bench_cycle.py);
here they only produce the writes. Note what the plain script gets wrong on other data:
``bulk2`` writes ``None`` as an empty cell, which leaves a field unchanged instead of
clearing it (Bulk 2.0 wants ``#N/A``), so decisions that clear a field are lost.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imported after the path tweak (E402), so the script runs from a checkout.
from bench_cycle import RemoteOrg, connect  # noqa: E402 - the sibling script

from syncd.engine.domain import Snapshot  # noqa: E402
from syncd.engine.enforcement import Enforcement, EnforcementRules, TaskSpec, reconcile  # noqa: E402
from syncd.engine.evaluate import evaluate  # noqa: E402
from syncd.engine.policy import Policy, load_policy  # noqa: E402
from syncd.logs import configure_logging  # noqa: E402
from syncd.salesforce import OrgClient  # noqa: E402
from syncd.salesforce.writes import call_bound, choose, lowest_bound, write_records  # noqa: E402
from syncd.settings import load_settings  # noqa: E402
from syncd.sync.mapping import (  # noqa: E402
    FieldMapping,
    load_mapping,
    task_values,
    to_account,
    to_opportunity,
    to_user,
    written_values,
)
from syncd.sync.plan import (  # noqa: E402
    Plan,
    plan_writes,
    resync_clears,
)
from syncd.sync.reader import account_written_fields, opportunity_written_fields  # noqa: E402


@dataclass
class Writes:
    """The writes of a full cycle, as payloads per (object, operation)."""

    accounts: list[dict[str, Any]]
    opportunities: list[dict[str, Any]]
    tasks: list[dict[str, Any]]

    @property
    def records(self) -> int:
        return len(self.accounts) + len(self.opportunities)

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.accounts), len(self.opportunities), len(self.tasks)

    def bound(self) -> int:
        """The bound of the APIs write_records picks (``writes.call_bound`` per object)."""
        return sum(call_bound(n, choose(n)) for n in self.sizes)

    def lowest(self) -> int:
        """The fewest calls any API choice could make (``writes.lowest_bound`` per object)."""
        return sum(lowest_bound(n) for n in self.sizes)


@dataclass
class Row:
    run: str
    written: int
    tasks: int
    calls: int
    bound: int | None
    wall: float
    refused: int | None = None


def read_and_decide(sf: Any, mapping: FieldMapping, policy: Policy) -> tuple[int, Writes]:
    """What the plain script reads and decides (bench_cycle's per-record loop, same code)."""

    def query_all(sobject: str, fields: list[str]) -> list[dict]:
        names = ", ".join(dict.fromkeys([*fields, "Id"]))
        return sf.query_all(f"SELECT {names} FROM {sobject}")["records"]

    users = query_all(mapping.user.sobject, mapping.user_fields())
    accounts = query_all(mapping.account.sobject, mapping.account_fields())
    opps = query_all(mapping.opportunity.sobject, mapping.opportunity_fields())
    current = {r["Id"]: written_values(r, account_written_fields(mapping)) for r in accounts}
    current.update({r["Id"]: written_values(r, opportunity_written_fields(mapping)) for r in opps})
    snapshot = Snapshot(
        accounts={a.id: a for a in (to_account(r, mapping) for r in accounts)},
        opportunities={o.id: o for o in (to_opportunity(r, mapping) for r in opps)},
        users={u.id: u for u in (to_user(r, mapping) for r in users)},
    )
    now = datetime.now(UTC)
    decisions = evaluate(snapshot, policy, now)
    enforcement = reconcile([], decisions, snapshot, EnforcementRules.from_policy(policy), now)
    plan = plan_writes(
        decisions,
        current,
        mapping,
        holds=enforcement.holds,
        account_extras=resync_clears(snapshot, mapping),
    )
    return len(users) + len(accounts) + len(opps), _writes(plan, enforcement, mapping)


def _writes(plan: Plan, enforcement: Enforcement, mapping: FieldMapping) -> Writes:
    return Writes(
        accounts=[w.payload() for w in plan.accounts],
        opportunities=[w.payload() for w in plan.opportunities],
        tasks=[task_values(TaskSpec.of(entry), mapping) for entry in enforcement.opened],
    )


def plain_bulk2(sf: Any, writes: Writes, key: str, wait: int) -> int:
    """The plain script's writes; returns how many records Salesforce refused."""
    jobs = []
    if writes.accounts:
        jobs += [
            ("Account", j) for j in sf.bulk2.Account.update(records=writes.accounts, wait=wait)
        ]
    if writes.opportunities:
        bulk = sf.bulk2.Opportunity
        jobs += [("Opportunity", j) for j in bulk.update(records=writes.opportunities, wait=wait)]
    if writes.tasks:
        bulk = sf.bulk2.Task
        jobs += [
            ("Task", j) for j in bulk.upsert(records=writes.tasks, external_id_field=key, wait=wait)
        ]
    refused = 0
    for sobject, job in jobs:
        failed = getattr(sf.bulk2, sobject).get_failed_records(job["job_id"])
        refused += max(len(failed.splitlines()) - 1, 0)
    return refused


def syncd_writes(client: OrgClient, writes: Writes, key: str) -> int:
    """The same writes through write_records; returns how many records were refused."""
    results = [
        *write_records(client, "Account", writes.accounts),
        *write_records(client, "Opportunity", writes.opportunities),
        *write_records(client, "Task", writes.tasks, operation="upsert", external_id=key),
    ]
    return sum(not r.success for r in results)


def measure(org: RemoteOrg, label: str, work: Any, writes: Writes, bound: int | None) -> Row:
    org.ask("reset")
    start = time.perf_counter()
    refused = work()
    wall = time.perf_counter() - start
    return Row(label, writes.records, len(writes.tasks), org.ask("calls"), bound, wall, refused)


def decide(org: RemoteOrg, mapping: FieldMapping, policy: Policy) -> tuple[int, Writes, Row]:
    """Read the org as the plain script does and plan the full cycle's writes."""
    sf = connect(org.settings)
    org.ask("reset")
    start = time.perf_counter()
    read, writes = read_and_decide(sf, mapping, policy)
    wall = time.perf_counter() - start
    row = Row("plain script: reads (REST query_all)", 0, 0, org.ask("calls"), None, wall)
    return read, writes, row


def table(rows: list[Row], n: int, latency: float, lowest: int) -> str:
    lines = [
        "| opportunities | latency | run | written | Tasks | API calls | bound of the API "
        "picked | lowest bound | refused | wall |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        bound = f"{r.bound:,}" if r.bound is not None else "—"
        low = f"{lowest:,}" if r.written else "—"
        refused = f"{r.refused:,}" if r.refused is not None else "—"
        lines.append(
            f"| {n:,} | {latency * 1000:.0f} ms | {r.run} | {r.written:,} | {r.tasks:,} "
            f"| {r.calls:,} | {bound} | {low} | {refused} | {r.wall:.1f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API call")
    parser.add_argument(
        "--wait", type=int, action="append", help="bulk2's wait before polling, s (repeatable)"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print only the table (benchmarks/publish.py)"
    )
    args = parser.parse_args()
    configure_logging("json", "warning", stream=sys.stderr)  # keep stdout for the table
    n, latency, today = args.opportunities, args.latency, datetime.now(UTC).date()
    waits = args.wait or [5]  # simple-salesforce's default
    with tempfile.TemporaryDirectory(prefix="bench-bulk2-") as tmp:
        tmp_dir = Path(tmp)
        settings = load_settings(state_dir=tmp_dir / "state")
        mapping, policy = load_mapping(settings.mapping_file), load_policy(settings.rules_file)
        key = mapping.task.key_field
        rows: list[Row] = []
        for index, wait in enumerate(waits):
            org = RemoteOrg(n, today, latency, tmp_dir / "tls")  # a fresh copy of the org
            try:
                read, writes, reads = decide(org, mapping, policy)
                rows += [reads] if index == 0 else []
                sf = connect(org.settings)
                label = f"plain Bulk-2.0 script: writes (bulk2, wait={wait})"
                work = partial(plain_bulk2, sf, writes, key, wait)
                rows.append(measure(org, label, work, writes, None))
            finally:
                org.close()
        org = RemoteOrg(n, today, latency, tmp_dir / "tls")
        try:
            client = OrgClient(org.settings)
            client.connect()
            work = partial(syncd_writes, client, writes, key)
            label = "syncd write_records (same writes)"
            rows.append(measure(org, label, work, writes, writes.bound()))
        finally:
            org.close()
    print(table(rows, n, latency, writes.lowest()))
    print(
        ("" if args.markdown else "\n")
        + f"read {read:,} records; writes: {len(writes.accounts):,} Accounts, "
        f"{len(writes.opportunities):,} Opportunities, {len(writes.tasks):,} Task upserts; "
        f"machine: Python {platform.python_version()}, {platform.machine()}",
        file=sys.stderr if args.markdown else sys.stdout,  # --markdown: the table alone
    )


if __name__ == "__main__":
    main()
