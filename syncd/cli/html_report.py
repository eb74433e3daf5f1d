"""Self-contained HTML reports: Jinja2 templates, Vega-Lite charts and the vega-embed bundle inline.

One file, no external asset (no CDN, no font, no image link), so it opens offline, from
an email attachment or a file share. The page marks ``<body data-charts="drawn">`` once
vega-embed has drawn every chart (``"failed"`` and a console error otherwise): that is
what the headless-browser test waits for.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from syncd.cli import charts
from syncd.engine.scorecard import DEFINITIONS, LEADS, Card
from syncd.sync.insight import ScorecardReport
from syncd.sync.simulate import Simulation

SCORECARD_CHARTS = (
    ("violations-over-time", "Violations over time"),
    ("compliance-by-region", "Compliance by region"),
    ("top-partners-displaced", "Top partners displaced"),
)


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("syncd.cli", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(money=money, pct=pct, rate=rate, days=days, leads=LEADS)
    return env


@functools.cache
def vega_bundle() -> str:
    """vega-embed, Vega and Vega-Lite in one script (vl-convert builds it; cached per process)."""
    import vl_convert

    # The stub marks the snippet required; the function defaults it (the global bundle).
    return str(vl_convert.javascript_bundle())  # type: ignore[call-arg]


def render(template: str, charts_by_id: Mapping[str, Any], **context: Any) -> str:
    page = _environment().get_template(template)
    return page.render(
        charts={k: v for k, v in charts_by_id.items() if v is not None},
        bundle=vega_bundle(),
        version=version("syncd"),
        **context,
    )


def scorecard_html(report: ScorecardReport, dimension: str) -> str:
    period = report.period
    specs = {
        "violations-over-time": charts.violations_over_time(report.timeline, period.days > 62),
        "compliance-by-region": charts.compliance_by_region(report.by["region"].cards),
        "top-partners-displaced": charts.top_partners_displaced(report.by["partner"].cards),
    }
    scorecard = report.by[dimension]
    return render(
        "scorecard.html.j2",
        specs,
        title=f"RoE scorecard by {dimension}, {period.label}",
        dimension=dimension,
        period=period,
        policy_version=report.policy_version,
        cards=scorecard.cards,
        total=scorecard.total,
        chart_titles=SCORECARD_CHARTS,
        definitions=DEFINITIONS,
        generated_at=_stamp(report.generated_at),
    )


SIMULATE_CHARTS = (
    ("violations-by-code", "Violations that appear or disappear, by code"),
    ("status-changes", "Deal status changes"),
    ("tasks-by-level", "Tasks that would open, by escalation level"),
)
HTML_RECORDS = 2000  # records listed in the page; --format json has them all


def simulate_html(sim: Simulation) -> str:
    from syncd.cli.simulate_view import level_name, lines, summary, transitions

    found = summary(sim)
    codes = [
        {"code": code, "change": change, "violations": n}
        for change, key in (("appear", "violations_appear"), ("disappear", "violations_disappear"))
        for code, n in found[key]["by_code"].items()
    ]
    statuses = [
        {"change": k, "deals": n} for k, n in transitions(sim.whatif.deals, "status").items()
    ]
    levels = [{"level": level_name(k), "tasks": n} for k, n in sorted(sim.whatif.levels.items())]
    specs = {
        "violations-by-code": charts.bars(codes, "violations", "code", "Violations", "change"),
        "status-changes": charts.bars(statuses, "deals", "change", "Deal status changes"),
        "tasks-by-level": charts.bars(levels, "tasks", "level", "Tasks that would open"),
    }
    records = (*sim.whatif.accounts, *sim.whatif.deals)
    return render(
        "simulate.html.j2",
        specs,
        title=f"What if: rules {sim.candidate_version}",
        sim=sim,
        summary=found,
        lines=[_plain(line) for line in lines(sim)],
        records=records[:HTML_RECORDS],
        more=max(0, len(records) - HTML_RECORDS),
        chart_titles=SIMULATE_CHARTS,
        generated_at=_stamp(datetime.now(UTC)),
    )


def _plain(line: str) -> str:
    """A console line without its rich markup."""
    from rich.text import Text

    return Text.from_markup(line).plain


def money(value: Decimal | float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def rate(card: Card) -> float | None:
    return None if card.compliance_rate is None else 100 * card.compliance_rate


def pct(card: Card) -> str:
    value = rate(card)
    return "–" if value is None else f"{value:.1f} %"


def days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
