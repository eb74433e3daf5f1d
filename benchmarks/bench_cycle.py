"""One full syncd cycle against the sandbox org: exact API calls and wall time.

    .venv/bin/python benchmarks/bench_cycle.py [--opportunities 10000 --latency 0.05]
    .venv/bin/python benchmarks/bench_cycle.py --opportunities 100000 --skip-loop

Serves a synthetic org over HTTPS on 127.0.0.1 with a fixed delay per call (a stand-in for
the round trip to a real org), runs a first and a second (nothing changed) syncd cycle,
then - on a fresh copy of the same org - the per-record simple-salesforce loop an admin
would write by hand, making the same decisions. Prints a markdown table row per run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import requests
from simple_salesforce import Salesforce

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imported after the path tweak (E402), so the script runs from a checkout.
from bench_engine import peak_rss_mb  # noqa: E402 - the sibling script (same directory)

from syncd.cycle import Cycle, enforcement_rules, resync_clears  # noqa: E402
from syncd.domain import Snapshot  # noqa: E402
from syncd.enforcement import reconcile  # noqa: E402
from syncd.engine import evaluate  # noqa: E402
from syncd.logs import configure_logging  # noqa: E402
from syncd.mapping import (  # noqa: E402
    FieldMapping,
    task_values,
    to_account,
    to_opportunity,
    to_user,
    written_values,
)
from syncd.plan import plan_writes  # noqa: E402
from syncd.policy import Policy  # noqa: E402
from syncd.runtime import open_runtime  # noqa: E402
from syncd.sandbox import SandboxOrg, SandboxServer, serve_sandbox  # noqa: E402
from syncd.sandbox.dataset import synthetic_dataset  # noqa: E402
from syncd.settings import load_settings  # noqa: E402

SEED = 11
API_VERSION = "62.0"


@dataclass
class Row:
    run: str
    read: int
    written: int
    tasks: int
    calls: int
    bound: int | None
    wall: float


def ceil_div(n: int, d: int) -> int:
    return -(-n // d)


@contextmanager
def sandbox(n: int, today: date, latency: float, cert_dir: Path) -> Iterator[SandboxServer]:
    org = SandboxOrg()
    org.load(synthetic_dataset(n, seed=SEED, today=today))
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        server.faults.latency(latency)
        server.reset_calls()
        yield server


def syncd_cycles(server: SandboxServer, state_dir: Path) -> tuple[Row, Row, FieldMapping, Policy]:
    sf = server.salesforce_settings()
    runtime = open_runtime(load_settings(salesforce=sf, state_dir=state_dir))
    try:
        cycle = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy)
        rows = []
        for run in ("syncd, first cycle", "syncd, nothing changed"):
            server.reset_calls()
            start = time.perf_counter()
            report = cycle.run()
            wall = time.perf_counter() - start
            if not report.ok:
                raise SystemExit(f"{run}: cycle ended {report.outcome}: {report.error}")
            bound = (
                sum(ceil_div(n, 2000) for n in report.read.values())
                + ceil_div(len(report.plan.accounts), 200)
                + ceil_div(len(report.plan.opportunities), 200)
                + ceil_div(report.tasks_opened, 200)
            )
            read = sum(report.read.values())
            calls = server.api_calls()
            rows.append(Row(run, read, report.written, report.tasks_opened, calls, bound, wall))
        return rows[0], rows[1], runtime.mapping, runtime.policy
    finally:
        runtime.close()


def connect(server: SandboxServer) -> Salesforce:
    """simple-salesforce on a client-credentials token, trusting the sandbox's CA."""
    session = requests.Session()
    session.verify = str(server.ca_bundle)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment beats .verify
    token = session.post(
        f"{server.login_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": server.client_id,
            "client_secret": server.client_secret,
        },
        timeout=30,
    )
    token.raise_for_status()
    body = token.json()
    return Salesforce(
        instance_url=body.get("instance_url", server.instance_url),
        session_id=body["access_token"],
        session=session,
        version=API_VERSION,
    )


