"""Commands that read what syncd decided: ``violations`` and ``explain``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from syncd.cli.base import (
    ConfigOption,
    OutputFormat,
    command,
    console,
    err_console,
    setup_collecting,
    valid_id,
)
from syncd.cli.history_commands import MOMENTS
from syncd.errors import ConfigError

if TYPE_CHECKING:
    from syncd.cli.names import Regions


@command()
def violations(
    config: ConfigOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only unresolved violations.")] = False,
    rep: Annotated[
        str | None, typer.Option(help="Only this rep's (User Id).", callback=valid_id)
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option(help="Only those displacing this partner (Account Id).", callback=valid_id),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="First seen on or after (YYYY-MM-DD).", formats=["%Y-%m-%d"]),
    ] = None,
    code: Annotated[
        str | None, typer.Option(help="Only this code (e.g. PARTNER_DISPLACED).")
    ] = None,
    level: Annotated[
        int | None, typer.Option(min=0, help="Only this escalation level (0: exception reviews).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Only deals in this region of the rules (e.g. NA).")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """List the violation ledger: every occurrence, its escalation level and its Task."""
    from syncd.cli.ledger_view import ledger_ids, render_ledger, select
    from syncd.cli.names import Directory, Regions
    from syncd.service.runtime import open_files

    settings, problems = setup_collecting(config)
    files = open_files(settings, existing_store=True, earlier=problems)
    try:
        regions = Regions(files.policy)
        wanted_region = _region(regions, region)
        entries = files.store.ledger(
            open_only=open_only,
            rep_id=rep,
            partner_id=partner,
            since=since.replace(tzinfo=UTC) if since else None,
        )
        names = Directory.from_store(files.store, files.mapping, ledger_ids(entries))
    finally:
        files.store.close()
    chosen = select(entries, names, regions, code=code, level=level, region=wanted_region)
    everything = _command_line(
        "syncd violations", ("--open", open_only), ("--rep", rep), ("--partner", partner),
        ("--since", since.date().isoformat() if since else None), ("--code", code),
        ("--level", level), ("--region", wanted_region), ("--format", "csv"),
    )  # fmt: skip
    render_ledger(console, chosen, output.value, names, regions, everything=everything)


def _region(regions: Regions, wanted: str | None) -> str | None:
    if wanted is None:
        return None
    found = regions.named(wanted)
    if found is None:
        raise typer.BadParameter(
            f"{wanted!r} is not a region of the rules; they are {', '.join(regions.names)}",
            param_hint="--region",
        )
    return found


def _command_line(command: str, *options: tuple[str, object]) -> str:
    """The command again with the options given (for "… and 412 more: <command>")."""
    parts = [command]
    for flag, value in options:
        if value is True:
            parts.append(flag)
        elif value not in (None, False):
            parts.append(f"{flag} {value}")
    return " ".join(parts)


@command()
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
    at: Annotated[
        datetime | None,
        typer.Option(
            "--at",
            formats=MOMENTS,
            help="Explain a past decision from the history (UTC); reads only the store.",
        ),
    ] = None,
) -> None:
    """Say why: the facts, the rule that decided, the rules that did not apply."""
    from syncd.cli.explain_view import render_explanation
    from syncd.cli.names import Directory
    from syncd.engine.explain import explain as explain_record
    from syncd.service.runtime import open_files
    from syncd.sync.orgstate import OrgState
    from syncd.sync.related import read_related

    record_id = valid_id(record_id) or record_id
    if at is not None:
        from syncd.cli.history_commands import explain_past, utc

        explain_past(config, record_id, utc(at) or at, output.value)
        return
    settings, problems = setup_collecting(config)
    files = open_files(settings, existing_store=offline, earlier=problems, need_org=not offline)
    try:
        if offline:
            snapshot = OrgState.from_store(files.store, files.mapping).snapshot
            if not snapshot.accounts and not snapshot.opportunities:
                raise ConfigError(
                    f"the mirror in {files.store.location} is empty: run a cycle first "
                    "(`syncd sync`), or drop --offline"
                )
        else:
            from syncd.salesforce import OrgClient

            client = OrgClient(settings.require_salesforce())
            snapshot = read_related(client, files.mapping, record_id)
    finally:
        files.store.close()
    found = explain_record(snapshot, files.policy, datetime.now(UTC), record_id)
    if found is None:
        err_console.print(
            f"syncd: {record_id} is neither an account nor an opportunity syncd can see"
        )
        raise typer.Exit(1)
    names = Directory.from_snapshot(snapshot)
    render_explanation(console, found, files.mapping, output.value, names)
