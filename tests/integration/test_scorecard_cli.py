"""`syncd scorecard` on the demo org's state: every format, zero API calls, clear errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncd.cli.main import app
from syncd.sandbox import SandboxServer
from syncd.service.runtime import Runtime
from syncd.sync.report import CycleReport

pytestmark = pytest.mark.integration


def scorecard(runtime: Runtime, *args: str) -> tuple[int, str, str]:
    env = {"SYNCD_STATE_DIR": str(runtime.settings.state_dir), "SYNCD_LOG_FORMAT": "json"}
    result = CliRunner().invoke(app, ["scorecard", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_every_format_from_the_state_alone(
    server: SandboxServer, run_cycle: Callable[..., CycleReport], runtime: Runtime, tmp_path: Path
) -> None:
    run_cycle()
    server.reset_calls()
    code, out, _ = scorecard(runtime, "--by", "rep", "--period", "rolling-90d", "--format", "json")
    assert code == 0
    found = json.loads(out)
    assert found["dimension"] == "rep" and found["period"] == "rolling-90d"
    names = [c["subject"] for c in found["cards"]]
    assert "Bob Chen" in names and [c["rank"] for c in found["cards"]] == list(
        range(1, len(names) + 1)
    )
    assert found["total"]["violations_by_code"]["PARTNER_DISPLACED"]["open"] >= 1
    code, out, _ = scorecard(runtime, "--by", "partner", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert (
        code == 0
        and rows[-1]["subject"] == "All"
        and "Northwind Solutions" in {r["subject"] for r in rows}
    )
    code, out, _ = scorecard(runtime, "--by", "region")
    assert code == 0 and "Scorecard by region" in out and "NA" in out
    page = tmp_path / "q.html"
    code, out, _ = scorecard(runtime, "--by", "manager", "--format", "html", "--output", str(page))
    assert code == 0 and page.stat().st_size > 500_000 and "Victoria Hale" in page.read_text()
    assert server.api_calls() == 0


def test_a_bad_period_or_no_state_is_a_configuration_error(
    run_cycle: Callable[..., CycleReport], runtime: Runtime, tmp_path: Path
) -> None:
    run_cycle()
    code, _, err = scorecard(runtime, "--period", "2026-13")
    assert code == 2 and "month 13 does not exist" in err
    future = f"{datetime.now(UTC).year + 1}-01"
    code, _, err = scorecard(runtime, "--period", future)
    assert code == 2 and "has not begun" in err
    empty = CliRunner().invoke(app, ["scorecard"], env={"SYNCD_STATE_DIR": str(tmp_path / "none")})
    assert empty.exit_code == 2 and "no state database" in empty.stderr
