"""Violation Tasks in the org over HTTPS: exactly once, closed on resolution, crash-safe."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from syncd.engine.domain import Status
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import Dataset, demo_dataset
from syncd.service.runtime import Runtime
from syncd.sync.cycle import CycleReport

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
    # Every enforced violation has its Task, under Review too (S19, S26: Review releases nothing).
    violations = sum(
        len(d.violations) for d in first.decisions.opportunities.values() if d.enforced
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
    assert runtime.store.recent_runs(1)[0].outcome == "aborted"

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


def demo_ids(today: datetime) -> Dataset:
    return demo_dataset(today.date())


def test_E01_E02_E03_a_repeat_offender_climbs_the_ladder(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime
) -> None:
    ids = demo_ids(today)
    bob, vp, chief = ids.id("user.bob"), ids.id("user.vp"), ids.id("user.chief")
    run_cycle()
    tasks = {t["Id"]: t for t in roe_tasks(server)}
    bobs = [e for e in runtime.store.ledger(rep_id=bob)]
    ladder = sorted(
        (e.level, tasks[e.task_id or ""]["OwnerId"], tasks[e.task_id or ""]["Priority"])
        for e in bobs
    )
    assert ladder == [(1, vp, "Normal"), (2, vp, "High"), (3, chief, "High")]
    for entry in bobs:
        record = server.org.get("Opportunity", entry.opportunity_id)
        assert record["RoE_Comp_Eligible__c"] is False


def test_E06_reowning_to_a_partner_manager_with_the_partner_releases_comp(
    server: SandboxServer, run_cycle: RunCycle, today: datetime
) -> None:
    ids = demo_ids(today)
    deal = ids.id("opp.direct_on_partner")  # S03: Bob on a partner-led account, no partner
    run_cycle()
    assert server.org.get("Opportunity", deal)["RoE_Comp_Eligible__c"] is False
    server.org.update(
        "Opportunity",
        deal,
        {"OwnerId": ids.id("user.paula"), "RoE_Partner__c": ids.id("p.northwind")},
    )
    after = run_cycle()
    assert after.tasks_closed == 1
    (task,) = [t for t in roe_tasks(server) if t["WhatId"] == deal]
    assert task["Status"] == "Completed"
    record = server.org.get("Opportunity", deal)
    assert record["RoE_Status__c"] == "Compliant" and record["RoE_Comp_Eligible__c"] is True


def test_E09_and_S26_tasks_without_a_manager_go_to_channel_operations(
    server: SandboxServer, run_cycle: RunCycle, today: datetime
) -> None:
    ids = demo_ids(today)
    ops = ids.id("user.ops")
    run_cycle()
    tasks = {(t["WhatId"], t["Subject"].split(":")[0]): t for t in roe_tasks(server)}
    no_manager = tasks[ids.id("opp.global_dropped"), "[RoE] PARTNER_DISPLACED"]  # no manager
    assert no_manager["OwnerId"] == ops
    # S26: Dan asked for an exception; the review goes to channel operations, and the
    # violation he asked about keeps its own Task (to ops too: Dan has no manager).
    exception = ids.id("opp.exception")
    review = tasks[exception, "[RoE] EXCEPTION_REQUESTED"]
    assert review["OwnerId"] == ops
    assert tasks[exception, "[RoE] DIRECT_ON_PARTNER_ACCOUNT"]["Status"] == "Not Started"
    record = server.org.get("Opportunity", exception)
    assert record["RoE_Status__c"] == "Review" and record["RoE_Comp_Eligible__c"] is False


def test_S25_the_displaced_partner_is_owed_a_referral_fee(
    server: SandboxServer, run_cycle: RunCycle, today: datetime
) -> None:
    ids = demo_ids(today)
    run_cycle()
    story = server.org.get("Opportunity", ids.id("opp.story_displaced"))
    assert story["RoE_Remedy__c"] == "referral fee 48000.00 to Northwind Solutions"
    assert story["RoE_Comp_Eligible__c"] is False and story["RoE_Status__c"] == "Violation"
