"""Safe SOQL: values go through simple-salesforce's ``format_soql``, names are validated.

Values are never pasted into query text: ``soql_format`` quotes and escapes them.
Field and object names cannot be quoted in SOQL, so they must be plain identifiers
(``RoE_Named_Account__c``, ``ns__Field__c``); relationship paths such as ``Account.Name``
are refused because syncd never reads through relationships (one object, one query).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from simple_salesforce.format import format_soql, quote_soql_value

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DIRECTION = {"ASC", "DESC"}
_NULLS = {("NULLS", "FIRST"), ("NULLS", "LAST")}
# A GET URI and its headers must stay under 16,384 bytes (facts B); an IN-list of this
# many characters is about 5 KB once URL-encoded, leaving room for the rest of the query.
DEFAULT_IN_CHARS = 4000


def identifier(name: str, what: str = "field") -> str:
    """Return ``name`` if it is a plain API name; explain what is wrong otherwise."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        if isinstance(name, str) and "." in name:
            raise ValueError(
                f"{what} {name!r} is a relationship path; syncd only queries plain fields "
                "of one object (use the lookup Id field instead)"
            )
        raise ValueError(f"{what} {name!r} is not a valid Salesforce API name")
    return name


def soql_format(template: str, *args: Any, **kwargs: Any) -> str:
    """``format_soql``: ``{}`` placeholders become quoted, escaped SOQL literals."""
    return format_soql(template, *args, **kwargs)


def select(
    sobject: str,
    fields: Iterable[str],
    where: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
) -> str:
    """``SELECT f1, f2 FROM Obj [WHERE ...] [ORDER BY ...] [LIMIT n]``.

    ``where`` must come from ``soql_format`` so its values are escaped.
    """
    names = list(dict.fromkeys(identifier(f) for f in fields))
    if not names:
        raise ValueError(f"select from {sobject!r} needs at least one field")
    soql = f"SELECT {', '.join(names)} FROM {identifier(sobject, 'object')}"
    if where:
        soql += f" WHERE {where}"
    if order_by:
        soql += f" ORDER BY {_order_by(order_by)}"
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer; got {limit!r}")
        soql += f" LIMIT {limit}"
    return soql


def _order_by(clause: str) -> str:
    terms = []
    for term in clause.split(","):
        words = term.split()
        if not words:
            raise ValueError(f"empty ORDER BY term in {clause!r}")
        name, rest = identifier(words[0]), [w.upper() for w in words[1:]]
        if rest and rest[0] in _DIRECTION:
            rest = rest[1:]
        if rest and tuple(rest) not in _NULLS:
            raise ValueError(f"ORDER BY term {term.strip()!r} is not 'Field [ASC|DESC] [NULLS …]'")
        terms.append(" ".join([name, *(w.upper() for w in words[1:])]))
    return ", ".join(terms)


def id_chunks(ids: Iterable[str], max_chars: int = DEFAULT_IN_CHARS) -> Iterator[list[str]]:
    """Split ids so each ``IN (...)`` list renders to at most ``max_chars`` characters."""
    chunk: list[str] = []
    size = 2  # the parentheses
    for value in dict.fromkeys(ids):  # drop duplicates, keep order
        cost = len(quote_soql_value(value)) + (1 if chunk else 0)
        if chunk and size + cost > max_chars:
            yield chunk
            chunk, size = [], 2
            cost = len(quote_soql_value(value))
        if size + cost > max_chars:
            raise ValueError(f"id {value[:40]!r} alone is longer than {max_chars} characters")
        chunk.append(value)
        size += cost
    if chunk:
        yield chunk
