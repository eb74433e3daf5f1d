"""Commands for setting up and trying syncd: ``check``, ``demo``, ``sandbox serve``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from syncd.cli.base import (
    ConfigOption,
    command,
    console,
    progress_bar,
    sandbox_app,
    setup_collecting,
)
from syncd.logs import configure_logging


@command()
def check(config: ConfigOption = None) -> None:
    """Check settings, mapping, rules, the store and the org's fields; list every problem."""
    from syncd.cli.check import CheckReport, check_files, check_org, check_store
    from syncd.errors import SyncdError
    from syncd.salesforce import OrgClient

    report = CheckReport()
    try:
        settings, earlier = setup_collecting(config)
    except SyncdError as exc:  # settings too broken to check anything else with
        report.problems.append(str(exc))
    else:
        failed = earlier.failed if earlier is not None else frozenset()
        if earlier is not None:
            report.problems.append(str(earlier))
        files = check_files(settings, report, skip=failed)
        check_store(settings, report, skip=failed)
        if settings.salesforce is None:
            if "salesforce" not in failed:
                try:
                    settings.require_salesforce()
                except SyncdError as exc:
                    report.problems.append(str(exc))
        elif files.mapping is not None:
            check_org(OrgClient(settings.salesforce), files.mapping, report, files.policy)
    for note in report.notes:
        console.print(f"[green]ok[/green]  {note}", highlight=False)
    for problem in report.problems:
        console.print(f"[red]problem[/red]  {problem}", highlight=False)
    if not report.ok:
        console.print(f"{len(report.problems)} problem(s) found.")
        raise typer.Exit(1)
    console.print("Everything syncd needs is in place.")


@command()
def demo(
    state_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its state database and TLS files.")
    ] = Path(".syncd-demo"),
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="Also send the cycle's notifications to a local webhook receiver and show them.",
        ),
    ] = False,
) -> None:
    """Start the seeded sandbox org over HTTPS, run one full cycle, print what happened."""
    from syncd.cli.demo import run_demo

    configure_logging("json", "warning")
    with progress_bar() as bar:
        report = run_demo(console, state_dir, progress=bar, notify=notify)
    if not report.ok:
        raise typer.Exit(1)


@command(sandbox_app, name="serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8443,
    cert_dir: Annotated[
        Path, typer.Option(help="Where the local CA and server certificate are kept.")
    ] = Path(".syncd-sandbox"),
    empty: Annotated[bool, typer.Option("--empty", help="Start with no records.")] = False,
    synthetic: Annotated[
        int | None,
        typer.Option(min=0, help="Load a synthetic org of this many deals instead of the demo."),
    ] = None,
    latency: Annotated[
        float, typer.Option(min=0, help="Delay every call by this many milliseconds.")
    ] = 0.0,
) -> None:
    """Serve the sandbox org (the demo dataset by default) until Ctrl-C; print how to
    connect syncd to it."""
    from syncd.cli.sandbox_serve import load_org, print_access
    from syncd.sandbox import run_forever

    configure_logging("auto", "info")
    org = load_org(empty=empty, synthetic=synthetic, today=datetime.now(UTC).date())
    run_forever(
        org,
        host=host,
        port=port,
        cert_dir=cert_dir,
        latency=latency / 1000,
        announce=print_access,
    )