def per_record_loop(server: SandboxServer, mapping: FieldMapping, policy: Policy) -> Row:
    """What an admin would write: query everything, then one REST call per change."""
    sf = connect(server)
    server.reset_calls()
    start = time.perf_counter()

    def query_all(sobject: str, fields: list[str]) -> list[dict]:
        names = ", ".join(dict.fromkeys([*fields, "Id"]))
        return sf.query_all(f"SELECT {names} FROM {sobject}")["records"]

    users = query_all(mapping.user.sobject, mapping.user_fields())
    accounts = query_all(mapping.account.sobject, mapping.account_fields())
    opps = query_all(mapping.opportunity.sobject, mapping.opportunity_fields())
    account_writes = list(mapping.account.write.model_dump().values())
    if mapping.account.read.resync_requested:
        account_writes.append(mapping.account.read.resync_requested)
    opp_writes = list(mapping.opportunity.write.model_dump().values())
    current = {r["Id"]: written_values(r, account_writes) for r in accounts}
    current.update({r["Id"]: written_values(r, opp_writes) for r in opps})
    snapshot = Snapshot(
        accounts={a.id: a for a in (to_account(r, mapping) for r in accounts)},
        opportunities={o.id: o for o in (to_opportunity(r, mapping) for r in opps)},
        users={u.id: u for u in (to_user(r, mapping) for r in users)},
    )
    now = datetime.now(UTC)
    decisions = evaluate(snapshot, policy, now)
    enforcement = reconcile([], decisions, snapshot, enforcement_rules(policy), now)
    plan = plan_writes(
        decisions,
        current,
        mapping,
        comp_holds=enforcement.comp_holds,
        account_extras=resync_clears(snapshot, mapping),
    )
    for write in plan.accounts:
        sf.Account.update(write.record_id, write.values)
    for write in plan.opportunities:
        sf.Opportunity.update(write.record_id, write.values)
    for _entry, spec in enforcement.opened:
        sf.Task.create(task_values(spec, mapping))
    wall = time.perf_counter() - start
    read = len(users) + len(accounts) + len(opps)
    return Row(
        "per-record loop", read, plan.total, len(enforcement.opened), server.api_calls(), None, wall
    )


def table(rows: list[Row], n: int, latency: float) -> str:
    lines = [
        "| opportunities | latency | run | read | written | Tasks | API calls | lower bound "
        "| wall | records/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        bound = f"{r.bound:,}" if r.bound is not None else "—"
        rate = f"{r.read / r.wall:,.0f}" if r.wall else "—"
        lines.append(
            f"| {n:,} | {latency * 1000:.0f} ms | {r.run} | {r.read:,} | {r.written:,} "
            f"| {r.tasks:,} | {r.calls:,} | {bound} | {r.wall:.1f} s | {rate} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API call")
    parser.add_argument("--skip-loop", action="store_true", help="syncd only")
    args = parser.parse_args()
    configure_logging("json", "warning", stream=sys.stderr)  # keep stdout for the table
    n, latency, today = args.opportunities, args.latency, datetime.now(UTC).date()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-cycle-") as tmp:
        tmp_dir = Path(tmp)
        with sandbox(n, today, latency, tmp_dir / "tls") as server:
            first, again, mapping, policy = syncd_cycles(server, tmp_dir / "state")
            rows += [first, again]
        rss = peak_rss_mb()
        if not args.skip_loop:
            with sandbox(n, today, latency, tmp_dir / "tls") as server:
                rows.append(per_record_loop(server, mapping, policy))
    print(table(rows, n, latency))
    print(
        f"\nmachine: Python {platform.python_version()}, {platform.machine()}, "
        f"peak RSS after syncd cycles {rss:,.0f} MB (this process, sandbox org included)"
    )
    summary = (
        f"syncd: {first.calls:,} calls (lower bound {first.bound:,}) in {first.wall:.1f} s; "
        f"second cycle {again.calls:,} calls in {again.wall:.1f} s"
    )
    if not args.skip_loop:
        loop = rows[-1]
        same = "same" if (loop.written, loop.tasks) == (first.written, first.tasks) else "DIFFERENT"
        summary += (
            f"; per-record loop: {loop.calls:,} calls in {loop.wall:.1f} s "
            f"({loop.calls / first.calls:,.0f}x the calls, {loop.wall / first.wall:,.1f}x the "
            f"wall time; {same} writes and Tasks)"
        )
    print(summary)


if __name__ == "__main__":
    main()
