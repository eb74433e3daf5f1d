"""Violation Tasks in the org over HTTPS: exactly once, closed on resolution, crash-safe."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from syncd.engine.domain import Status
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import Dataset, demo_dataset
from syncd.service.runtime import Runtime
from syncd.store.store import Store
from syncd.sync.report import CycleReport

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
    first = run_cycle()
    deal = displaced_deal(first)
    original = server.org.get("Opportunity", deal)["RoE_Partner__c"]
    protected = first.decisions.opportunities[deal].protected_partner_id
    server.org.update("Opportunity", deal, {"RoE_Partner__c": protected})
    run_cycle()
    server.org.update("Opportunity", deal, {"RoE_Partner__c": original})
    again = run_cycle()
    assert again.tasks_opened == 1
    tasks = sorted((t["RoE_Key__c"], t["Status"]) for t in roe_tasks(server) if t["WhatId"] == deal)
    assert [status for _, status in tasks] == ["Completed", "Not Started"]
    assert tasks[1][0].endswith(":2")


def _kill_commit(runtime: Runtime, patched: pytest.MonkeyPatch) -> None:
    def killed(_commit: object) -> None:
        raise KeyboardInterrupt("process killed after the Task upserts, before the commit")

    patched.setattr(runtime.store, "commit_cycle", killed)


def test_a_cycle_killed_before_its_commit_never_duplicates_a_task(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        _kill_commit(runtime, patched)
        with pytest.raises(KeyboardInterrupt):
            run_cycle()
    created = roe_tasks(server)
    assert created and runtime.store.ledger() == []
    assert runtime.store.recent_runs(1)[0].outcome == "aborted"

    report = run_cycle()
    assert len(roe_tasks(server)) == len(created)
    assert (report.tasks_opened, report.tasks_adopted) == (0, len(created))  # found by key
    assert {e.task_id for e in runtime.store.ledger()} == {t["Id"] for t in created}


def test_E14_tasks_of_a_killed_cycle_are_closed_when_the_deals_are_fixed_first(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
    today: datetime,
) -> None:  # fmt: skip
    ids = demo_ids(today)
    run_cycle()  # a committed cycle first: the store knows the org's Tasks from here on
    deal = _new_poach(server, ids, ids.id("user.alice"), 1)
    with monkeypatch.context() as patched:
        _kill_commit(runtime, patched)
        with pytest.raises(KeyboardInterrupt):
            run_cycle()
    (orphan,) = [t for t in roe_tasks(server) if t["WhatId"] == deal]
    # The deal is fixed before the rerun: a partner manager owns it with the partner on it.
    fixed = {"OwnerId": ids.id("user.paula"), "RoE_Partner__c": ids.id("p.northwind")}
    server.org.update("Opportunity", deal, fixed)
    before = len(roe_tasks(server))
    server.reset_calls()
    rerun = run_cycle()
    assert (rerun.tasks_adopted, rerun.tasks_opened, rerun.tasks_closed) == (1, 0, 1)
    assert server.org.get("Task", orphan["Id"])["Status"] == "Completed"
    assert len(roe_tasks(server)) == before  # none duplicated, none left open
    assert server.calls["composite"] == 1  # the Tasks came back in the one change read


def test_E13_a_lost_store_leaves_a_completed_task_as_the_manager_left_it(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime
) -> None:
    ids = demo_ids(today)
    run_cycle()
    deal = ids.id("opp.direct_on_partner")  # S03, still standing
    (task,) = [t for t in roe_tasks(server) if t["WhatId"] == deal]
    note = "Spoke with Bob on Tuesday; he will hand the deal to Northwind."
    server.org.update("Task", task["Id"], {"Status": "Completed", "Description": note})
    lost = runtime.store.sqlite_path
    assert lost is not None
    runtime.store.close()
    for path in lost.parent.glob(lost.name + "*"):
        path.unlink()  # the state store is gone
    runtime.store = Store(runtime.store.url)
    tasks_before = len(roe_tasks(server))
    for _ in range(2):
        report = run_cycle()
        assert report.tasks_opened == 0
        kept = server.org.get("Task", task["Id"])
        assert kept["Status"] == "Completed" and kept["Description"] == note
    assert len(roe_tasks(server)) == tasks_before
    assert report.tasks_adopted == 0  # adopted once, by the first cycle
    (entry,) = [e for e in runtime.store.ledger(open_only=True) if e.opportunity_id == deal]
    assert (
        entry.task_closed and server.org.get("Opportunity", deal)["RoE_Comp_Eligible__c"] is False
    )


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


def _new_poach(server: SandboxServer, ids: Dataset, rep: str, n: int) -> str:
    """A direct rep opens a deal on a partner-led account with no partner (S03)."""
    return server.org.create(
        "Opportunity",
        {
            "Name": f"Soylent — New Poach {n}",
            "AccountId": ids.id("c.soylent"),
            "OwnerId": rep,
            "StageName": "Prospecting",
            "CloseDate": "2027-03-31",
            "Type": "New Business",
            "LeadSource": "Web",
        },
    )


def test_E10_E11_E01_E02_E03_the_ladder_climbs_one_new_offence_at_a_time(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime
) -> None:
    ids = demo_ids(today)
    bob, vp, chief = ids.id("user.bob"), ids.id("user.vp"), ids.id("user.chief")
    run_cycle()
    tasks = {t["Id"]: t for t in roe_tasks(server)}

    def ladder(entries: list) -> list[tuple[int, str, str]]:
        return sorted((e.level, tasks[e.task_id]["OwnerId"], tasks[e.task_id]["Priority"])
                      for e in entries)  # fmt: skip

    day_one = runtime.store.ledger(rep_id=bob)
    assert len(day_one) == 3 and ladder(day_one) == [(1, vp, "Normal")] * 3  # E10
    for entry in day_one:
        assert server.org.get("Opportunity", entry.opportunity_id)["RoE_Comp_Eligible__c"] is False
    climbed = []
    for n in (1, 2, 3):
        deal = _new_poach(server, ids, bob, n)
        run_cycle()
        tasks = {t["Id"]: t for t in roe_tasks(server)}
        (entry,) = [e for e in runtime.store.ledger(rep_id=bob) if e.opportunity_id == deal]
        climbed += ladder([entry])
    assert climbed == [(2, vp, "High"), (3, chief, "High"), (3, chief, "High")]  # E11


def test_S31_an_approved_exception_exempts_the_deal_and_closes_both_tasks(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime
) -> None:
    ids = demo_ids(today)
    deal, bob = ids.id("opp.direct_on_partner"), ids.id("user.bob")
    run_cycle()
    request = {"RoE_Exception_Requested__c": True, "RoE_Exception_Reason__c": "Customer asked"}
    server.org.update("Opportunity", deal, request, by=bob)
    requested = run_cycle()
    assert requested.decisions.opportunities[deal].status is Status.REVIEW
    record = server.org.get("Opportunity", deal)
    assert record["RoE_Status__c"] == "Review" and record["RoE_Comp_Eligible__c"] is False
    open_tasks = [t for t in roe_tasks(server) if t["WhatId"] == deal and not t["IsClosed"]]
    assert sorted(t["RoE_Key__c"].split(":")[1] for t in open_tasks) == [
        "DIRECT_ON_PARTNER_ACCOUNT", "EXCEPTION_REQUESTED"]  # fmt: skip  # E15
    decision = {"RoE_Exception_Decision__c": "Approved",
                "RoE_Exception_Decision_Reason__c": "joint deal"}  # fmt: skip
    server.org.update("Opportunity", deal, decision, by=ids.id("user.ops"))
    approved = run_cycle()
    assert approved.tasks_closed == 2
    record = server.org.get("Opportunity", deal)
    assert record["RoE_Status__c"] == "Exempt" and record["RoE_Comp_Eligible__c"] is True
    for task in (t for t in roe_tasks(server) if t["WhatId"] == deal):
        assert task["Status"] == "Completed" and "joint deal" in task["Description"]
        assert "Decided by Priya Raman (Channel Operations)" in task["Description"]


def test_S32_a_rejected_exception_clears_the_box_and_keeps_the_violation(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime
) -> None:
    ids = demo_ids(today)
    deal = ids.id("opp.direct_on_partner")
    run_cycle()
    server.org.update("Opportunity", deal, {"RoE_Exception_Requested__c": True})
    run_cycle()
    server.org.update("Opportunity", deal, {"RoE_Exception_Decision__c": "Rejected",
                                            "RoE_Exception_Decision_Reason__c": "no"})  # fmt: skip
    rejected = run_cycle()
    assert rejected.tasks_closed == 1
    record = server.org.get("Opportunity", deal)
    assert record["RoE_Exception_Requested__c"] is False  # syncd cleared the box
    assert record["RoE_Status__c"] == "Violation" and record["RoE_Comp_Eligible__c"] is False
    assert "EXCEPTION_REJECTED" in (record["RoE_Reason__c"] or "")
    by_code = {t["RoE_Key__c"].split(":")[1]: t for t in roe_tasks(server) if t["WhatId"] == deal}
    assert by_code["EXCEPTION_REQUESTED"]["Status"] == "Completed"
    assert by_code["DIRECT_ON_PARTNER_ACCOUNT"]["Status"] == "Not Started"
    assert run_cycle().written == 0  # the cleared box's echo changes nothing more


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


def test_refused_task_writes_are_committed_per_record_and_retried_until_they_land(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime
) -> None:
    ids = demo_ids(today)
    refused = f"{ids.id('opp.direct_on_partner')}:DIRECT_ON_PARTNER_ACCOUNT:1"
    server.faults.fail_records([refused], "FIELD_CUSTOM_VALIDATION_EXCEPTION", times=2)
    first = run_cycle()
    assert first.outcome == "partial"  # the flags and the other Tasks landed and are kept
    assert [f.record_id for f in first.failures] == [refused]
    (entry,) = runtime.store.ledger(keys=[refused])
    assert entry.task_id is None and entry.level == 1  # recorded, its Task to be retried
    assert runtime.store.watermarks()  # committed: the next cycle does not start over
    second = run_cycle()
    assert second.mode == "incremental" and second.outcome == "partial"
    third = run_cycle()
    assert third.outcome == "success" and third.tasks_opened == 1
    (entry,) = runtime.store.ledger(keys=[refused])
    assert entry.task_id and entry.level == 1 and entry.owner_id == ids.id("user.vp")
    assert len([t for t in roe_tasks(server) if t["RoE_Key__c"] == refused]) == 1
    assert run_cycle().tasks_opened == 0
