"""The `syncd` command line.

Exit codes: 0 success, 1 the cycle failed or was partial (see the message), 2 a
configuration problem the user must fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from syncd.errors import ConfigError, SyncdError
from syncd.logs import configure_logging
from syncd.settings import load_settings

app = typer.Typer(
    name="syncd",
    help=(
        "Enforce channel rules of engagement inside Salesforce: decide who leads each "
        "customer and deal, write the ownership flags reps see, flag violations."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="The local Salesforce-compatible org (HTTPS on 127.0.0.1).")
app.add_typer(sandbox_app, name="sandbox")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings YAML file (else $SYNCD_CONFIG).", exists=False),
]


class _BarProgress:
    """A rich progress bar fed by the cycle's progress events (terminal only)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def update(self, phase: str, done: int, total: int | None = None) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)


@contextmanager
def _progress() -> Iterator[_BarProgress | None]:
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield _BarProgress(progress)


def _fail(exc: SyncdError) -> typer.Exit:
    code = 2 if isinstance(exc, ConfigError) else 1
    label = "configuration error" if code == 2 else "error"
    err_console.print(f"[bold red]syncd: {label}:[/bold red] {exc}", markup=True, highlight=False)
    return typer.Exit(code)


def _setup(config: Path | None):  # type: ignore[no-untyped-def]
    from syncd.logs import register_secrets
    from syncd.runtime import secret_values

    settings = load_settings(config)
    if settings.salesforce is not None:
        register_secrets(secret_values(settings.salesforce))
    configure_logging(settings.log_format, settings.log_level)
    return settings


@app.command()
def sync(
    config: ConfigOption = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Run one cycle and exit (use `syncd run` for the service)."),
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the planned writes; write nothing.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Read the whole org, not just what changed since the last cycle."
        ),
    ] = False,
) -> None:
    """Run one sync cycle against the configured org and print a summary."""
    from syncd.cycle import Cycle, CycleOptions
    from syncd.report import print_plan, print_summary
    from syncd.runtime import open_runtime

    try:
        runtime = open_runtime(_setup(config))
        try:
            with _progress() as bar:
                report = Cycle(
                    runtime.client,
                    runtime.store,
                    runtime.mapping,
                    runtime.policy,
                    progress=bar,
                    options=CycleOptions.from_settings(runtime.settings),
                ).run(dry_run=dry_run, full=full)
            if dry_run:
                print_plan(console, report.plan, report)
            print_summary(console, report, state_location=runtime.store.location)
        finally:
            runtime.close()
    except SyncdError as exc:
        raise _fail(exc) from None
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def run(
    config: ConfigOption = None,
    standby: Annotated[
        bool,
        typer.Option("--standby", help="If another daemon holds this store, wait and take over."),
    ] = False,
) -> None:
    """Run as a service: cycles on schedule, the admin API, until SIGTERM/SIGINT."""
    from syncd.daemon import Daemon
    from syncd.runtime import open_runtime

    try:
        runtime = open_runtime(_setup(config))
    except SyncdError as exc:
        raise _fail(exc) from None
    try:
        code = Daemon(runtime).run(standby=standby)
    except SyncdError as exc:
        raise _fail(exc) from None
    finally:
        runtime.close()
    raise typer.Exit(code)


@app.command()
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
    from syncd.resync import InvalidResync, build_resync, queue
    from syncd.store import Store

    try:
        wanted = build_resync(full=full, accounts=account or [], opportunities=opportunity or [])
    except InvalidResync as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        settings = _setup(config)
        store = Store.open(settings.database_url, settings.state_dir)
        try:
            count = queue(store, wanted, source="cli", at=datetime.now(UTC))
        finally:
            store.close()
    except SyncdError as exc:
        raise _fail(exc) from None
    console.print(f"Queued {count} resync request(s) in {settings.state_dir}.")
    if now:
        sync(config=config, once=True, dry_run=False)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _valid_id(value: str | None) -> str | None:
    from syncd.sfid import InvalidSalesforceId, to_18

    if value is None:
        return None
    try:
        return to_18(value)
    except InvalidSalesforceId as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def violations(
    config: ConfigOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only unresolved violations.")] = False,
    rep: Annotated[
        str | None, typer.Option(help="Only this rep's (User Id).", callback=_valid_id)
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option(help="Only those displacing this partner (Account Id).", callback=_valid_id),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="First seen on or after (YYYY-MM-DD).", formats=["%Y-%m-%d"]),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """List the violation ledger: every occurrence, its escalation level and its Task."""
    from syncd.ledger_view import render_ledger
    from syncd.store import Store

    try:
        settings = load_settings(config)
    except SyncdError as exc:
        raise _fail(exc) from None
    store = Store.open(settings.database_url, settings.state_dir)
    try:
        entries = store.ledger(
            open_only=open_only,
            rep_id=rep,
            partner_id=partner,
            since=since.replace(tzinfo=UTC) if since else None,
        )
    finally:
        store.close()
    render_ledger(console, entries, output.value)


@app.command()
def check(config: ConfigOption = None) -> None:
    """Check settings, mapping, rules and the org's fields; list every problem found."""
    from syncd.check import CheckReport, check_files, check_org
    from syncd.salesforce import OrgClient

    report = CheckReport()
    try:
        settings = _setup(config)
    except SyncdError as exc:
        raise _fail(exc) from None
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


@app.command()
def explain(
    record_id: Annotated[str, typer.Argument(help="Account or Opportunity Id (15 or 18 chars).")],
    config: ConfigOption = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Use the local mirror of the last cycle; no API calls."),
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """Say why: the facts, the rule that decided, the rules that did not apply."""
    from syncd.engine import explain as explain_record
    from syncd.explain_view import render_explanation
    from syncd.reader import snapshot_from_mirror
    from syncd.related import read_related
    from syncd.runtime import open_files

    record_id = _valid_id(record_id) or record_id
    try:
        settings = _setup(config)
        files = open_files(settings)
        try:
            if offline:
                snapshot = snapshot_from_mirror(files.store, files.mapping)
                if not snapshot.accounts and not snapshot.opportunities:
                    raise ConfigError(
                        f"the mirror in {files.store.location} is empty: run a cycle first "
                        "(`syncd sync --once`), or drop --offline"
                    )
            else:
                from syncd.salesforce import OrgClient

                client = OrgClient(settings.require_salesforce())
                snapshot = read_related(client, files.mapping, record_id)
        finally:
            files.store.close()
        found = explain_record(snapshot, files.policy, datetime.now(UTC), record_id)
    except SyncdError as exc:
        raise _fail(exc) from None
    if found is None:
        err_console.print(
            f"syncd: {record_id} is neither an account nor an opportunity syncd can see"
        )
        raise typer.Exit(1)
    render_explanation(console, found, files.mapping, output.value)


@app.command()
def demo(
    state_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its state database and TLS files.")
    ] = Path(".syncd-demo"),
) -> None:
    """Start the seeded sandbox org over HTTPS, run one full cycle, print what happened."""
    from syncd.demo import run_demo

    configure_logging("json", "warning")
    try:
        with _progress() as bar:
            report = run_demo(console, state_dir, progress=bar)
    except SyncdError as exc:
        raise _fail(exc) from None
    if not report.ok:
        raise typer.Exit(1)


@sandbox_app.command("serve")
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


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
