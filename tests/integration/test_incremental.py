"""Incremental cycles over HTTPS: what they read, what they re-decide, what they cost.

Every test starts from a full first cycle on the demo org and then edits the org "in
the UI" (the sandbox's admin API). API calls are exact: a change check is one composite
call; writes are one collection call per 200 records.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from syncd.sandbox import SandboxServer
from syncd.service.runtime import Runtime
from syncd.sfid import make_id
from syncd.sync.cycle import Cycle, CycleOptions, CycleReport

pytestmark = pytest.mark.integration

NAMED = make_id("001", 5)  # named account, parent of 006, grandparent of 007
NAMED_FAMILY = {make_id("001", n) for n in (5, 6, 7)}
S01_DEAL, S22_CHILD_DEAL, S22_GRANDCHILD_DEAL = (make_id("006", n) for n in (1, 2, 3))
S03_DEAL = make_id("006", 16)  # a field rep on a partner-led account: a violation


@pytest.fixture
def cycle(runtime: Runtime, server: SandboxServer) -> Iterator[Cycle]:
    """One Cycle object for the whole test, as the daemon keeps one (state in memory)."""
    cycle = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy)
    first = cycle.run()
    assert first.mode == "full" and first.outcome == "success"
    server.reset_calls()
    yield cycle


def calls(server: SandboxServer) -> dict[str, int]:
    return {kind: n for kind, n in server.calls.items() if n and kind != "token"}


def run(cycle: Cycle, server: SandboxServer) -> tuple[CycleReport, dict[str, int]]:
    server.reset_calls()
    report = cycle.run()
    assert report.outcome == "success", report.failures
    return report, calls(server)


def test_the_echo_of_syncds_own_writes_converges_and_idle_cycles_cost_one_call(
    cycle: Cycle, server: SandboxServer
) -> None:
    echo, echo_calls = run(cycle, server)  # syncd's first writes come back, unchanged
    assert echo.mode == "incremental" and echo.read["Opportunity"] > 0
    assert echo.changed == 0 and echo.plan.total == 0
    assert echo_calls == {"composite": 1}
    for _ in range(2):
        idle, idle_calls = run(cycle, server)
        assert idle.plan.total == 0 and idle.evaluated == 0
        assert idle_calls == {"composite": 1}
        assert idle.api_calls == 1


def test_a_restarted_process_rebuilds_its_state_from_the_mirror(
    cycle: Cycle, runtime: Runtime, server: SandboxServer
) -> None:
    fresh = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy)
    server.reset_calls()
    report = fresh.run()
    # The echo differs from the mirror (read before syncd wrote), so it is re-planned —
    # and plans nothing: the values are the ones syncd wrote.
    assert report.mode == "incremental" and report.plan.total == 0
    assert calls(server) == {"composite": 1}


def test_a_changed_deal_is_re_decided_with_its_account_s_deals(
    cycle: Cycle, server: SandboxServer
) -> None:
    run(cycle, server)  # the echo
    server.org.update("Opportunity", S03_DEAL, {"RoE_Override__c": "Direct"})
    server.org.update("Opportunity", S03_DEAL, {"RoE_Override_Reason__c": "CEO call"})
    report, used = run(cycle, server)
    assert report.changed == 1
    assert S03_DEAL in report.decisions.opportunities
    assert report.evaluated < 10  # its account's deals, not the org
    assert server.org.get("Opportunity", S03_DEAL)["RoE_Status__c"] == "Exempt"
    assert report.tasks_closed == 1  # the violation is gone with the override
    assert used == {"composite": 1, "collections_update": 2}  # the deal, then the Task
    after, after_calls = run(cycle, server)  # the echo of that write: nothing to do
    assert after.plan.total == 0 and after_calls == {"composite": 1}


def test_a_parent_account_change_cascades_to_descendants_and_their_deals(
    cycle: Cycle, server: SandboxServer
) -> None:
    run(cycle, server)
    server.org.update("Account", NAMED, {"RoE_Named_Account__c": False})
    report, used = run(cycle, server)
    assert report.changed == 1
    assert set(report.decisions.accounts) >= NAMED_FAMILY
    for account in NAMED_FAMILY:
        assert server.org.get("Account", account)["RoE_Engagement_Lead__c"] == "Partner"
    for deal in (S01_DEAL, S22_CHILD_DEAL, S22_GRANDCHILD_DEAL):
        assert server.org.get("Opportunity", deal)["RoE_Expected_Lead__c"] == "Partner"
    updates = 2 + (1 if report.tasks_closed else 0)  # accounts, deals, closed Tasks
    assert used == {"composite": 1, "collections_update": updates, **_opened(report)}


def test_a_user_change_re_decides_that_user_s_deals(
    cycle: Cycle, server: SandboxServer, runtime: Runtime
) -> None:
    run(cycle, server)
    owner = server.org.get("Opportunity", S03_DEAL)["OwnerId"]
    owned = {
        o["Id"]
        for o in server.org.records("Opportunity")
        if o["OwnerId"] == owner and not (o["IsClosed"] and not o["IsWon"])
    }
    server.org.update("User", owner, {"RoE_Sales_Role__c": "Partner Manager"})
    report, used = run(cycle, server)
    assert report.changed == 1
    assert owned <= set(report.decisions.opportunities)
    assert server.org.get("Opportunity", S03_DEAL)["RoE_Status__c"] != "Violation"
    assert used["composite"] == 1


def test_a_deleted_deal_closes_its_open_task(
    cycle: Cycle, server: SandboxServer, runtime: Runtime
) -> None:
    run(cycle, server)
    entry = next(e for e in runtime.store.ledger(open_only=True) if e.opportunity_id == S03_DEAL)
    server.org.delete("Opportunity", S03_DEAL)
    report, used = run(cycle, server)
    assert report.tasks_closed == 1
    assert used == {"composite": 1, "collections_update": 1}  # the Task's closing note
    closed = next(e for e in runtime.store.ledger() if e.key == entry.key)
    assert closed.resolved_at is not None
    task = server.org.get("Task", entry.task_id or "")
    assert task is not None and task["Status"] == "Completed"
    assert "deleted" in task["Description"]


def test_a_merged_account_moves_its_deals_to_the_winner(
    cycle: Cycle, server: SandboxServer
) -> None:
    run(cycle, server)
    loser = make_id("001", 16)  # partner-led with an incumbent
    moved = [o["Id"] for o in server.org.records("Opportunity") if o["AccountId"] == loser]
    assert moved
    server.org.merge("Account", NAMED, [loser])
    report, _ = run(cycle, server)
    assert loser not in report.snapshot.accounts
    for deal in moved:
        assert server.org.get("Opportunity", deal)["RoE_Expected_Lead__c"] == "Direct"


def test_a_rules_change_re_decides_everything_from_memory_with_one_read(
    cycle: Cycle, server: SandboxServer, runtime: Runtime
) -> None:
    run(cycle, server)
    remedy = runtime.policy.remedy.model_copy(update={"referral_fee_percent": Decimal(12)})
    cycle.policy = runtime.policy.model_copy(update={"remedy": remedy})
    report, used = run(cycle, server)
    partners = sum(a.is_partner for a in report.snapshot.accounts.values())
    assert len(report.decisions.accounts) == len(report.snapshot.accounts) - partners
    assert len(report.decisions.opportunities) > 50  # every deal, not a scope
    assert used["composite"] == 1 and "query" not in used
    assert report.plan.total >= 1  # the displaced partner's fee changed


def test_resync_checkbox_in_salesforce_is_answered_and_cleared(
    cycle: Cycle, server: SandboxServer
) -> None:
    run(cycle, server)
    server.org.update("Account", NAMED, {"RoE_Resync_Requested__c": True})
    report, used = run(cycle, server)
    assert NAMED in report.decisions.accounts
    assert server.org.get("Account", NAMED)["RoE_Resync_Requested__c"] is False
    assert used == {"composite": 1, "collections_update": 1}


def test_bulk_api_reads_big_objects_and_decides_the_same(
    runtime: Runtime, server: SandboxServer
) -> None:
    options = CycleOptions(bulk_threshold=20)  # Accounts (37) and Opportunities (100)
    bulk = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy, options=options)
    server.reset_calls()
    first = bulk.run(dry_run=True)
    used = calls(server)
    # Unknown sizes: one composite call carries every object's first page and describe;
    # its totalSize says which are big, and those are read again through Bulk.
    assert used["composite"] == 1 and "query" not in used
    assert used["bulk_job"] == used["bulk_status"] == used["bulk_results"] == 2
    assert "describe" not in used
    rest = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy).run(dry_run=True)
    assert first.plan == rest.plan and first.decisions == rest.decisions
    bulk.run(full=True)
    server.reset_calls()
    bulk.run(full=True)  # sizes known from the mirror: straight to Bulk
    used = calls(server)
    assert used["composite"] == 1  # Users, and people's changes to violation Tasks
    assert "query" not in used
    assert used["bulk_job"] == used["bulk_status"] == used["bulk_results"] == 2


def test_concurrent_writes_land_the_same_as_serial_ones(
    runtime: Runtime, server: SandboxServer
) -> None:
    options = CycleOptions(write_concurrency=4)
    report = Cycle(
        runtime.client, runtime.store, runtime.mapping, runtime.policy, options=options
    ).run()
    assert report.outcome == "success" and report.written == report.plan.total
    for write in (*report.plan.accounts, *report.plan.opportunities):
        record = server.org.get(write.sobject, write.record_id)
        assert {k: record[k] for k in write.values} == dict(write.values)


def _opened(report: CycleReport) -> dict[str, int]:
    return {"collections_upsert": 1} if report.tasks_opened else {}


def test_a_named_accounts_csv_change_re_decides_only_what_it_touches(
    runtime: Runtime, server: SandboxServer
) -> None:
    both = runtime.policy.named_accounts.model_copy(update={"source": "both"})
    policy = runtime.policy.model_copy(update={"named_accounts": both})
    cycle = Cycle(runtime.client, runtime.store, runtime.mapping, policy)
    cycle.run()
    run(cycle, server)  # the echo
    joined = make_id("001", 16)  # partner-led with an incumbent, until the CSV names it
    named = policy.named_account_ids | {joined}
    cycle.policy = policy.model_copy(update={"named_account_ids": named})
    report, used = run(cycle, server)
    deals = {o["Id"] for o in server.org.records("Opportunity") if o["AccountId"] == joined}
    assert joined in report.decisions.accounts
    assert set(report.decisions.opportunities) >= deals
    assert len(report.decisions.opportunities) < 10  # not the whole org
    assert server.org.get("Account", joined)["RoE_Engagement_Lead__c"] == "Direct"
    assert used["composite"] == 1 and "query" not in used


def test_a_burst_of_changes_is_read_through_bulk_api(
    runtime: Runtime, server: SandboxServer
) -> None:
    options = CycleOptions(bulk_threshold=50)  # Opportunities (100) count as big
    cycle = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy, options=options)
    cycle.run()
    server.org.delete("Opportunity", S03_DEAL)
    report, used = run(cycle, server)  # the echo of ~90 deal writes, and one deletion
    assert report.plan.total == 0 and report.tasks_closed == 1
    assert S03_DEAL not in report.snapshot.opportunities
    # One composite (its first page said 90+ deals), then a queryAll job; the describe
    # for typing the CSV is cached from the first cycle.
    assert used == {
        "composite": 1,
        "bulk_job": 1,
        "bulk_status": 1,
        "bulk_results": 1,
        "collections_update": 1,  # the deleted deal's Task closed
    }


def test_partners_from_opportunity_partner_rows_follow_their_changes(
    runtime: Runtime, server: SandboxServer
) -> None:
    by_rows = runtime.mapping.opportunity.model_copy(
        update={"partner_source": "opportunity_partner"}
    )
    mapping = runtime.mapping.model_copy(update={"opportunity": by_rows})
    cycle = Cycle(runtime.client, runtime.store, mapping, runtime.policy)
    first = cycle.run()
    assert first.mode == "full" and first.read["OpportunityPartner"] == 0
    run(cycle, server)  # the echo
    partner = make_id("001", 1)  # Northwind
    row = server.org.create(
        "OpportunityPartner",
        {"OpportunityId": S03_DEAL, "AccountToId": partner, "IsPrimary": True},
    )
    report, used = run(cycle, server)
    assert report.snapshot.opportunities[S03_DEAL].partner_id == partner
    assert report.changed == 1 and S03_DEAL in report.decisions.opportunities
    assert used["composite"] == 1 and used["query"] == 1  # the touched deals' primary rows
    server.org.delete("OpportunityPartner", row)
    report, _ = run(cycle, server)
    assert report.snapshot.opportunities[S03_DEAL].partner_id is None
