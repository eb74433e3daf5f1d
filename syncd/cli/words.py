"""How the CLI says things to people: names next to Ids, amounts with their currency, dates
as dates, long lists cut short with a pointer to the whole of them. One place, so every
command says them the same way."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

NOTHING = "–"
LIST_LIMIT = 25  # rows a table shows before it summarises the rest


def amount(value: Decimal | float | None, currency: str | None = None) -> str:
    """``480,000.00 USD``; without a known currency (single-currency orgs) the number only."""
    if value is None:
        return NOTHING
    shown = f"{Decimal(str(value)):,.2f}"
    return f"{shown} {currency.strip()}" if currency and currency.strip() else shown


def day(value: date | datetime | None) -> str:
    if value is None:
        return NOTHING
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def moment(value: datetime | None) -> str:
    """``2026-12-01 09:37 UTC`` (everything syncd keeps is UTC)."""
    return NOTHING if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def named(name: str | None, record_id: str | None) -> str:
    """``Northwind Solutions (0015g…)``; the Id alone when the name is unknown."""
    if not record_id:
        return NOTHING
    return f"{name} ({record_id})" if name else record_id


def plain(value: Any) -> str:
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def more(hidden: int, command: str, what: str = "more") -> str:
    """The line beside a cut-short list: how many were left out, and how to see them all."""
    return f"… and {hidden:,} {what}: {command}"
