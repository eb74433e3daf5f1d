"""A 5,000-opportunity org: exact API call counts against the REST lower bound."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.cycle import Cycle
from syncd.runtime import open_runtime
from syncd.salesforce import OrgClient
from syncd.sandbox import SandboxOrg, serve_sandbox
from syncd.sandbox.dataset import synthetic_dataset
from syncd.settings import load_settings

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
        cycle = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy)
        big_server.reset_calls()
        report = cycle.run()
        assert report.read["Opportunity"] == 5000
        queries = sum(ceil_div(n, 2000) for n in report.read.values())
        collections = ceil_div(len(report.plan.accounts), 200) + ceil_div(
            len(report.plan.opportunities), 200
        )
        calls = big_server.calls
        assert calls["query"] + calls.get("query_more", 0) == queries
        assert calls["collections_update"] == collections
        tasks = ceil_div(report.tasks_opened, 200)  # new violation Tasks, upserted by key
        assert calls["collections_upsert"] == tasks
        assert big_server.api_calls() == queries + collections + tasks
        assert report.written == report.plan.total > 4000

        big_server.reset_calls()
        again = cycle.run()
        assert again.written == 0
        assert big_server.api_calls() == queries  # reads only
    finally:
        runtime.close()
