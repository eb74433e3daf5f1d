"""syncd cycles against the sandbox org: exact API calls, wall time, records/s, peak RSS.

    .venv/bin/python benchmarks/bench_cycle.py [--opportunities 10000 --latency 0.05]
    .venv/bin/python benchmarks/bench_cycle.py --opportunities 100000 --skip-loop
    .venv/bin/python benchmarks/bench_cycle.py --opportunities 1000000 --skip-loop

The sandbox org runs in a child process (so the peak RSS measured is syncd's alone; on
Linux each cycle's own peak: the high-water mark is reset before it, ``reset_peak_rss``),
serving a synthetic org over HTTPS on 127.0.0.1 with a fixed delay per call, a stand-in
for the round trip to a real org. syncd then runs, in one process as the daemon would:

1. a full first cycle (Bulk API 2.0 for objects above the threshold);
2. the echo: an incremental cycle reading back syncd's own writes;
3. incremental, 1 % changed: a share of the deals is edited in the org "by hand" (new
   owner, or partner taken off / put on);
4. idle: nothing changed.

Incremental cycles run with no overlap window so each row measures its own changes;
with the default 5 minutes, rows changed within 5 minutes before the previous check are
read once more (a page per 2,000). Then - on a fresh copy of the same org - the
per-record simple-salesforce loop an admin would write by hand makes the same decisions.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import requests
from pydantic import SecretStr
from simple_salesforce import Salesforce

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imported after the path tweak (E402), so the script runs from a checkout.
from bench_engine import own_peak_rss_mb, reset_peak_rss  # noqa: E402 - a sibling script

from syncd.engine.domain import Snapshot  # noqa: E402
from syncd.engine.enforcement import EnforcementRules, TaskSpec, reconcile  # noqa: E402
from syncd.engine.evaluate import evaluate  # noqa: E402
from syncd.engine.policy import Policy  # noqa: E402
from syncd.logs import configure_logging  # noqa: E402
from syncd.salesforce import SalesforceSettings  # noqa: E402
from syncd.salesforce.bounds import cycle_bound  # noqa: E402
from syncd.sandbox import SandboxOrg, serve_sandbox  # noqa: E402
from syncd.sandbox.dataset import synthetic_dataset  # noqa: E402
from syncd.sandbox.dataset_synthetic import Mix  # noqa: E402
from syncd.service.runtime import open_runtime  # noqa: E402
from syncd.settings import load_settings  # noqa: E402
from syncd.sync.cycle import Cycle, CycleOptions, CycleReport  # noqa: E402
from syncd.sync.mapping import (  # noqa: E402
    FieldMapping,
    task_values,
    to_account,
    to_opportunity,
    to_user,
    written_values,
)
from syncd.sync.plan import plan_writes, resync_clears  # noqa: E402
from syncd.sync.reader import account_written_fields, opportunity_written_fields  # noqa: E402

SEED = 11
K = TypeVar("K")
API_VERSION = "62.0"
DEALS_PER_REP = 400  # users grow with the org: 250 field reps at 100k deals


@dataclass
class Row:
    run: str
    read: int
    written: int
    tasks: int
    calls: int
    bound: int | None
    wall: float
    rss_mb: float | None = None
    critical: int | None = None  # calls on the critical path (see critical_path)
    cpu: float | None = None  # syncd's own CPU seconds (the machine may be shared)


def ceil_div(n: int, d: int) -> int:
    return -(-n // d)


# -- the sandbox org, in its own process ---------------------------------------------------


def _serve(n: int, today: date, latency: float, cert_dir: Path, pipe: Connection) -> None:
    """Child process: build and serve the org; answer the parent's commands."""
    configure_logging("json", "warning", stream=sys.stderr)
    org = SandboxOrg()
    mix = Mix(field_reps=max(22, n // DEALS_PER_REP))
    org.load(synthetic_dataset(n, seed=SEED, today=today, mix=mix))
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        server.faults.latency(latency)
        settings = server.salesforce_settings().model_dump()
        pipe.send({k: _reveal(v) for k, v in settings.items()})
        while True:
            command, arg = pipe.recv()
            if command == "stop":
                return
            if command == "reset":
                server.reset_calls()
                pipe.send(None)
            elif command == "calls":
                pipe.send(server.api_calls())
            elif command == "kinds":  # metered calls by kind (logins left out)
                calls = server.calls
                pipe.send({k: v for k, v in calls.items() if k not in ("token", "versions")})
            elif command == "edit":
                pipe.send(_edit(org, arg))


def _reveal(value: Any) -> Any:
    # The parent needs the sandbox's generated secret itself, not its masked form.
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _edit(org: SandboxOrg, share: float) -> int:
    """Edit a share of the deals as reps do in the UI: half are handed to another seller,
    half have their partner taken off (or one put on) — the edits that move decisions."""
    rng = random.Random(SEED)
    sellers = [u["Id"] for u in org.records("User") if u.get("RoE_Sales_Role__c")]
    partners = [a["Id"] for a in org.records("Account") if a.get("IsPartner")]
    deals = org.records("Opportunity")
    chosen = rng.sample(deals, max(1, int(len(deals) * share)))
    for index, deal in enumerate(chosen):
        if index % 2:
            org.update("Opportunity", deal["Id"], {"OwnerId": rng.choice(sellers)})
        else:
            partner = None if deal.get("RoE_Partner__c") else rng.choice(partners)
            org.update("Opportunity", deal["Id"], {"RoE_Partner__c": partner})
    return len(chosen)


class RemoteOrg:
    def __init__(self, n: int, today: date, latency: float, cert_dir: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(n, today, latency, cert_dir, child), daemon=True
        )
        self.process.start()
        self.settings = SalesforceSettings.model_validate(self.pipe.recv())

    def ask(self, command: str, arg: Any = None) -> Any:
        self.pipe.send((command, arg))
        return self.pipe.recv()

    def close(self) -> None:
        self.pipe.send(("stop", None))
        self.process.join(timeout=60)


# -- syncd ---------------------------------------------------------------------------------


def true_bound(
    report: CycleReport,
    mapping: FieldMapping,
    bulk_bytes: dict[str, int],
    upload_bytes: dict[tuple[str, str], int],
) -> int:
    """The fewest calls the cycle's reads and writes could cost (``syncd.salesforce.bounds``:
    the API that is cheapest for each object's rows and each set of writes; a set written
    through Bulk ingest needs a job per 112.5 MB of its CSV)."""
    sets = [
        (len(report.plan.accounts), (mapping.account.sobject, "update")),
        (len(report.plan.opportunities), (mapping.opportunity.sobject, "update")),
        (report.tasks_opened, (mapping.task.sobject, "upsert")),
        (report.tasks_closed, (mapping.task.sobject, "update")),
    ]
    sizes = [upload_bytes.get(key, 0) for _, key in sets]
    return cycle_bound(report.read, [n for n, _ in sets], bulk_bytes, sizes)


READ_KINDS = ("query", "query_more", "describe", "bulk_job", "bulk_status", "bulk_results")


def critical_path(calls: dict[str, int], concurrency: int) -> int:
    """Calls on the critical path: reads one after another (the composite with the first
    pages, then each object's later pages or Bulk job), then writes ``concurrency`` at a
    time, a Bulk ingest job's calls one after another."""
    reads = 1 + sum(calls.get(kind, 0) for kind in READ_KINDS)
    writes = sum(calls.values()) - reads
    jobs = calls.get("bulk_ingest_job", 0)
    job_calls = sum(v for k, v in calls.items() if k.startswith("bulk_ingest"))
    longest = ceil_div(job_calls, jobs) if jobs else min(writes, 1)
    return reads + max(longest, ceil_div(writes, concurrency))


def _delta(after: dict[K, int], before: dict[K, int]) -> dict[K, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def syncd_cycles(
    org: RemoteOrg, state_dir: Path, share: float
) -> tuple[list[Row], FieldMapping, Policy]:
    # The sandbox, on a shared 2-core machine, can take longer than 30 s to answer a query
    # over 1,000,000 rows (a real org answers in its own time; here it is the benchmark's).
    salesforce = org.settings.model_copy(update={"timeout_seconds": 600.0})
    runtime = open_runtime(load_settings(salesforce=salesforce, state_dir=state_dir))
    options = CycleOptions(overlap=timedelta(0))
    try:
        cycle = Cycle(
            runtime.client, runtime.store, runtime.mapping, runtime.policy, options=options
        )
        rows = []
        steps = (
            ("syncd full cycle", None),
            ("syncd incremental: the echo of its writes", None),
            (f"syncd incremental: {share:.0%} of deals edited", share),
            ("syncd incremental: nothing changed", None),
        )
        for run, edit in steps:
            time.sleep(2)  # the org's clock (Date header) has whole seconds
            if edit is not None:
                changed = org.ask("edit", edit)
                print(f"edited {changed:,} deals", file=sys.stderr)
            org.ask("reset")
            bytes_before = dict(runtime.client.bulk_read_bytes)
            uploads_before = dict(runtime.client.bulk_upload_bytes)
            reset_peak_rss()
            start, cpu = time.perf_counter(), time.process_time()
            report = cycle.run()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            if not report.ok:
                raise SystemExit(f"{run}: cycle ended {report.outcome}: {report.error}")
            kinds = org.ask("kinds")
            uploads = _delta(dict(runtime.client.bulk_upload_bytes), uploads_before)
            rows.append(
                Row(
                    run,
                    sum(report.read.values()),
                    report.written,
                    report.tasks_opened + report.tasks_closed,
                    org.ask("calls"),
                    true_bound(
                        report,
                        runtime.mapping,
                        _delta(dict(runtime.client.bulk_read_bytes), bytes_before),
                        uploads,
                    ),
                    wall,
                    own_peak_rss_mb(),
                    critical_path(kinds, options.write_concurrency),
                    cpu,
                )
            )
            del report  # as the daemon does: a report does not outlive its cycle
            by_kind = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
            sizes = ", ".join(f"{o} {op} {b / 1e6:.1f} MB" for (o, op), b in uploads.items())
            print(f"{run}: done in {wall:.1f} s; calls: {by_kind}", file=sys.stderr)
            print(f"{run}: Bulk ingest CSV: {sizes or 'none'}", file=sys.stderr)
        return rows, runtime.mapping, runtime.policy
    finally:
        runtime.close()


# -- what admins write by hand -------------------------------------------------------------


def connect(settings: SalesforceSettings) -> Salesforce:
    """simple-salesforce on a client-credentials token, trusting the sandbox's CA."""
    session = requests.Session()
    session.verify = str(settings.ca_bundle)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment beats .verify
    secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
    token = session.post(
        f"{settings.login_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.client_id,
            "client_secret": secret,
        },
        timeout=30,
    )
    token.raise_for_status()
    body = token.json()
    return Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=session,
        version=API_VERSION,
    )


def per_record_loop(org: RemoteOrg, mapping: FieldMapping, policy: Policy) -> Row:
    """What an admin would write: query everything, then one REST call per change."""
    sf = connect(org.settings)
    org.ask("reset")
    start = time.perf_counter()

    def query_all(sobject: str, fields: list[str]) -> list[dict]:
        names = ", ".join(dict.fromkeys([*fields, "Id"]))
        return sf.query_all(f"SELECT {names} FROM {sobject}")["records"]

    users = query_all(mapping.user.sobject, mapping.user_fields())
    accounts = query_all(mapping.account.sobject, mapping.account_fields())
    opps = query_all(mapping.opportunity.sobject, mapping.opportunity_fields())
    account_writes = account_written_fields(mapping)
    opp_writes = opportunity_written_fields(mapping)
    current = {r["Id"]: written_values(r, account_writes) for r in accounts}
    current.update({r["Id"]: written_values(r, opp_writes) for r in opps})
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
    for write in plan.accounts:
        sf.Account.update(write.record_id, write.values)
    for write in plan.opportunities:
        sf.Opportunity.update(write.record_id, write.values)
    for entry in enforcement.opened:
        sf.Task.create(task_values(TaskSpec.of(entry), mapping))
    wall = time.perf_counter() - start
    read = len(users) + len(accounts) + len(opps)
    return Row(
        "per-record loop", read, plan.total, len(enforcement.opened), org.ask("calls"), None, wall
    )


# -- report --------------------------------------------------------------------------------


HEADER = (
    "| opportunities | run | read | written | Tasks | API calls | true bound | calls ÷ bound "
    "| critical path | physical limit | wall | wall ÷ limit | syncd CPU | records/s | peak RSS |"
)


def table(rows: list[Row], n: int, latency: float) -> str:
    """The rows as markdown; the physical limit is the critical path's calls x latency."""
    lines = [HEADER, "|" + " --- |" * HEADER.count(" | ") + " --- |"]
    for r in rows:
        bound = f"{r.bound:,}" if r.bound else "—"
        ratio = f"{r.calls / r.bound:.2f}" if r.bound else "—"
        rate = f"{(r.read + r.written) / r.wall:,.0f}" if r.wall else "—"
        rss = f"{r.rss_mb:,.0f} MB" if r.rss_mb is not None else "—"
        critical = r.critical if r.critical is not None else r.calls
        limit = critical * latency
        over = f"{r.wall / limit:,.1f}x" if limit else "—"
        cpu = f"{r.cpu:.1f} s" if r.cpu is not None else "—"
        lines.append(
            f"| {n:,} | {r.run} | {r.read:,} | {r.written:,} | {r.tasks:,} | {r.calls:,} "
            f"| {bound} | {ratio} | {critical:,} | {limit:.1f} s | {r.wall:.1f} s | {over} "
            f"| {cpu} | {rate} | {rss} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """The machine and how busy it was (the 1-minute load average of the other work)."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API call")
    parser.add_argument("--changed", type=float, default=0.01, help="share of deals edited")
    parser.add_argument("--skip-loop", action="store_true", help="syncd only")
    parser.add_argument(
        "--markdown", action="store_true", help="print only the table rows (benchmarks/publish.py)"
    )
    args = parser.parse_args()
    configure_logging("json", "warning", stream=sys.stderr)  # keep stdout for the table
    n, latency, today = args.opportunities, args.latency, datetime.now(UTC).date()
    load_before = machine()
    with tempfile.TemporaryDirectory(prefix="bench-cycle-") as tmp:
        tmp_dir = Path(tmp)
        org = RemoteOrg(n, today, latency, tmp_dir / "tls")
        try:
            rows, mapping, policy = syncd_cycles(org, tmp_dir / "state", args.changed)
        finally:
            org.close()
        if not args.skip_loop:
            org = RemoteOrg(n, today, latency, tmp_dir / "tls")
            try:
                rows.append(per_record_loop(org, mapping, policy))
            finally:
                org.close()
    text = table(rows, n, latency)
    if args.markdown:  # the table alone on stdout (benchmarks/publish.py's contract)
        print(text)
        print(f"machine: {load_before} (start), {machine()} (end)", file=sys.stderr)
        return
    print(text)
    print(f"\nmachine: {load_before} at the start; at the end {machine()}")
    print(
        "records/s = (read + written) / wall; peak RSS of the syncd process during the cycle "
        "(the org runs apart)"
    )
    full = rows[0]
    for row in rows[:4]:
        ratio = row.calls / row.bound if row.bound else 0
        print(f"{row.run}: {row.calls:,} calls = {ratio:.2f}x the true bound {row.bound:,}")
    if not args.skip_loop:
        loop = rows[-1]
        same = "same" if (loop.written, loop.tasks) == (full.written, full.tasks) else "DIFFERENT"
        print(
            f"per-record loop: {loop.calls:,} calls in {loop.wall:.1f} s "
            f"({loop.calls / full.calls:,.0f}x the calls, {loop.wall / full.wall:,.1f}x the "
            f"wall time of syncd's full cycle; {same} writes and Tasks)"
        )


if __name__ == "__main__":
    main()
