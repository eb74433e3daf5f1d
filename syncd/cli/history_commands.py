"""`syncd history`: one account's or deal's decision history; `explain --at` reads it too.

Both read only the state store (zero API calls) and refuse a missing state directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from syncd.cli.base import ConfigOption, OutputFormat, command, console, err_console, valid_id
from syncd.engine.history import HistoryEvent
from syncd.settings import load_settings

# A date, or a date and time (UTC unless it carries an offset).
MOMENTS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
           "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z",
           "%Y-%m-%dT%H:%M:%S.%f%z"]  # fmt: skip


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@command()
def history(
    record_id: Annotated[str, typer.Argument(help="Account or Opportunity Id (15 or 18 chars).")],
    config: ConfigOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="Only events on or after this date (YYYY-MM-DD).", formats=MOMENTS),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")] = (
        OutputFormat.table
    ),
) -> None:
    """A deal's or an account's decision history in words: what changed, who, when, why."""
    from syncd.cli.history_view import render_history
    from syncd.cli.names import Directory
    from syncd.service.runtime import open_files
    from syncd.store.history import history_of

    wanted = valid_id(record_id) or record_id
    start = utc(since)
    files = open_files(load_settings(config), existing_store=True)
    try:
        events = history_of(files.store, wanted, since=start)
        names = Directory.from_store(files.store, files.mapping, history_ids(wanted, events))
    finally:
        files.store.close()
    if not events and names.name(wanted) is None:
        err_console.print(f"syncd has no history of {wanted} and the mirror does not know it.")
        raise typer.Exit(1)
    everything = f"syncd history {wanted}" + (f" --since {start:%Y-%m-%d}" if start else "")
    render_history(console, wanted, events, names, output.value,
                   everything=f"{everything} --format csv")  # fmt: skip


def explain_past(config: Path | None, record_id: str, at: datetime, output: str) -> None:
    """``syncd explain ID --at TIMESTAMP``: the flags then, what decided them, what changed."""
    from syncd.cli.history_view import render_past
    from syncd.cli.names import Directory
    from syncd.service.runtime import open_files
    from syncd.store.history import current_lookup, history_of
    from syncd.sync.audit import FlagNames

    files = open_files(load_settings(config), existing_store=True)
    try:
        events = history_of(files.store, record_id, with_deals=False)
        names = Directory.from_store(files.store, files.mapping, history_ids(record_id, events))
        flags = FlagNames(files.mapping)
        now: dict[str, object] = {}
        for sobject, kind in flags.sobjects.items():
            found = current_lookup(files.store, sobject, [record_id]).get(record_id)
            now = flags.flags(kind, found) or now
    finally:
        files.store.close()
    if not events and not now:
        err_console.print(f"syncd has no history of {record_id} and the mirror does not know it.")
        raise typer.Exit(1)
    render_past(console, record_id, events, at, now, names, output)


def history_ids(record_id: str, events: Iterable[HistoryEvent]) -> set[str]:
    """The Ids a timeline names: records, accounts, people, partners, Task owners."""
    ids = {record_id}
    for e in events:
        ids |= {i for i in (e.record_id, e.account_id, e.actor_id) if i}
        ids |= {v for pair in e.changes.values() for v in pair if isinstance(v, str) and
                len(v) == 18}  # fmt: skip
        ids |= {e.data[k] for k in ("owner_id", "rep_id", "partner_id") if e.data.get(k)}
    return ids
