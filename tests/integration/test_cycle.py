"""A full cycle on the demo org over HTTPS: flags in the org, call counts, idempotence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import certifi
import pytest

from syncd.errors import ApiLimitExceeded, FatalSyncError
from syncd.salesforce.bounds import cycle_bound
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import demo_dataset, demo_landmarks
from syncd.sandbox.org import ORG_ID
from syncd.service.runtime import Runtime
from syncd.sync.cycle import Cycle, CycleOptions, CycleReport

pytestmark = pytest.mark.integration

RunCycle = Callable[..., CycleReport]
WRITE_KINDS = ("collections_update", "collections_create", "sobject_update", "sobject_create")


def writes(server: SandboxServer) -> int:
    return sum(server.calls.get(kind, 0) for kind in WRITE_KINDS)


def test_full_cycle_sets_expected_flags_on_landmarks(
    server: SandboxServer, run_cycle: RunCycle, today: datetime
) -> None:
    report = run_cycle()
    assert report.outcome == "success", report.failures
    landmarks = demo_landmarks(demo_dataset(today.date()))
    assert len(landmarks) >= 10
    wrong = {}
    for name, mark in landmarks.items():
        record = server.org.get(mark.sobject, mark.id)
        actual = {field: record.get(field) for field in mark.expected}
        if actual != dict(mark.expected):
            wrong[name] = (actual, dict(mark.expected))
    assert not wrong, wrong


def test_call_counts_are_at_the_lower_bound(server: SandboxServer, run_cycle: RunCycle) -> None:
    server.reset_calls()
    report = run_cycle()
    # every object's rows and the violation Tasks a new store adopts: one composite call
    assert all(n <= 2000 for n in report.read.values())
    assert server.calls["composite"] == 1 and "query" not in server.calls
    written = len(report.plan.accounts), len(report.plan.opportunities)
    assert server.calls["collections_update"] == sum(-(-n // 200) for n in written)
    task_calls = -(-report.tasks_opened // 200)  # one upsert per 200 new violation Tasks
    assert report.tasks_opened > 0 and server.calls["collections_upsert"] == task_calls
    bound = cycle_bound(report.read, [*written, report.tasks_opened])
    assert server.api_calls() == 1 + server.calls["collections_update"] + task_calls == bound
    assert report.api_calls == server.api_calls()


def test_second_cycle_writes_nothing(server: SandboxServer, run_cycle: RunCycle) -> None:
    first = run_cycle()
    assert first.written > 0
    server.reset_calls()
    second = run_cycle()
    assert second.plan.total == 0 and second.written == 0
    assert writes(server) == 0
    assert second.outcome == "success"


def test_dry_run_leaves_the_org_untouched(server: SandboxServer, run_cycle: RunCycle) -> None:
    before = {o: server.org.records(o) for o in ("Account", "Opportunity")}
    report = run_cycle(dry_run=True)
    assert report.outcome == "dry-run" and report.plan.total > 0
    assert writes(server) == 0
    assert {o: server.org.records(o) for o in ("Account", "Opportunity")} == before


def test_per_record_failure_is_reported_and_retried_next_cycle(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    dry = run_cycle(dry_run=True)
    victim = dry.plan.opportunities[0].record_id
    server.faults.fail_records([victim], "UNABLE_TO_LOCK_ROW", times=1)
    report = run_cycle()
    assert report.outcome == "partial"
    assert [(f.record_id, f.code) for f in report.failures] == [(victim, "UNABLE_TO_LOCK_ROW")]
    assert report.written == dry.plan.total - 1
    assert runtime.store.recent_runs(1)[0].write_failures == 1

    retry = run_cycle()
    assert [w.record_id for w in retry.plan.opportunities] == [victim]
    assert retry.outcome == "success" and retry.written == 1


def test_server_unavailable_is_retried(server: SandboxServer, run_cycle: RunCycle) -> None:
    server.faults.fail_next(503, "SERVER_UNAVAILABLE", times=2, kind="composite")
    report = run_cycle()
    assert report.outcome == "success"
    # the first pages of three objects and of the Tasks, once answered, twice refused
    assert server.calls["composite"] == 1 + 2


def test_request_limit_exceeded_stops_cleanly(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    server.faults.fail_next(403, "REQUEST_LIMIT_EXCEEDED", times=1, kind="composite")
    with pytest.raises(ApiLimitExceeded):
        run_cycle()
    assert server.calls["composite"] == 1 and "query" not in server.calls, "no tight retry loop"
    assert writes(server) == 0
    (run,) = runtime.store.recent_runs(1)
    assert run.outcome == "failed" and "REQUEST_LIMIT_EXCEEDED" in (run.error or "")
    assert runtime.store.watermarks() == {}


def test_expired_session_reauthenticates_once(server: SandboxServer, run_cycle: RunCycle) -> None:
    run_cycle(dry_run=True)
    tokens = server.calls["token"]
    server.faults.expire_sessions()
    report = run_cycle()
    assert report.outcome == "success"
    assert server.calls["token"] == tokens + 1


def test_ca_bundle_setting_wins_over_requests_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, run_cycle: RunCycle, tmp_path: Path
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    assert run_cycle(dry_run=True).outcome == "dry-run"


def test_watermarks_recorded_after_successful_cycle(run_cycle: RunCycle, runtime: Runtime) -> None:
    run_cycle()
    marks = runtime.store.watermarks()
    assert set(marks) >= {"Account", "Opportunity", "User"}


def test_budget_guard_reads_but_skips_writes_below_the_reserve(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    server.consume_api(85_000)  # other integrations used 85 % of the 100,000 allowance
    server.reset_calls()
    held = run_cycle()
    assert held.outcome == "budget-hold" and held.ok
    assert held.plan.total > 0 and held.written == 0 and held.tasks_opened == 0
    assert writes(server) == 0 and server.calls.get("collections_upsert", 0) == 0
    assert runtime.store.watermarks() == {}  # nothing committed: the next cycle redoes it
    (run,) = runtime.store.recent_runs(1)
    assert run.budget_hold is True and run.api_used and run.api_max == 100_000

    runtime_reserve = Cycle(
        runtime.client,
        runtime.store,
        runtime.mapping,
        runtime.policy,
        options=CycleOptions(api_reserve_percent=10),
    )
    resumed = runtime_reserve.run()  # 15 % left is above a 10 % reserve: writes resume
    assert resumed.outcome == "success" and resumed.written == held.plan.total


def test_explain_offline_and_online_agree_and_name_the_fields(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    from syncd.cli.explain_view import as_json
    from syncd.engine.explain import explain
    from syncd.sync.orgstate import OrgState
    from syncd.sync.related import read_related

    report = run_cycle()
    deal = next(
        opp_id
        for opp_id, d in sorted(report.decisions.opportunities.items())
        if d.remedy  # the story deal: closed won, registered partner displaced
    )
    now = report.finished_at
    server.reset_calls()
    online = explain(read_related(runtime.client, runtime.mapping, deal), runtime.policy, now, deal)
    assert 0 < server.api_calls() <= 6  # a handful of targeted queries, not a full pull
    offline_snapshot = OrgState.from_store(runtime.store, runtime.mapping).snapshot
    offline = explain(offline_snapshot, runtime.policy, now, deal)
    assert online is not None and offline is not None
    assert online.decision == offline.decision
    assert online.decision.remedy == report.decisions.opportunities[deal].remedy
    doc = as_json(online, runtime.mapping)
    fields = {f["name"]: f["salesforce_field"] for f in doc["facts"]}
    assert fields["opportunity.partner_id"] == "Opportunity.RoE_Partner__c"
    assert any(r["rule"] == "deal_registration" and r["applied"] for r in doc["rules"])


def test_one_clock_per_cycle_a_cycle_at_23_59_58_still_redecides_after_midnight(
    server: SandboxServer, runtime: Runtime, today: datetime
) -> None:
    ids = demo_dataset(today.date())
    deal = ids.id("opp.registered_dropped")  # Northwind's registration protects it today
    day = today.date()
    last_valid = (day - timedelta(days=90)).isoformat()  # valid through today, not tomorrow
    server.org.update("Opportunity", deal, {"RoE_Registration_Approved_Date__c": last_valid})
    ticks = iter(
        datetime(day.year, day.month, day.day, 23, 59, 58, tzinfo=UTC) + timedelta(seconds=2 * n)
        for n in range(1000)
    )  # time moves on every read
    cycle = Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy,
                  clock=lambda: next(ticks))  # fmt: skip
    before = cycle.run()
    assert runtime.store.cycle_state().evaluated_on == day  # the day it decided on
    assert {v.code for v in before.decisions.opportunities[deal].violations} == {
        "PARTNER_DISPLACED"
    }
    after = cycle.run()  # the next tick is past midnight: a new day re-decides everything
    assert after.mode == "incremental" and after.evaluated == before.evaluated
    decision = after.decisions.opportunities[deal]
    assert {v.code for v in decision.violations} == {"DIRECT_ON_PARTNER_ACCOUNT"}
    assert "DEAL_REG_EXPIRED" in decision.reasons
    assert server.org.get("Opportunity", deal)["RoE_Protected_Partner__c"] is None


def test_a_store_bound_to_another_org_refuses_before_reading(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    run_cycle()
    assert runtime.store.cycle_state().org_id == ORG_ID
    runtime.store.bind_org("00D000000000999AAA")
    server.reset_calls()
    with pytest.raises(FatalSyncError, match="belongs to org 00D000000000999AAA"):
        run_cycle()
    assert server.api_calls() == 0


def test_a_rule_raising_on_one_deal_is_logged_with_its_id_and_the_deal_shows_review(
    server: SandboxServer, run_cycle: RunCycle, today: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structlog.testing import capture_logs

    from syncd.engine.rules import deal as deal_rules

    broken = demo_dataset(today.date()).id("opp.registered_dropped")
    real = deal_rules.custom_rules

    def failing(ctx: object, d: deal_rules.Deal) -> None:
        if d.opp.id == broken:
            raise KeyError("a bug in a rule")
        real(ctx, d)  # type: ignore[arg-type]

    checks = tuple(failing if c is real else c for c in deal_rules.CHECKS)
    monkeypatch.setattr(deal_rules, "CHECKS", checks)
    with capture_logs() as logs:
        report = run_cycle()
    assert report.outcome == "success"
    failed = [e for e in logs if e["event"] == "engine.record_failed"]
    assert failed == [
        {
            "event": "engine.record_failed",
            "record_id": broken,
            "error": "KeyError: 'a bug in a rule'",
            "log_level": "error",
        }
    ]
    record = server.org.get("Opportunity", broken)
    assert record["RoE_Status__c"] == "Review"
    assert record["RoE_Reason__c"].startswith("DATA_DEFECT")
