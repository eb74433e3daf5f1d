"""Commands that read what syncd decided: ``violations`` and ``explain``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from syncd.cli.base import (
    ConfigOption,
    OutputFormat,
    command,
    console,
    err_console,
    setup,
    valid_id,
)
from syncd.errors import ConfigError


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
    output: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """List the violation ledger: every occurrence, its escalation level and its Task."""
    from syncd.cli.ledger_view import render_ledger
    from syncd.settings import load_settings
    from syncd.store.store import Store

    settings = load_settings(config)
    store = Store.open_existing(settings.database_url, settings.state_dir)
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
) -> None:
    """Say why: the facts, the rule that decided, the rules that did not apply."""
    from syncd.cli.explain_view import render_explanation
    from syncd.engine.explain import explain as explain_record
    from syncd.service.runtime import open_files
    from syncd.sync.orgstate import OrgState
    from syncd.sync.related import read_related

    record_id = valid_id(record_id) or record_id
    settings = setup(config)
    files = open_files(settings, existing_store=offline)
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
    render_explanation(console, found, files.mapping, output.value)
