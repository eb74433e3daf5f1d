"""`syncd scorecard`: per rep, manager, partner or region, from the last cycle's state.

Reading a scorecard costs no API call (the mirror, the ledger and the rules file);
``--publish`` upserts every dimension's rows for this month and rolling-90d into
RoE_Scorecard__c, once a day (see ``syncd.service.publish``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.base import ConfigOption, command, console, setup

if TYPE_CHECKING:
    from syncd.sync.insight import ScorecardReport


class Dimension(StrEnum):
    rep = "rep"
    manager = "manager"
    partner = "partner"
    region = "region"


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="2026-11 (a month), 2026-Q4 (a quarter) or rolling-90d; default: this month.",
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write to this file (html: default syncd-scorecard-*.html)."
    ),
]


@command()
def scorecard(
    config: ConfigOption = None,
    by: Annotated[Dimension, typer.Option("--by", help="rep, manager, partner or region.")] = (
        Dimension.rep
    ),
    period: PeriodOption = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="table, csv, json or html.")
    ] = ReportFormat.table,
    output: OutputOption = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="Upsert this month's and rolling-90d rows of every dimension into "
            "RoE_Scorecard__c (once a day; for cron when no daemon runs). --by, --period "
            "and --format do not apply.",
        ),
    ] = False,
) -> None:
    """Scorecards: deals under the rules, compliance, violations, holds, remedies, pipeline."""
    if publish:
        _publish(config)
        return
    from syncd.engine.period import InvalidPeriod, parse_period
    from syncd.service.runtime import open_files
    from syncd.sync.insight import build_report, mirrored_state

    now = datetime.now(UTC)
    try:
        chosen = parse_period(period or f"{now:%Y-%m}", now)
    except InvalidPeriod as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from None
    files = open_files(setup(config), existing_store=True)
    try:
        state = mirrored_state(files.store, files.mapping)
        ledger = files.store.ledger()
    finally:
        files.store.close()
    report = build_report(state.snapshot, ledger, files.policy, chosen, now)
    _emit(report, by.value, output_format.value, output)


def _emit(report: ScorecardReport, dimension: str, fmt: str, output: Path | None) -> None:
    from rich.console import Console

    from syncd.cli import scorecard_view
    from syncd.cli.html_report import scorecard_html

    if fmt == "html":
        path = output or Path(f"syncd-scorecard-{dimension}-{report.period.label}.html")
        path.write_text(scorecard_html(report, dimension), encoding="utf-8")
        console.print(f"Wrote {path} ({path.stat().st_size:,} bytes; opens offline).")
        return
    if output is None:
        scorecard_view.render(scorecard_view.unwrapped(console), report, dimension, fmt)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        scorecard_view.render(Console(file=handle, width=200), report, dimension, fmt)
    console.print(f"Wrote {output}.")


def _publish(config: Path | None) -> None:
    from syncd.service.publish import Publisher
    from syncd.service.runtime import open_runtime
    from syncd.sync.insight import mirrored_state

    runtime = open_runtime(setup(config))
    try:
        publisher = Publisher.from_runtime(runtime)
        outcome = publisher.publish_if_due(
            lambda: mirrored_state(runtime.store, runtime.mapping), datetime.now(UTC)
        )
    finally:
        runtime.close()
    console.print(outcome.summary())
    if not outcome.ok:
        raise typer.Exit(1)
