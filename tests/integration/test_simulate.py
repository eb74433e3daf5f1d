"""`syncd simulate` on the demo org over HTTPS: exactly what a cycle under the candidate then does.

The candidate: registrations valid 20 days instead of 90 (the story deal's registration
expires), a referral fee of 15 %, and named accounts from a CSV as well, naming Soylent
Foods (where Bob Chen works a partner-led account with no partner).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncd.cli.main import app
from syncd.engine.policy import Policy
from syncd.errors import ConfigError
from syncd.sandbox import SandboxServer
from syncd.sandbox.dataset import demo_dataset
from syncd.service.runtime import Runtime
from syncd.sync.cycle import Cycle, CycleReport
from syncd.sync.insight import mirrored_state
from syncd.sync.mapping import FieldMapping
from syncd.sync.plan import Plan
from syncd.sync.simulate import Simulation, load_candidate, simulate

pytestmark = pytest.mark.integration
RunCycle = Callable[..., CycleReport]
RULES = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"


def candidate_files(tmp_path: Path, today: datetime) -> tuple[Path, Path]:
    text = RULES.read_text()
    for old, new in (('version: "2026.11-1"', 'version: "2026.12-rc1"'),
                     ("  valid_days: 90", "  valid_days: 20"),
                     ("  source: field", "  source: both"),
                     ("  referral_fee_percent: 10", "  referral_fee_percent: 15")):  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    rules = tmp_path / "candidate.yaml"
    rules.write_text(text)
    named = tmp_path / "named.csv"
    named.write_text(f"account_id\n{demo_dataset(today.date()).id('c.soylent')}\n")
    return rules, named


def planned_fields(plan: Plan, mapping: FieldMapping) -> set[tuple[str, str]]:
    """(record, field in simulate's words) of every field a cycle's plan writes."""
    a, o = mapping.account.write, mapping.opportunity.write
    words = {a.lead: "lead", a.lead_partner_id: "lead partner", a.reason: "reason",
             o.expected_lead: "lead", o.protected_partner_id: "protected partner",
             o.status: "status", o.reason: "reason", o.comp_eligible: "comp eligible",
             o.remedy: "remedy"}  # fmt: skip
    return {
        (w.record_id, words[f]) for w in (*plan.accounts, *plan.opportunities) for f in w.values
    }


def simulated_fields(sim: Simulation) -> set[tuple[str, str]]:
    changes = (*sim.whatif.accounts, *sim.whatif.deals)
    return {(c.record_id, field) for c in changes for field in c.changes}


def run_simulation(runtime: Runtime, candidate: Policy) -> Simulation:
    state = mirrored_state(runtime.store, runtime.mapping)
    ledger = runtime.store.ledger()
    now = datetime.now(UTC)
    return simulate(state, ledger, runtime.mapping, runtime.policy, candidate, now)


def test_simulate_reports_exactly_the_changes_the_cycle_under_the_candidate_makes(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime, tmp_path: Path
) -> None:
    ids = demo_dataset(today.date())
    run_cycle()  # the org as today's rules leave it
    candidate = load_candidate(*candidate_files(tmp_path, today))
    server.reset_calls()
    sim = run_simulation(runtime, candidate)
    assert server.api_calls() == 0  # the mirror and the ledger only
    w = sim.whatif
    changes = (*w.accounts, *w.deals)
    # Beyond their reasons; the other registered deals change only their reason, whose
    # words name the registration's "valid through" date (20 days under the candidate).
    names = {c.name for c in changes if set(c.changes) - {"reason"}}
    assert names == {
        "Soylent Foods",
        "Soylent — Analytics Add-on",
        "Wayne Enterprises — Batcave DC",
    }
    reworded = {c.name: c.changes["reason"] for c in changes if set(c.changes) == {"reason"}}
    assert "Aperture Science — Cloud Migration" in reworded  # its registration expires
    assert all("regist" in before + after for before, after in reworded.values()), reworded
    assert (sim.writes, sim.drift) == (len(changes), 0)

    real = Cycle(runtime.client, runtime.store, runtime.mapping, candidate).run()
    assert real.outcome == "success"
    # the same records, field by field; the same Tasks opened and closed, at the same level
    assert planned_fields(real.plan, runtime.mapping) == simulated_fields(sim)
    assert real.plan.total == sim.writes == real.written
    assert (real.tasks_opened, real.tasks_closed) == (len(w.tasks_opened), len(w.tasks_closed))
    assert (real.tasks_opened, real.tasks_closed) == (1, 2)
    ledger = {e.key: e for e in runtime.store.ledger()}
    for opened in w.tasks_opened:
        kept = ledger[opened.key]
        assert (kept.level, kept.owner_id, kept.task_id is not None) == (
            opened.level,
            opened.owner_id,
            True,
        )
    assert {c.entry.key for c in w.tasks_closed} == {
        k for k, e in ledger.items() if e.resolved_at is not None
    }
    # compensation and remedies as the org now holds them
    soylent_deal = ids.id("opp.direct_on_partner")
    assert w.released == (soylent_deal,) and w.withheld == ()
    assert server.org.get("Opportunity", soylent_deal)["RoE_Comp_Eligible__c"] is True
    assert w.remedies_today.amount == 48000 and w.remedies_candidate.deals == 0
    assert server.org.get("Opportunity", ids.id("opp.story_displaced"))["RoE_Remedy__c"] is None
    assert w.appear_by["rep"] == {"Sven Larsen": 1} and w.disappear_by["code"] == {
        "DIRECT_ON_PARTNER_ACCOUNT": 1, "PARTNER_DISPLACED": 1}  # fmt: skip
    # Simulated again once the candidate ran: it would write nothing more, while the old
    # rules (still the configured ones here) would now rewrite those records: drift.
    again = run_simulation(runtime, candidate)
    assert (again.writes, again.drift, again.whatif.records) == (0, len(changes), len(changes))


def test_the_command_needs_no_org_and_prints_json(
    server: SandboxServer, run_cycle: RunCycle, runtime: Runtime, today: datetime, tmp_path: Path
) -> None:
    run_cycle()
    rules, named = candidate_files(tmp_path, today)
    server.reset_calls()
    state_dir = runtime.settings.state_dir
    result = CliRunner().invoke(
        app,
        ["simulate", "--rules", str(rules), "--named-accounts", str(named), "--format", "json"],
        env={"SYNCD_STATE_DIR": str(state_dir), "SYNCD_LOG_FORMAT": "json"},
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    # Soylent Foods and three deals beyond their reasons, 13 more registered deals reworded
    # (their "valid through" dates under a 20-day validity)
    assert found["records_changing"] == {"accounts": 1, "deals": 16}
    assert found["tasks_open"] == {"total": 1, "by_level": {"2 compensation review": 1}}
    assert found["tasks_close"] == 2 and found["api_calls"] == 0 and server.api_calls() == 0
    assert found["compensation"]["released_deals"] == 1
    assert {r["name"] for r in found["records"]} >= {"Soylent Foods"}


def test_a_named_accounts_csv_needs_a_candidate_that_reads_one(tmp_path: Path) -> None:
    named = tmp_path / "named.csv"
    named.write_text("account_id\n0015g0000000020AAA\n")
    with pytest.raises(ConfigError, match=r"named_accounts\.source 'csv' or 'both'"):
        load_candidate(RULES, named)
