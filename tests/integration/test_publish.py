"""Scorecards published into RoE_Scorecard__c over HTTPS: once a day, at the write bound."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.salesforce import OrgClient
from syncd.sandbox import SandboxOrg, SandboxServer, serve_sandbox
from syncd.sandbox.dataset import demo_dataset, synthetic_dataset
from syncd.sandbox.dataset_synthetic import Mix
from syncd.service.daemon import Daemon
from syncd.service.publish import SCORECARD_OBJECT, Publisher, PublishOutcome
from syncd.service.runtime import Runtime, open_runtime
from syncd.settings import load_settings
from syncd.sync.cycle import Cycle, CycleReport
from syncd.sync.insight import mirrored_state
from tests.integration.conftest import NO_WAIT

pytestmark = pytest.mark.integration
RunCycle = Callable[..., CycleReport]


def publish(runtime: Runtime, now: datetime) -> PublishOutcome:
    publisher = Publisher.from_runtime(runtime)
    return publisher.publish_if_due(lambda: mirrored_state(runtime.store, runtime.mapping), now)


def scorecard_rows(server: SandboxServer) -> list[dict]:
    return server.org.records(SCORECARD_OBJECT)


def test_scorecards_are_upserted_once_a_day_with_the_exact_call_count(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime
) -> None:
    run_cycle()
    now = datetime.now(UTC)
    server.reset_calls()
    first = publish(runtime, now)
    rows = scorecard_rows(server)
    assert first.status == "published" and first.rows == len(rows) > 0 and first.failed == 0
    assert server.api_calls() == server.calls["collections_upsert"] == -(-len(rows) // 200) == 1
    assert first.api_calls == 1
    # Every dimension, this month and rolling-90d; lookups to the subject.
    ids = demo_dataset(today.date())
    by_key = {r["Key__c"]: r for r in rows}
    assert {r["Dimension__c"] for r in rows} == {"rep", "manager", "partner", "region"}
    assert {r["Period__c"] for r in rows} == {f"{now:%Y-%m}", "rolling-90d"}
    bob = by_key[f"rolling-90d|rep|{ids.id('user.bob')}"]
    assert (bob["User__c"], bob["Subject_Name__c"], bob["Account__c"]) == (
        ids.id("user.bob"), "Bob Chen", None)  # fmt: skip
    assert (
        bob["Deals__c"] > 0
        and bob["Violations_Open__c"] >= 1
        and bob["As_Of__c"] == str(now.date())
    )
    northwind = by_key[f"rolling-90d|partner|{ids.id('p.northwind')}"]
    assert northwind["Account__c"] == ids.id("p.northwind") and northwind["User__c"] is None
    assert northwind["Remedies_Owed_Amount__c"] == 48000.0  # the story deal's referral fee
    na = by_key["rolling-90d|region|NA"]
    assert na["Region__c"] == "NA" and 0 <= na["Compliance_Rate__c"] <= 100

    server.reset_calls()
    later = publish(runtime, now + timedelta(hours=3))
    assert later.status == "already" and server.api_calls() == 0  # never twice a day

    tomorrow = publish(runtime, now + timedelta(days=1))
    assert tomorrow.status == "published" and server.api_calls() == -(-tomorrow.rows // 200)
    keys = {r["Key__c"] for r in scorecard_rows(server)}
    assert len(keys) == len(scorecard_rows(server))  # upserted by Key__c, never duplicated


def test_below_the_api_reserve_nothing_is_published_until_it_recovers(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    run_cycle()
    server.consume_api(85_000)  # other integrations used 85 % of the allowance
    assert run_cycle().outcome == "budget-hold"  # the cycle saw it too
    server.reset_calls()
    now = datetime.now(UTC)
    held = publish(runtime, now)
    assert held.status == "budget-hold" and held.ok and server.api_calls() == 0
    assert runtime.store.last_publication() is None and scorecard_rows(server) == []
    assert "below the reserve" in held.summary()

    relaxed = Publisher.from_runtime(runtime)
    relaxed.reserve_percent = 10  # 15 % left is above a 10 % reserve
    state = mirrored_state(runtime.store, runtime.mapping)
    resumed = relaxed.publish_if_due(lambda: state, now)
    assert resumed.status == "published" and server.api_calls() == 1


def test_a_bigger_org_costs_the_write_bound_of_its_rows(cert_dir: Path, tmp_path: Path) -> None:
    today = datetime.now(UTC)
    org = SandboxOrg()
    org.load(synthetic_dataset(3000, seed=5, today=today.date(), mix=Mix(field_reps=240)))
    with serve_sandbox(org, cert_dir=cert_dir) as server:
        sf = server.salesforce_settings()
        settings = load_settings(salesforce=sf, state_dir=tmp_path / "state")
        runtime = open_runtime(settings, OrgClient(sf, retry=NO_WAIT))
        try:
            Cycle(runtime.client, runtime.store, runtime.mapping, runtime.policy).run()
            server.reset_calls()
            outcome = publish(runtime, today)
        finally:
            runtime.close()
        assert outcome.rows > 400 and outcome.failed == 0
        # more than 200 rows: Composite requests of five Collections, 1,000 rows a call
        assert server.calls["composite"] == -(-outcome.rows // 1000) == outcome.api_calls
        assert server.api_calls() == outcome.api_calls
        assert len(server.org.records(SCORECARD_OBJECT)) == outcome.rows


def test_the_daemon_publishes_once_from_its_hour_on(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime
) -> None:
    run_cycle()
    daemon = Daemon(runtime)
    day = datetime.now(UTC).replace(hour=0, minute=15, second=0, microsecond=0)
    server.reset_calls()
    daemon.publish(day.replace(hour=5))  # before scorecard_publish_hour (6)
    assert server.api_calls() == 0 and runtime.store.last_publication() is None
    daemon.publish(day.replace(hour=6))
    assert runtime.store.last_publication() == day.date() and server.api_calls() == 1
    daemon.publish(day.replace(hour=7))
    assert server.api_calls() == 1  # the hourly check found today's done
