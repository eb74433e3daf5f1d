"""Words instead of Ids: `violations` names and filters, the cycle summary, the dry run.

One real cycle over HTTPS fills the store; the commands then read it in process (Typer's
runner), as a person or a script would, with names from the mirror next to the Ids.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import pytest
from rich.console import Console
from typer.testing import CliRunner

from syncd.cli import ledger_view, report
from syncd.cli.main import app
from syncd.sandbox import SandboxServer
from syncd.service.runtime import Runtime
from syncd.sync.report import CycleReport

from .test_cli import env_for

pytestmark = pytest.mark.integration


@pytest.fixture
def cycled(runtime: Runtime, run_cycle: Callable[..., CycleReport]) -> dict[str, str]:
    run_cycle()
    return {"SYNCD_STATE_DIR": str(runtime.settings.state_dir)}


def violations(env: dict[str, str], *args: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(app, ["violations", *args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_violations_name_the_deal_rep_partner_and_task_owner(cycled: dict[str, str]) -> None:
    rows = violations(cycled, "--code", "partner_displaced")
    story = next(r for r in rows if r["opportunity_name"] == "Wayne Enterprises — Batcave DC")
    assert (story["rep_name"], story["partner_name"]) == ("Sven Larsen", "Northwind Solutions")
    assert story["owner_name"] and story["account_name"] == "Wayne Enterprises"
    assert (story["amount"], story["region"]) == ("480000.0", "NA")
    assert {r["code"] for r in rows} == {"PARTNER_DISPLACED"}
    table = CliRunner().invoke(app, ["violations", "--open"], env=cycled).output
    assert "Wayne Enterprises — Batcave DC (0065g" in table and "480,000.00" in table
    assert "Sven Larsen" in table and "Northwind Solutions" in table
    assert max(len(line) for line in table.splitlines()) > 80  # piped: never wrapped at 80


def test_violations_filter_by_code_level_and_region(cycled: dict[str, str]) -> None:
    every = violations(cycled)
    assert violations(cycled, "--level", "0") == [r for r in every if r["kind"] == "review"]
    assert violations(cycled, "--level", "1") == [
        r for r in every if r["kind"] == "violation" and r["level"] == 1
    ]
    na = violations(cycled, "--region", "na")  # as the rules spell it, any case
    rest = violations(cycled, "--region", "default")
    assert na and rest and {r["region"] for r in na} == {"NA"}
    assert sorted(r["key"] for r in na + rest) == sorted(r["key"] for r in every)
    assert violations(cycled, "--code", "TELESALES_OUTBOUND", "--region", "APAC") == []
    wrong = CliRunner().invoke(app, ["violations", "--region", "Mars"], env=cycled)
    assert wrong.exit_code == 2 and "NA, APAC, default" in wrong.output


def test_a_long_listing_says_how_many_more_and_where_they_are(
    cycled: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_view, "LIST_LIMIT", 3)
    total = len(violations(cycled, "--open"))
    table = CliRunner().invoke(app, ["violations", "--open", "--level", "1"], env=cycled).output
    shown = len(violations(cycled, "--open", "--level", "1"))
    assert f"… and {shown - 3} more: syncd violations --open --level 1 --format csv" in table
    full = CliRunner().invoke(app, ["violations", "--open", "--format", "csv"], env=cycled)
    rows = list(csv.DictReader(io.StringIO(full.output)))
    assert len(rows) == total and rows[0]["opportunity_name"]  # the full output is whole


def test_the_cycle_summary_names_people_and_cuts_long_lists_short(
    runtime: Runtime, run_cycle: Callable[..., CycleReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle = run_cycle()
    monkeypatch.setattr(report, "LIST_LIMIT", 2)
    out = io.StringIO()
    report.print_summary(Console(file=out, width=200), cycle, state_location="here")
    text = out.getvalue()
    standing = sum(d.status.value == "Violation" for d in cycle.decisions.opportunities.values())
    assert f"… and {standing - 2} more: syncd violations --open --format csv" in text
    assert "account Massive Dynamic · rep Bob Chen · partner Northwind Solutions" in text
    assert "closes 20" in text  # dates as dates


def test_a_dry_run_lists_every_planned_write_by_name_for_programs(
    server: SandboxServer, tmp_path: object
) -> None:
    env = env_for(server, tmp_path / "state")  # type: ignore[operator]
    result = CliRunner().invoke(app, ["sync", "--dry-run", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)  # the plan alone: no summary around it (logs: stderr)
    story = {r["field"]: r for r in rows if r["record_name"] == "Wayne Enterprises — Batcave DC"}
    assert story["RoE_Status__c"]["would_be"] == "Violation"
    partner = story["RoE_Protected_Partner__c"]
    assert partner["would_be"].startswith("0015g") and partner["would_be_name"] == (
        "Northwind Solutions")  # fmt: skip
    table = CliRunner().invoke(app, ["sync", "--dry-run"], env=env).stdout
    assert re.search(r"Account +│ [A-Z][\w ]+ \(0015g\w{13}\)", table)  # records by name
    assert "more records: syncd sync --dry-run --format csv" in table
