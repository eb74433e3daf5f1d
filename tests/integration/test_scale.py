"""A 5,000-opportunity org: exact API call counts, at the true bound (``bounds``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.salesforce import OrgClient
from syncd.salesforce.bounds import cycle_bound
from syncd.salesforce.writes import call_bound, choose
from syncd.sandbox import SandboxOrg, serve_sandbox
from syncd.sandbox.dataset import synthetic_dataset
from syncd.service.runtime import open_runtime
from syncd.settings import load_settings
from syncd.sync.cycle import Cycle, CycleOptions

from .conftest import NO_WAIT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def ceil_div(n: int, d: int) -> int:
    return -(-n // d)


@pytest.fixture
def big_server(cert_dir: Path) -> Iterator:
    org = SandboxOrg()
    org.load(synthetic_dataset(5000, seed=11, today=datetime.now(UTC).date()))
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        yield server


def test_5000_opportunities_sync_at_the_true_bound(big_server, tmp_path: Path) -> None:
    sf = big_server.salesforce_settings()
    runtime = open_runtime(
        load_settings(salesforce=sf, state_dir=tmp_path / "state"), OrgClient(sf, retry=NO_WAIT)
    )
    try:
        # No overlap: the echo is re-read exactly once (a real org gets 5 minutes of it).
        options = CycleOptions(overlap=timedelta(0))
        cycle = Cycle(
            runtime.client, runtime.store, runtime.mapping, runtime.policy, options=options
        )
        big_server.reset_calls()
        report = cycle.run()
        assert report.read["Opportunity"] == 5000
        # The first page of every object (and of the violation Tasks a new store adopts)
        # in one composite call, then a page per 2,000 records; 5,000 deals are below the
        # Bulk read threshold (a Bulk query would cost 3 calls, the REST pages 2 more).
        more = sum(max(ceil_div(n, 2000) - 1, 0) for n in report.read.values())
        # each object's writes through the API their number calls for (1,000 records a
        # Composite of Collections below the Bulk threshold)
        writes = [len(report.plan.accounts), len(report.plan.opportunities), report.tasks_opened]
        write_calls = sum(call_bound(n, choose(n, options.bulk_write_threshold)) for n in writes)
        calls = big_server.calls
        assert calls["query_more"] == more and "query" not in calls
        assert calls["composite"] == 1 + write_calls == 1 + (1 + 5 + 1)
        assert big_server.api_calls() == 1 + more + write_calls
        # the true bound (syncd.salesforce.bounds): no call above it
        assert big_server.api_calls() == cycle_bound(report.read, writes)
        assert report.written == report.plan.total > 4000

        time.sleep(2)  # the org's Date header has whole seconds
        # The next cycle is incremental: it reads back syncd's own writes (the echo) —
        # the first page of each object in one composite call, later pages one each —
        # and writes nothing; the one after that is idle: a single call.
        big_server.reset_calls()
        echo = cycle.run()
        assert echo.mode == "incremental" and echo.written == 0 and echo.changed == 0
        more_pages = sum(max(ceil_div(n, 2000) - 1, 0) for n in echo.read.values())
        assert big_server.api_calls() == 1 + more_pages
        assert big_server.calls["query_more"] == more_pages
        time.sleep(2)
        big_server.reset_calls()
        idle = cycle.run()
        assert idle.written == 0 and big_server.api_calls() == 1
    finally:
        runtime.close()


def test_bulk_reads_and_bulk_ingest_writes_cost_their_exact_calls(
    big_server, tmp_path: Path
) -> None:
    """Thresholds set low so a 5,000-deal org takes the Bulk API 2.0 paths both ways."""
    sf = big_server.salesforce_settings()
    runtime = open_runtime(
        load_settings(salesforce=sf, state_dir=tmp_path / "state"), OrgClient(sf, retry=NO_WAIT)
    )
    options = CycleOptions(overlap=timedelta(0), bulk_threshold=2000, bulk_write_threshold=500)
    try:
        cycle = Cycle(
            runtime.client, runtime.store, runtime.mapping, runtime.policy, options=options
        )
        big_server.reset_calls()
        report = cycle.run()
        assert report.outcome == "success" and report.written == report.plan.total
        accounts, deals = len(report.plan.accounts), len(report.plan.opportunities)
        assert min(accounts, deals) >= 500 and report.read["Account"] <= 2000
        calls = big_server.calls
        # Reads: the first pages in one composite, the describes riding along (so none of
        # its own); the deals (5,000 > 2,000) again through one Bulk query job: create,
        # one poll, one results page.
        assert "describe" not in calls
        assert calls["bulk_job"] == calls["bulk_status"] == calls["bulk_results"] == 1
        assert "query" not in calls
        # Writes: one Bulk ingest job per object (create, upload, close, one poll, the
        # successful-results file); the Tasks by their own number.
        ingest = ("job", "upload", "state", "status", "results")
        assert {k: calls[f"bulk_ingest_{k}"] for k in ingest} == dict.fromkeys(ingest, 2)
        tasks = report.tasks_opened
        task_api = choose(tasks, options.bulk_write_threshold)
        assert task_api in ("collections", "composite")
        task_kind = "collections_upsert" if task_api == "collections" else "composite"
        assert calls[task_kind] == call_bound(tasks, task_api) + (task_kind == "composite")
        reads = 1 + 3  # composite, Bulk query
        assert big_server.api_calls() == reads + 2 * 5 + call_bound(tasks, task_api)
        # (thresholds this low cost more than the true bound: ``bounds`` sets the defaults)
        assert big_server.api_calls() > cycle_bound(report.read, [accounts, deals, tasks])

        time.sleep(2)  # the org's Date header has whole seconds
        big_server.reset_calls()
        echo = cycle.run()  # the echo: its deals through a Bulk queryAll (describe cached)
        assert echo.mode == "incremental" and echo.written == 0
        assert big_server.calls == {"composite": 1, "bulk_job": 1, "bulk_status": 1,
                                    "bulk_results": 1, **_logins(big_server)}  # fmt: skip
        assert big_server.api_calls() == 4
    finally:
        runtime.close()


def _logins(server) -> dict[str, int]:
    return {k: server.calls[k] for k in ("token", "versions") if server.calls.get(k)}
