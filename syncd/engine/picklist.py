"""How syncd compares picklist-like values: trimmed and case-insensitively, everywhere.

Salesforce picklists keep whatever case an admin typed, and text fields used as
picklists (a sales role, a country) keep whatever a user typed: "Renewal", "renewal"
and "Renewal " are the same value to a person, so they are the same value to syncd.
Opportunity Type, LeadSource, registration status, the owner's sales role and user type,
BillingCountry, the override lead and the exception decision all go through here — the
mapping (record -> domain) and the rules alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

V = TypeVar("V")


def fold(value: object) -> str | None:
    """The comparable form of a picklist value; None for anything that is not text."""
    return value.strip().casefold() if isinstance(value, str) else None


class Choices:
    """A set of picklist values, matched the one way (``"renewal" in Choices(["Renewal"])``)."""

    __slots__ = ("_folded",)

    def __init__(self, values: Iterable[str]):
        self._folded = frozenset(v.strip().casefold() for v in values)

    def __contains__(self, value: object) -> bool:
        folded = fold(value)
        return folded is not None and folded in self._folded

    def __bool__(self) -> bool:
        return bool(self._folded)


class Lookup(Generic[V]):
    """Picklist value -> meaning (a segment -> Role, a country -> region), matched the one way."""

    __slots__ = ("_by_value",)

    def __init__(self, pairs: Mapping[str, V] | Iterable[tuple[str, V]]):
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        self._by_value = {k.strip().casefold(): v for k, v in items}

    def get(self, value: object, default: V) -> V:
        folded = fold(value)
        return default if folded is None else self._by_value.get(folded, default)
