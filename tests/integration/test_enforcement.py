"""Violation Tasks in the org over HTTPS: exactly once, closed on resolution, crash-safe."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from syncd.cycle import CycleReport
from syncd.domain import Status
from syncd.runtime import Runtime
from syncd.sandbox import SandboxServer

pytestmark = pytest.mark.integration

RunCycle = Callable[..., CycleReport]


def roe_tasks(server: SandboxServer) -> list[dict]:
    return [t for t in server.org.records("Task") if t.get("RoE_Key__c")]


def displaced_deal(report: CycleReport) -> str:
    for opp_id, decision in sorted(report.decisions.opportunities.items()):
        codes = {v.code for v in decision.violations}
        if decision.status is Status.VIOLATION and codes == {"PARTNER_DISPLACED"}:
            return opp_id
    raise AssertionError("the demo org has no PARTNER_DISPLACED deal")


def test_E07_each_violation_gets_exactly_one_task_over_many_cycles(
    server: SandboxServer, run_cycle: RunCycle
) -> None:
    first = run_cycle()
    violations = sum(
        len(d.violations)
        for d in first.decisions.opportunities.values()
        if d.status is Status.VIOLATION
    )
    reviews = sum(
        "EXCEPTION_REQUESTED" in d.reasons for d in first.decisions.opportunities.values()
    )
    tasks = roe_tasks(server)
    assert first.tasks_opened == len(tasks) == violations + reviews > 0
    assert len({t["RoE_Key__c"] for t in tasks}) == len(tasks)
    for _ in range(3):
        again = run_cycle()
        assert again.tasks_opened == 0 and again.tasks_closed == 0
    assert len(roe_tasks(server)) == len(tasks)


def test_E05_restoring_the_partner_closes_the_task_and_comp_stays_withheld(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    report = run_cycle()
    deal = displaced_deal(report)
    protected = report.decisions.opportunities[deal].protected_partner_id
    server.org.update("Opportunity", deal, {"RoE_Partner__c": protected})

    after = run_cycle()
    assert after.decisions.opportunities[deal].status is not Status.VIOLATION
    assert after.tasks_closed == 1
    (task,) = [t for t in roe_tasks(server) if t["WhatId"] == deal]
    assert task["Status"] == "Completed" and task["Description"].startswith("Resolved")
    assert server.org.get("Opportunity", deal)["RoE_Comp_Eligible__c"] is False
    (entry,) = [e for e in runtime.store.ledger() if e.opportunity_id == deal]
    assert entry.resolved_at is not None


def test_E08_a_repeat_after_resolution_opens_a_second_task(
    server: SandboxServer, run_cycle: RunCycle
) -> None:
    deal = displaced_deal(run_cycle())
    original = server.org.get("Opportunity", deal)["RoE_Partner__c"]
    protected = run_cycle().decisions.opportunities[deal].protected_partner_id
    server.org.update("Opportunity", deal, {"RoE_Partner__c": protected})
    run_cycle()
    server.org.update("Opportunity", deal, {"RoE_Partner__c": original})
    again = run_cycle()
    assert again.tasks_opened == 1
    tasks = sorted((t["RoE_Key__c"], t["Status"]) for t in roe_tasks(server) if t["WhatId"] == deal)
    assert [status for _, status in tasks] == ["Completed", "Not Started"]
    assert tasks[1][0].endswith(":2")


def test_crash_between_task_creation_and_ledger_commit_never_duplicates(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(_entries: object) -> None:
        raise KeyboardInterrupt("process killed after the Task upsert")

    with monkeypatch.context() as patched:
        patched.setattr(runtime.store, "save_ledger", killed)
        with pytest.raises(KeyboardInterrupt):
            run_cycle()
    created = roe_tasks(server)
    assert created and runtime.store.ledger() == []

    report = run_cycle()
    assert len(roe_tasks(server)) == len(created)
    assert report.tasks_opened == len(created)  # the upsert found them by key
    assert {e.task_id for e in runtime.store.ledger()} == {t["Id"] for t in created}


def test_inactive_manager_sends_the_task_to_channel_ops(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    dry = run_cycle(dry_run=True)
    deal = displaced_deal(dry)
    rep = dry.snapshot.users[dry.snapshot.opportunities[deal].owner_id]
    assert rep.manager_id, "the demo's poaching rep has a manager"
    server.org.update("User", rep.manager_id, {"IsActive": False})
    run_cycle()
    (task,) = [t for t in roe_tasks(server) if t["WhatId"] == deal]
    assert task["OwnerId"] == runtime.policy.owners.channel_ops_user_id
