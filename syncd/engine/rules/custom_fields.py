"""Which fields a custom rule may test, and which operands make sense for each.

Record fields come from the domain dataclasses (their type hints say what they hold);
engine facts (``account.lead``, ``opportunity.enforced``, ...) are listed here. An
operand that cannot match its field (a text against an amount, ``yes`` for a flag, a
role that does not exist) is a load-time error naming the rule, never a silent no-match.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import get_args, get_type_hints

from syncd.engine.domain import Account, Lead, Opportunity, Registration, User
from syncd.engine.picklist import fold

_ORDERED = ("gt", "gte", "lt", "lte")
# Not rule inputs: containers, the mapping's own notes, and audit-only values (syncd's own
# writes change last_modified_by, so a rule reading it would flip on every echo).
_HIDDEN = {"extra", "defects", "registration", "last_modified_by"}

# Engine facts a rule may test besides the record fields (see docs in config/rules.yaml).
ACCOUNT_FACTS = ("lead", "named", "named_via_parent", "global", "region", "enforced_from")
OPPORTUNITY_FACTS = (
    "expected_lead",
    "protected_partner_id",
    "deal_partner_id",
    "enforced",
    "created_on",
)


def _attrs(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name not in _HIDDEN)


# What a field holds decides which operands make sense for it: a kind per field path.
Kind = type | None  # bool, str, Decimal, date, datetime, an Enum class; None = anything


def _kind(hint: object) -> Kind:
    options = [a for a in get_args(hint) if a is not type(None)] or [hint]
    found = options[0] if len(options) == 1 else None
    if found is int or found is Decimal:
        return Decimal
    return found if (isinstance(found, type) and found in _KINDS) or _is_enum(found) else None


def _is_enum(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, Enum)


_KINDS = (bool, str, Decimal, date, datetime)


def _kinds(scope: str, cls: type, prefix: str = "") -> dict[str, Kind]:
    hints = get_type_hints(cls)
    return {f"{scope}.{prefix}{n}": _kind(hints[n]) for n in _attrs(cls)}


FACT_KINDS: dict[str, Kind] = {
    "account.lead": Lead, "account.named": bool, "account.named_via_parent": bool,
    "account.global": bool, "account.region": str, "account.enforced_from": date,
    "opportunity.expected_lead": Lead, "opportunity.protected_partner_id": str,
    "opportunity.deal_partner_id": str, "opportunity.enforced": bool,
    "opportunity.created_on": date,
}  # fmt: skip


FIELD_KINDS: dict[str, Kind] = {
    **_kinds("account", Account),
    **_kinds("opportunity", Opportunity),
    **_kinds("opportunity", Registration, "registration."),
    **_kinds("owner", User),
    **FACT_KINDS,
}
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "account": frozenset(_attrs(Account) + ACCOUNT_FACTS),
    "opportunity": frozenset(
        _attrs(Opportunity)
        + OPPORTUNITY_FACTS
        + tuple(f"registration.{name}" for name in _attrs(Registration))
    ),
    "owner": frozenset(_attrs(User)),
}
_EXTRA_RE = re.compile(r"^extra\.[A-Za-z_][A-Za-z0-9_]*$")


def field_problem(path: str) -> str | None:
    """None if ``account.named`` style path is known, else what is wrong with it."""
    scope, _, name = path.partition(".")
    if scope not in KNOWN_FIELDS:
        return f"unknown field {path!r} (start with account., opportunity. or owner.)"
    if name in KNOWN_FIELDS[scope] or _EXTRA_RE.match(name):
        return None
    known = ", ".join(sorted(KNOWN_FIELDS[scope]))
    return f"unknown field {path!r} (known: {known}, or extra.<name>)"


_EXPECTED = {bool: "true or false", str: "a text", Decimal: "a number",
             date: "a date (YYYY-MM-DD)", datetime: "a date (YYYY-MM-DD)"}  # fmt: skip


def operand_problem(path: str, op: str, operand: object) -> str | None:
    """None when ``operand`` can be compared with the field ``path``; else what was expected."""
    kind = FIELD_KINDS.get(path)
    if kind is None:  # extra.<name>: the mapping does not say what it holds
        return None
    if op in _ORDERED and kind not in (Decimal, date, datetime):
        return "gt, gte, lt and lte compare numbers and dates only"
    # (``in`` and ``not_in`` are checked to hold lists before this is called.)
    values = operand if isinstance(operand, list) and op in ("in", "not_in") else [operand]
    for value in values:
        if value is not None and coerce(kind, value) is _WRONG:
            expected = (
                "one of " + ", ".join(m.value for m in kind)  # type: ignore[attr-defined]
                if _is_enum(kind)
                else _EXPECTED[kind]  # type: ignore[index]
            )
            return f"expected {expected}, got {value!r}"
    return None


_WRONG = object()


def coerce(kind: Kind, value: object) -> object:
    """The operand as the field's values are (a Decimal, a date, an enum value); or _WRONG."""
    if kind is None or value is None:
        return value
    if isinstance(value, bool):
        return value if kind is bool else _WRONG
    if kind is Decimal:
        return Decimal(str(value)) if isinstance(value, int | float | Decimal) else _WRONG
    if kind in (date, datetime):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value) if isinstance(value, str) else _WRONG
        except ValueError:
            return _WRONG
    if _is_enum(kind):
        folded = fold(value)
        return next((m.value for m in kind if m.value.casefold() == folded), _WRONG)  # type: ignore[attr-defined]
    return value if isinstance(value, kind) else _WRONG  # type: ignore[arg-type]
