"""`syncd simulate`: what a candidate rules file would change, before it is deployed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.base import ConfigOption, command, console, setup

if TYPE_CHECKING:
    from syncd.sync.simulate import Simulation


class SimulateFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


@command()
def simulate(
    rules: Annotated[
        Path, typer.Option("--rules", help="The candidate rules file (YAML).", exists=False)
    ],
    config: ConfigOption = None,
    named_accounts: Annotated[
        Path | None,
        typer.Option("--named-accounts", help="A candidate named-accounts CSV (account_id)."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", help="Decide as of this day (YYYY-MM-DD); default now.", formats=["%Y-%m-%d"]
        ),
    ] = None,
    output_format: Annotated[
        SimulateFormat, typer.Option("--format", help="table, json or html.")
    ] = SimulateFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead.")
    ] = None,
) -> None:
    """Evaluate a candidate rules file against the last cycle's mirror: zero API calls."""
    from syncd.service.runtime import open_files
    from syncd.sync.insight import mirrored_state
    from syncd.sync.simulate import load_candidate
    from syncd.sync.simulate import simulate as run_simulation

    files = open_files(setup(config), existing_store=True)
    try:
        candidate = load_candidate(rules, named_accounts)
        state = mirrored_state(files.store, files.mapping)
        ledger = files.store.ledger()
    finally:
        files.store.close()
    moment = _moment(as_of.date() if as_of else None)
    found = run_simulation(state, ledger, files.mapping, files.policy, candidate, moment)
    _emit(found, output_format.value, output)


def _moment(day: date | None) -> datetime:
    if day is None:
        return datetime.now(UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _emit(found: Simulation, fmt: str, output: Path | None) -> None:
    from rich.console import Console

    from syncd.cli import simulate_view
    from syncd.cli.html_report import simulate_html
    from syncd.cli.scorecard_view import unwrapped

    if fmt == "html":
        path = output or Path(f"syncd-simulate-{found.candidate_version}.html")
        path.write_text(simulate_html(found), encoding="utf-8")
        console.print(f"Wrote {path} ({path.stat().st_size:,} bytes; opens offline).")
        return
    if output is None:
        simulate_view.render(unwrapped(console), found, fmt)
        return
    with output.open("w", encoding="utf-8") as handle:
        simulate_view.render(Console(file=handle, width=200), found, fmt)
    console.print(f"Wrote {output}.")
