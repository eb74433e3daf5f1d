"""A fresh process that loads only what a change reaches decides exactly what the daemon
decides with the whole org in memory.

The synthetic org of the benchmarks, a full cycle and its echo, then 100 edits — a parent
re-linked under a named account, partners put on and taken off, owners changed, two
partners registering the same account's deals (a conflict) — and one more cycle: in the
daemon, or in a new process over the same store (which loads from the mirror just the
records the cascade reaches, through the store's links). Same writes, same calls, same
Tasks. On a new day a registration that expired is found by a fresh process too; and a
store migrated from before the links table fills it in its next cycle.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from structlog.testing import capture_logs

from syncd.engine.cascade import records_by_kind
from syncd.engine.links import link_rows
from syncd.salesforce import OrgClient
from syncd.sandbox import SandboxOrg, SandboxServer, serve_sandbox
from syncd.sandbox.dataset import synthetic_dataset
from syncd.service.runtime import Runtime, open_runtime
from syncd.settings import load_settings
from syncd.store.store import Store
from syncd.store.tables import cycle_state, mirror_links
from syncd.sync.cycle import Cycle, CycleOptions, CycleReport
from syncd.sync.orgstate import OrgState
from tests.integration.conftest import NO_WAIT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW = datetime.now(UTC)
TODAY = NOW.date()
DEALS = 1500
OPTIONS = CycleOptions(overlap=timedelta(0), write_concurrency=1)
Edit = Callable[[SandboxOrg], None]


def _runtime(server: SandboxServer, state: Path) -> Runtime:
    sf = server.salesforce_settings()
    return open_runtime(load_settings(salesforce=sf, state_dir=state), OrgClient(sf, retry=NO_WAIT))


def _cycle(runtime: Runtime, when: datetime) -> Cycle:
    return Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy,
                 clock=lambda: when, options=OPTIONS)  # fmt: skip


def _open_deals(org: SandboxOrg) -> list[dict[str, Any]]:
    return [d for d in org.records("Opportunity") if not d["IsClosed"]]


def hundred_edits(org: SandboxOrg) -> None:
    """A parent re-link, a registration conflict, and partner and owner changes."""
    rng = random.Random(5)
    accounts = org.records("Account")
    partners = [a["Id"] for a in accounts if a["IsPartner"]]
    named = next(a["Id"] for a in accounts if a["RoE_Named_Account__c"])
    flags = ("IsPartner", "ParentId", "RoE_Named_Account__c", "RoE_Global_Account__c")
    loose = [a for a in accounts if not any(a[f] for f in flags)]
    org.update("Account", loose[0]["Id"], {"ParentId": named})  # its deals become direct
    deals = _open_deals(org)
    by_account: dict[str, list[dict[str, Any]]] = {}
    for deal in deals:
        by_account.setdefault(deal["AccountId"], []).append(deal)
    pair = next(group for group in by_account.values() if len(group) >= 2)[:2]
    for deal, partner, days in zip(pair, partners[:2], (5, 3), strict=True):
        approved = (TODAY - timedelta(days=days)).isoformat()
        org.update("Opportunity", deal["Id"], {
            "RoE_Registered_Partner__c": partner, "RoE_Registration_Status__c": "Approved",
            "RoE_Registration_Approved_Date__c": approved,
        })  # fmt: skip
    sellers = [u["Id"] for u in org.records("User") if u.get("RoE_Sales_Role__c")]
    for index, deal in enumerate(rng.sample([d for d in deals if d not in pair], 97)):
        if index % 2:
            org.update("Opportunity", deal["Id"], {"OwnerId": rng.choice(sellers)})
        else:
            partner = None if deal.get("RoE_Partner__c") else rng.choice(partners)
            org.update("Opportunity", deal["Id"], {"RoE_Partner__c": partner})


def expiring(org: SandboxOrg) -> None:
    """An approved registration whose 90 days end today: tomorrow it protects nobody."""
    deal = next(d for d in _open_deals(org) if not d["RoE_Registered_Partner__c"])
    partner = next(a["Id"] for a in org.records("Account") if a["IsPartner"])
    org.update("Opportunity", deal["Id"], {
        "RoE_Registered_Partner__c": partner, "RoE_Registration_Status__c": "Approved",
        "RoE_Registration_Approved_Date__c": (TODAY - timedelta(days=90)).isoformat(),
    })  # fmt: skip


def nothing(org: SandboxOrg) -> None:
    return None


def _both(
    cert_dir: Path, tmp_path: Path, *, before: Edit, last: Edit, when: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The compared cycle run by the daemon, then by a fresh process, each on its own org."""
    daemon, fresh = (
        _last_cycle(cert_dir, tmp_path / name, fresh=is_fresh, before=before, last=last, when=when)
        for name, is_fresh in (("daemon", False), ("fresh", True))
    )
    return daemon, fresh


