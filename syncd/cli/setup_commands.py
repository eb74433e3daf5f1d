"""Commands for setting up and trying syncd: ``check``, ``demo``, ``sandbox serve``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from syncd.cli.base import ConfigOption, command, console, progress_bar, sandbox_app, setup
from syncd.logs import configure_logging


@command()
def check(config: ConfigOption = None) -> None:
    """Check settings, mapping, rules and the org's fields; list every problem found."""
    from syncd.cli.check import CheckReport, check_files, check_org
    from syncd.errors import SyncdError
    from syncd.salesforce import OrgClient

    report = CheckReport()
    settings = setup(config)
    mapping = check_files(settings, report)
    if settings.salesforce is None:
        try:
            settings.require_salesforce()
        except SyncdError as exc:
            report.problems.append(str(exc))
    elif mapping is not None:
        check_org(OrgClient(settings.salesforce), mapping, report)
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
) -> None:
    """Serve the sandbox org (seeded with the demo dataset) until Ctrl-C."""
    from syncd.sandbox import SandboxOrg, run_forever
    from syncd.sandbox.dataset import demo_dataset

    configure_logging("auto", "info")
    org = SandboxOrg()
    if not empty:
        org.load(demo_dataset(datetime.now(UTC).date()))
    run_forever(org, host=host, port=port, cert_dir=cert_dir)
