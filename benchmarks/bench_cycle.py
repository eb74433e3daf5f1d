"""syncd cycles against the sandbox org: exact API calls, wall time, records/s, peak RSS.

    .venv/bin/python benchmarks/bench_cycle.py [--opportunities 10000 --latency 0.05]
    .venv/bin/python benchmarks/bench_cycle.py --opportunities 100000 --skip-loop
    .venv/bin/python benchmarks/bench_cycle.py --opportunities 1000000 --skip-loop

The sandbox org runs in a child process (so the peak RSS measured is syncd's alone),
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
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr
from simple_salesforce import Salesforce

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imported after the path tweak (E402), so the script runs from a checkout.
from bench_engine import peak_rss_mb  # noqa: E402 - the sibling script (same directory)

from syncd.engine.domain import Snapshot  # noqa: E402
from syncd.engine.enforcement import EnforcementRules, TaskSpec, reconcile  # noqa: E402
from syncd.engine.evaluate import evaluate  # noqa: E402
from syncd.engine.policy import Policy  # noqa: E402
from syncd.logs import configure_logging  # noqa: E402
from syncd.salesforce import SalesforceSettings  # noqa: E402
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


def lower_bound(report: CycleReport) -> int:
    """The issue's REST lower bound: query pages plus collection calls."""
    return (
        sum(ceil_div(n, 2000) for n in report.read.values())
        + ceil_div(len(report.plan.accounts), 200)
        + ceil_div(len(report.plan.opportunities), 200)
        + ceil_div(report.tasks_opened, 200)
        + ceil_div(report.tasks_closed, 200)
    )


def syncd_cycles(
    org: RemoteOrg, state_dir: Path, share: float
) -> tuple[list[Row], FieldMapping, Policy]:
    runtime = open_runtime(load_settings(salesforce=org.settings, state_dir=state_dir))
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
            start = time.perf_counter()
            report = cycle.run()
            wall = time.perf_counter() - start
            if not report.ok:
                raise SystemExit(f"{run}: cycle ended {report.outcome}: {report.error}")
            rows.append(
                Row(
                    run,
                    sum(report.read.values()),
                    report.written,
                    report.tasks_opened + report.tasks_closed,
                    org.ask("calls"),
                    lower_bound(report),
                    wall,
                    peak_rss_mb(),
                )
            )
            del report  # as the daemon does: a report does not outlive its cycle
            print(f"{run}: done in {wall:.1f} s", file=sys.stderr)
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


def table(rows: list[Row], n: int, latency: float) -> str:
    lines = [
        "| opportunities | latency | run | read | written | Tasks | API calls | lower bound "
        "| wall | records/s | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        bound = f"{r.bound:,}" if r.bound is not None else "—"
        rate = f"{(r.read + r.written) / r.wall:,.0f}" if r.wall else "—"
        rss = f"{r.rss_mb:,.0f} MB" if r.rss_mb is not None else "—"
        lines.append(
            f"| {n:,} | {latency * 1000:.0f} ms | {r.run} | {r.read:,} | {r.written:,} "
            f"| {r.tasks:,} | {r.calls:,} | {bound} | {r.wall:.1f} s | {rate} | {rss} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API call")
    parser.add_argument("--changed", type=float, default=0.01, help="share of deals edited")
    parser.add_argument("--skip-loop", action="store_true", help="syncd only")
    args = parser.parse_args()
    configure_logging("json", "warning", stream=sys.stderr)  # keep stdout for the table
    n, latency, today = args.opportunities, args.latency, datetime.now(UTC).date()
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
    print(table(rows, n, latency))
    print(
        f"\nmachine: Python {platform.python_version()}, {platform.machine()}; records/s = "
        "(read + written) / wall; peak RSS of the syncd process (the org runs apart)"
    )
    full = rows[0]
    for row in rows[:4]:
        ratio = row.calls / row.bound if row.bound else 0
        print(f"{row.run}: {row.calls:,} calls = {ratio:.2f}x the lower bound {row.bound:,}")
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