def _last_cycle(
    cert_dir: Path, state: Path, *, fresh: bool, before: Edit, last: Edit, when: datetime
) -> dict[str, Any]:
    """Full cycle, echo, ``before`` and a cycle, ``last`` and the compared cycle."""
    org = SandboxOrg()
    org.load(synthetic_dataset(DEALS, seed=11, today=TODAY))
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        daemon_runtime = _runtime(server, state)
        try:
            daemon = _cycle(daemon_runtime, NOW)
            for edit in (nothing, nothing, before, last):
                edit(org)
                time.sleep(1.1)  # the org's clock has whole seconds
                if edit is not last:
                    daemon.run()
            server.reset_calls()
            if fresh:
                fresh_runtime = _runtime(server, state)
                try:
                    report = _cycle(fresh_runtime, when).run()
                finally:
                    fresh_runtime.close()
            else:
                daemon.clock = lambda: when
                report = daemon.run()
        finally:
            daemon_runtime.close()
        calls = {k: v for k, v in server.calls.items() if v and k not in ("token", "versions")}
    return _outcome(report, calls)


def _outcome(last: CycleReport, calls: dict[str, int]) -> dict[str, Any]:
    writes = sorted((w.sobject, w.record_id, tuple(sorted(w.values.items())))
                    for w in (*last.plan.accounts, *last.plan.opportunities))  # fmt: skip
    assert last.enforcement is not None
    tasks = sorted((e.key, e.owner_id, e.level, e.description) for e in last.enforcement.opened)
    closed = sorted(c.entry.key for c in last.enforcement.closed)
    return {"writes": writes, "calls": calls, "tasks": tasks, "closed": closed,
            "mode": last.mode, "evaluated": last.evaluated}  # fmt: skip


def _reasons(outcome: dict[str, Any]) -> str:
    return " ".join(str(value) for write in outcome["writes"] for value in write[2])


def test_a_fresh_process_decides_100_changes_exactly_as_the_daemon(
    cert_dir: Path, tmp_path: Path
) -> None:
    daemon, fresh = _both(cert_dir, tmp_path, before=nothing, last=hundred_edits, when=NOW)
    assert fresh == daemon
    assert daemon["mode"] == "incremental" and daemon["tasks"]
    assert "DEAL_REG_CONFLICT" in _reasons(daemon)
    assert 100 < daemon["evaluated"] < DEALS / 2  # the scope, not the org


def test_a_registration_expiring_overnight_is_found_by_a_fresh_process(
    cert_dir: Path, tmp_path: Path
) -> None:
    tomorrow = NOW + timedelta(days=1)
    daemon, fresh = _both(cert_dir, tmp_path, before=expiring, last=nothing, when=tomorrow)
    assert fresh == daemon
    assert "expired" in _reasons(daemon)


def _toggle_partners(org: SandboxOrg, n: int) -> None:
    partner = next(a["Id"] for a in org.records("Account") if a["IsPartner"])
    for deal in _open_deals(org)[:n]:
        org.update("Opportunity", deal["Id"],
                   {"RoE_Partner__c": None if deal["RoE_Partner__c"] else partner})  # fmt: skip


def _stored_links(store: Store) -> set[tuple[str, str, str]]:
    with store.begin() as conn:
        rows = conn.execute(select(mirror_links.c.link, mirror_links.c.source,
                                   mirror_links.c.target))  # fmt: skip
        return {(link, source, target) for link, source, target in rows}


def test_a_store_without_complete_links_fills_them_then_loads_as_needed(
    cert_dir: Path, tmp_path: Path
) -> None:
    """A store migrated from before the links table: its next cycle loads the whole mirror
    and saves every record's links; the one after loads only what it needs."""
    org = SandboxOrg()
    org.load(synthetic_dataset(300, seed=11, today=TODAY))
    loaded = []
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        runtime = _runtime(server, tmp_path)
        try:
            daemon = _cycle(runtime, NOW)
            daemon.run()
            time.sleep(1.1)
            daemon.run()
            with runtime.store.begin() as conn:  # as migration 0006 leaves a store
                conn.execute(delete(mirror_links))
                conn.execute(update(cycle_state).values(links_complete=False))
        finally:
            runtime.close()
        for _ in range(2):  # two fresh processes, each after a few edits
            _toggle_partners(org, 3)
            time.sleep(1.1)
            runtime = _runtime(server, tmp_path)
            try:
                with capture_logs() as logs:
                    _cycle(runtime, NOW).run()
                loaded += [e["loaded"] for e in logs if e["event"] == "cycle.org_state"]
                whole = OrgState.from_store(runtime.store, runtime.mapping).snapshot
                assert _stored_links(runtime.store) == set(link_rows(records_by_kind(whole)))
                assert runtime.store.cycle_state().links_complete
            finally:
                runtime.close()
    assert loaded == ["the whole mirror", "as needed"]
