"""Whole cycles over HTTPS against the sandbox org, through the real client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.salesforce import OrgClient
from syncd.salesforce.retry import RetryPolicy
from syncd.sandbox import SandboxOrg, SandboxServer
from syncd.sandbox.dataset import demo_dataset
from syncd.service.runtime import Runtime, open_runtime
from syncd.settings import load_settings
from syncd.sync.cycle import Cycle, CycleReport

pytestmark = pytest.mark.integration

NO_WAIT = RetryPolicy(initial_wait=0, max_wait=0, jitter=0)


@pytest.fixture
def today() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def org(today: datetime) -> SandboxOrg:
    org = SandboxOrg()
    org.load(demo_dataset(today.date()))
    return org


@pytest.fixture
def runtime(server: SandboxServer, tmp_path: Path) -> Iterator[Runtime]:
    sf = server.salesforce_settings()
    settings = load_settings(salesforce=sf, state_dir=tmp_path / "state")
    rt = open_runtime(settings, OrgClient(sf, retry=NO_WAIT))
    yield rt
    rt.close()


@pytest.fixture
def run_cycle(runtime: Runtime) -> Callable[..., CycleReport]:
    def run(**kwargs: object) -> CycleReport:
        cycle = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy)
        return cycle.run(**kwargs)  # type: ignore[arg-type]

    return run
