"""After any sequence of daemon cycles, a fresh process plans exactly what the daemon would.

The daemon keeps the org state in memory between cycles; a fresh process (a restarted
daemon, a cron `syncd sync`) rebuilds it from the store's mirror and the values syncd's
landed writes set. The same story runs twice, in two identical orgs: once the last cycle
is the daemon's, once a fresh process's. They must write the same records with the same
values in the same number of calls — including on a new day, when everything is decided
again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.salesforce import OrgClient
from syncd.sandbox import SandboxOrg, SandboxServer, serve_sandbox
from syncd.sandbox.dataset import demo_dataset
from syncd.service.runtime import Runtime, open_runtime
from syncd.settings import load_settings
from syncd.sync.cycle import Cycle, CycleOptions
from tests.integration.conftest import NO_WAIT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW = datetime.now(UTC)
TODAY = NOW.date()
OPTIONS = CycleOptions(overlap=timedelta(0), write_concurrency=1)


def _runtime(server: SandboxServer, state: Path) -> Runtime:
    sf = server.salesforce_settings()
    return open_runtime(load_settings(salesforce=sf, state_dir=state), OrgClient(sf, retry=NO_WAIT))


def _cycle(runtime: Runtime, clock: Callable[[], datetime]) -> Cycle:
    return Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy, clock=clock,
                 options=OPTIONS)  # fmt: skip


def _story(org: SandboxOrg) -> list[Callable[[], None]]:
    """Edits between the daemon's cycles: a violation fixed, a new one, a hand edit."""
    ids = demo_dataset(TODAY)
    return [
        lambda: org.update("Opportunity", ids.id("opp.direct_on_partner"),
                           {"OwnerId": ids.id("user.paula"),
                            "RoE_Partner__c": ids.id("p.northwind")}),
        lambda: org.update("Opportunity", ids.id("opp.named_child"),
                           {"AccountId": ids.id("c.soylent")}),
        lambda: org.update("Opportunity", ids.id("opp.registered_dropped"),
                           {"RoE_Status__c": "Compliant"}),  # a hand edit syncd restores
        lambda: None,  # the echo
    ]  # fmt: skip


def _last_cycle(cert_dir: Path, state: Path, fresh: bool, when: datetime) -> dict[str, Any]:
    org = SandboxOrg()
    org.load(demo_dataset(TODAY))
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        daemon_runtime = _runtime(server, state)
        try:
            daemon = _cycle(daemon_runtime, lambda: NOW)
            daemon.run()
            for edit in _story(org):
                edit()
                time.sleep(1.1)  # the org's clock has whole seconds
                daemon.run()
            time.sleep(1.1)
            if fresh:
                fresh_runtime = _runtime(server, state)
                try:
                    server.reset_calls()
                    last = _cycle(fresh_runtime, lambda: when).run()
                finally:
                    fresh_runtime.close()
            else:
                server.reset_calls()
                daemon.clock = lambda: when
                last = daemon.run()
        finally:
            daemon_runtime.close()
        calls = {k: v for k, v in server.calls.items() if v and k not in ("token", "versions")}
    writes = sorted((w.sobject, w.record_id, tuple(sorted(w.values.items())))
                    for w in (*last.plan.accounts, *last.plan.opportunities))  # fmt: skip
    return {"writes": writes, "calls": calls, "opened": last.tasks_opened,
            "closed": last.tasks_closed, "mode": last.mode}  # fmt: skip


@pytest.mark.parametrize("when", [NOW, NOW + timedelta(days=1)], ids=["same-day", "new-day"])
def test_a_fresh_process_writes_exactly_what_the_daemon_would(
    cert_dir: Path, tmp_path: Path, when: datetime
) -> None:
    daemon = _last_cycle(cert_dir, tmp_path / "daemon", fresh=False, when=when)
    fresh = _last_cycle(cert_dir, tmp_path / "fresh", fresh=True, when=when)
    assert fresh == daemon
    assert daemon["mode"] == "incremental"
    assert daemon["writes"] == []  # everything syncd wrote is known: nothing to write again
