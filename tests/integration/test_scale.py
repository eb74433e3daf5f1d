"""A 5,000-opportunity org: exact API call counts against the REST lower bound."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.salesforce import OrgClient
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


def test_5000_opportunities_sync_at_the_lower_bound(big_server, tmp_path: Path) -> None:
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
        # a page per 2,000 records of each object (a query that finds nothing is one page:
        # the violation Tasks a new store adopts)
        queries = sum(max(1, ceil_div(n, 2000)) for n in report.read.values())
        # each object's writes through the API their number calls for (1,000 records a
        # Composite of Collections below the Bulk threshold): the true lower bound
        writes = [len(report.plan.accounts), len(report.plan.opportunities), report.tasks_opened]
        bound = sum(call_bound(n, choose(n, options.bulk_write_threshold)) for n in writes)
        calls = big_server.calls
        assert calls["query"] + calls.get("query_more", 0) == queries
        assert calls["composite"] == bound == 1 + 5 + 1
        assert big_server.api_calls() == queries + bound
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
