"""Commands that run cycles: ``sync``, ``run`` (the service) and ``resync``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from syncd.cli.base import (
    ConfigOption,
    OutputFormat,
    command,
    console,
    progress_bar,
    setup,
    setup_collecting,
)


@command()
def sync(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the planned writes; write nothing.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Read the whole org, not just what changed since the last cycle."
        ),
    ] = False,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="With --dry-run: the planned writes as table, csv or json."),
    ] = OutputFormat.table,
) -> None:
    """Run one sync cycle against the configured org and print a summary."""
    from syncd.cli.report import print_plan, print_summary
    from syncd.service.runtime import open_runtime
    from syncd.store.lock import InstanceLock

    if output is not OutputFormat.table and not dry_run:
        raise typer.BadParameter("csv and json are for the planned writes of --dry-run")
    settings, problems = setup_collecting(config)
    runtime = open_runtime(settings, earlier=problems)
    delivered = None
    try:
        with InstanceLock(runtime.store, runtime.settings.state_dir).held():
            with progress_bar() as bar:
                report = runtime.cycle(progress=bar).run(dry_run=dry_run, full=full)
            if runtime.notifier is not None and not dry_run:  # after the commit, never in it
                delivered = runtime.notifier.deliver()
        if dry_run:
            print_plan(console, report.plan, report, output.value)
        if output is OutputFormat.table:  # csv and json are the plan alone, for programs
            print_summary(console, report, state_location=runtime.store.location)
        if runtime.notifier is not None and not dry_run:
            from syncd.notify.summary import print_delivery

            print_delivery(console, runtime.notifier, delivered)
    finally:
        runtime.close()
    if not report.ok:
        raise typer.Exit(1)


@command()
def run(
    config: ConfigOption = None,
    standby: Annotated[
        bool,
        typer.Option("--standby", help="If another daemon holds this store, wait and take over."),
    ] = False,
) -> None:
    """Run as a service: cycles on schedule, the admin API, until SIGTERM/SIGINT."""
    from syncd.service.signals import StopSignals

    with StopSignals() as signals:  # first: a stop during start-up is a clean exit too
        from syncd.service.daemon import Daemon
        from syncd.service.runtime import open_runtime

        settings, problems = setup_collecting(config)
        runtime = open_runtime(settings, earlier=problems)
        try:
            code = Daemon(runtime, signals).run(standby=standby)
        finally:
            runtime.close()
    raise typer.Exit(code)


@command()
def resync(
    config: ConfigOption = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="Account Id (repeatable).")
    ] = None,
    opportunity: Annotated[
        list[str] | None, typer.Option("--opportunity", help="Opportunity Id (repeatable).")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-evaluate the whole org.")] = False,
    now: Annotated[
        bool, typer.Option("--now", help="Run the cycle here and now (when no daemon runs).")
    ] = False,
) -> None:
    """Ask for a resync: queued for the running daemon's next tick, or run now with --now."""
    from syncd.service.resync import InvalidResync, build_resync, queue
    from syncd.service.runtime import open_store

    try:
        wanted = build_resync(full=full, accounts=account or [], opportunities=opportunity or [])
    except InvalidResync as exc:
        raise typer.BadParameter(str(exc)) from None
    settings = setup(config)
    store = open_store(settings)
    try:
        count = queue(store, wanted, source="cli", at=datetime.now(UTC))
    finally:
        store.close()
    console.print(f"Queued {count} resync request(s) in {settings.state_dir}.")
    if now:
        sync(config=config, dry_run=False, full=False)
