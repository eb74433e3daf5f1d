"""A full cycle on the demo org over HTTPS: flags in the org, call counts, idempotence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import certifi
import pytest

from syncd.cycle import CycleReport
from syncd.errors import ApiLimitExceeded
from syncd.runtime import Runtime
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import demo_dataset, demo_landmarks

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
    pages = sum(-(-n // 2000) or 1 for n in report.read.values())
    assert server.calls["query"] + server.calls.get("query_more", 0) == pages
    written = len(report.plan.accounts), len(report.plan.opportunities)
    assert server.calls["collections_update"] == sum(-(-n // 200) for n in written)
    task_calls = -(-report.tasks_opened // 200)  # one upsert per 200 new violation Tasks
    assert report.tasks_opened > 0 and server.calls["collections_upsert"] == task_calls
    assert server.api_calls() == pages + server.calls["collections_update"] + task_calls
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
    server.faults.fail_next(503, "SERVER_UNAVAILABLE", times=2, kind="query")
    report = run_cycle()
    assert report.outcome == "success"
    assert server.calls["query"] == 3 + 2  # three objects, two refused attempts


def test_request_limit_exceeded_stops_cleanly(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    server.faults.fail_next(403, "REQUEST_LIMIT_EXCEEDED", times=1, kind="query")
    with pytest.raises(ApiLimitExceeded):
        run_cycle()
    assert server.calls["query"] == 1, "no tight retry loop"
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
