"""The HTML reports open offline in headless Chromium and draw every chart, with no error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request

from syncd.cli.html_report import scorecard_html, simulate_html
from syncd.engine.period import parse_period
from syncd.engine.policy import RegistrationRules, load_policy
from syncd.sync.insight import build_report
from syncd.sync.mapping import load_mapping
from syncd.sync.orgstate import OrgState
from syncd.sync.simulate import simulate
from tests.unit.test_scorecard import LEDGER, NOW, RULES, world

MAPPING = RULES.parents[1] / "mappings" / "default.yaml"

MARKS = "g[class*='mark-'] path, g[class*='mark-'] line"  # vega's drawn marks


@dataclass
class Opened:
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_report(browser: BrowserContext, path: Path) -> Opened:
    page = browser.new_page()
    opened = Opened(page)

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            opened.errors.append(f"{message.type}: {message.text}")

    def request(req: Request) -> None:
        opened.requests.append(req.url)

    page.on("console", console)
    page.on("pageerror", lambda exc: opened.errors.append(f"pageerror: {exc}"))
    page.on("request", request)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-charts='drawn'], body[data-charts='failed']", timeout=20000)
    return opened


def drawn(page: Page, chart_id: str) -> tuple[float, float, int]:
    """(width, height, marks) of the SVG vega-embed drew in ``#chart_id``."""
    svg = page.locator(f"#{chart_id} svg.marks")
    box = svg.bounding_box()
    assert box is not None, f"{chart_id}: no SVG"
    marks = svg.locator(MARKS).count()
    return box["width"], box["height"], marks


def test_the_scorecard_draws_its_three_charts_offline(
    browser: BrowserContext, tmp_path: Path
) -> None:
    report = build_report(world(), LEDGER, load_policy(RULES), parse_period("2026-11", NOW), NOW)
    path = tmp_path / "scorecard.html"
    path.write_text(scorecard_html(report, "partner"), encoding="utf-8")
    opened = open_report(browser, path)
    page = opened.page
    assert page.get_attribute("body", "data-charts") == "drawn"
    assert page.get_attribute("body", "data-chart-count") == "3"
    for chart in ("violations-over-time", "compliance-by-region", "top-partners-displaced"):
        width, height, marks = drawn(page, chart)
        assert width > 100 and height > 50 and marks > 0, (chart, width, height, marks)
    # the ranking names the partners; the page asked for nothing but itself
    assert page.locator("tbody tr").first.inner_text().startswith("1\tContoso Partners")
    assert opened.requests == [path.as_uri()]
    assert opened.errors == []
    page.close()


def test_the_what_if_report_draws_its_charts_offline(
    browser: BrowserContext, tmp_path: Path
) -> None:
    policy = load_policy(RULES)
    regions = policy.regions.model_copy(
        update={"enforcement": {**policy.regions.enforcement, "APAC": date(2026, 10, 1)}}
    )
    candidate = policy.model_copy(
        update={
            "version": "candidate",
            "registration": RegistrationRules(valid_days=5),  # deal 4's registration expires
            "regions": regions,  # APAC enforced: deal 6 is no longer Advisory
        }
    )
    mapping = load_mapping(MAPPING)
    sim = simulate(OrgState(world(), {}), LEDGER, mapping, policy, candidate, NOW)
    assert sim.whatif.levels == {1: 2} and sim.whatif.disappear
    path = tmp_path / "simulate.html"
    path.write_text(simulate_html(sim), encoding="utf-8")
    opened = open_report(browser, path)
    page = opened.page
    assert page.get_attribute("body", "data-charts") == "drawn"
    assert page.get_attribute("body", "data-chart-count") == "3"
    for chart in ("violations-by-code", "status-changes", "tasks-by-level"):
        width, height, marks = drawn(page, chart)
        assert width > 100 and height > 30 and marks > 0, (chart, width, height, marks)
    assert "Deal 6" in page.locator("table").inner_text()  # records by name
    assert opened.requests == [path.as_uri()] and opened.errors == []
    page.close()
