"""Evaluate a parsed SOQL query over the sandbox's stored records.

Compilation checks every name against the schema (INVALID_FIELD, INVALID_TYPE) and every
literal against its field's type (INVALID_QUERY_FILTER_OPERATOR), then builds plain
closures, so the per-record cost is a few function calls. Comparison follows SOQL:
text compares case-insensitively, datetimes as instants, Ids in their 18-char form,
``!=`` and NOT IN also match nulls, ASC sorts nulls first and DESC nulls last.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from syncd.sandbox.schema import NUMBER_TYPES, Field, ObjectSchema, object_schema
from syncd.sandbox.soql import (
    BoolOp,
    Compare,
    Condition,
    InList,
    Like,
    Literal,
    Not,
    Query,
    SoqlError,
    parse,
    unescape,
)
from syncd.sandbox.values import datetime_ms, parse_datetime
from syncd.sfid import InvalidSalesforceId, to_18

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
Key = Callable[[Any], Any]


@dataclass(frozen=True)
class CompiledQuery:
    sobject: str
    fields: tuple[str, ...]
    count: bool
    predicate: Predicate
    sort: Callable[[list[Record]], list[Record]]
    limit: int | None
    offset: int

    def run(self, records: Iterable[Record]) -> list[dict[str, Any]]:
        """Matching records, projected onto the selected fields (fresh dicts)."""
        matched = [r for r in records if self.predicate(r)]
        matched = self.sort(matched)
        end = None if self.limit is None else self.offset + self.limit
        matched = matched[self.offset : end]
        if self.count:
            return [{} for _ in matched]
        fields = self.fields
        return [{name: r.get(name) for name in fields} for r in matched]


def compile_query(soql: str, today: date | None = None) -> CompiledQuery:
    """Parse and check ``soql``; raise SoqlError with Salesforce's errorCode."""
    query = parse(soql)
    obj = object_schema(query.sobject)
    if obj is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name.",
        )
    ctx = _Context(obj, today or datetime.now(UTC).date())
    fields = tuple(dict.fromkeys(ctx.field(name).name for name in query.fields))
    predicate = ctx.condition(query.where) if query.where is not None else _always
    return CompiledQuery(
        sobject=obj.name,
        fields=fields,
        count=query.count,
        predicate=predicate,
        sort=ctx.sorter(query),
        limit=query.limit,
        offset=query.offset,
    )


def _always(record: Record) -> bool:
    return True


def _fold(value: str) -> str:
    return value.casefold()


def _ident(value: Any) -> Any:
    return value


class _Context:
    def __init__(self, obj: ObjectSchema, today: date) -> None:
        self.obj = obj
        self.today = today

    def field(self, name: str) -> Field:
        found = self.obj.field(name)
        if found is None:
            hint = " (relationship paths are not supported)" if "." in name else ""
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{self.obj.name}'{hint}. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the custom "
                "field name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
            )
        return found

    # -- value keys: how stored values and literals become comparable ---------------

    def key(self, field: Field) -> Key:
        if field.type == "datetime":
            return datetime_ms
        if field.type in ("string", "textarea", "picklist"):
            return _fold
        return _ident

    def literal(self, field: Field, lit: Literal) -> Any:
        """A literal as a comparable key; a (low, high) range for TODAY and friends."""
        if lit.kind == "null":
            return None
        kind = field.type
        if lit.kind == "relative" and kind in ("date", "datetime"):
            return self.relative(field, lit.value)
        if kind == "datetime" and lit.kind == "datetime":
            return datetime_ms(lit.value)
        if kind == "date" and lit.kind == "date":
            return lit.value
        if kind == "boolean" and lit.kind == "boolean":
            return lit.value
        if kind in NUMBER_TYPES and lit.kind == "number":
            return lit.value
        if kind in ("id", "reference") and lit.kind == "string":
            try:
                return to_18(lit.value)
            except InvalidSalesforceId:
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {lit.value}"
                ) from None
        if kind in ("string", "textarea", "picklist") and lit.kind == "string":
            return _fold(lit.value)
        quoted = "" if lit.kind != "string" else " and should not be enclosed in quotes"
        raise SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR",
            f"value of filter criterion for field '{field.name}' must be of type {kind}{quoted}",
        )

    def relative(self, field: Field, value: tuple[str, int]) -> tuple[Any, Any]:
        name, n = value
        start, days = {
            "TODAY": (self.today, 1),
            "YESTERDAY": (self.today - timedelta(days=1), 1),
            "TOMORROW": (self.today + timedelta(days=1), 1),
            "LAST_N_DAYS": (self.today - timedelta(days=n), n + 1),
            "NEXT_N_DAYS": (self.today, n + 1),
        }[name]
        end = start + timedelta(days=days)
        if field.type == "date":
            return start.isoformat(), end.isoformat()
        return _midnight_ms(start), _midnight_ms(end)

    # -- conditions -------------------------------------------------------------------

    def condition(self, cond: Condition) -> Predicate:
        if isinstance(cond, BoolOp):
            parts = [self.condition(c) for c in cond.operands]
            if cond.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(cond, Not):
            inner = self.condition(cond.operand)
            return lambda r: not inner(r)
        if isinstance(cond, Compare):
            return self.compare(cond)
        if isinstance(cond, InList):
            return self.in_list(cond)
        return self.like(cond)

    def compare(self, cond: Compare) -> Predicate:
        field = self.field(cond.field)
        name, key, value = field.name, self.key(field), self.literal(field, cond.value)
        if cond.op in ("<", "<=", ">", ">=") and field.type == "boolean":
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on boolean field {name}"
            )
        if value is None:
            if cond.op not in ("=", "!="):
                raise SoqlError("MALFORMED_QUERY", f"invalid operator {cond.op} with null")
            wanted_null = cond.op == "="
            return lambda r: (r.get(name) is None) == wanted_null
        test = _range_test(cond.op, value) if isinstance(value, tuple) else _test(cond.op, value)

        def predicate(record: Record) -> bool:
            stored = record.get(name)
            return test(None if stored is None else key(stored))

        return predicate

    def in_list(self, cond: InList) -> Predicate:
        field = self.field(cond.field)
        name, key = field.name, self.key(field)
        values = {self.literal(field, lit) for lit in cond.values}
        if any(isinstance(v, tuple) for v in values):
            raise SoqlError("MALFORMED_QUERY", f"IN on {name} cannot take a date range literal")
        negated = cond.negated

        def predicate(record: Record) -> bool:
            stored = record.get(name)
            found = (None if stored is None else key(stored)) in values
            return found != negated

        return predicate

    def like(self, cond: Like) -> Predicate:
        field = self.field(cond.field)
        if field.type not in ("string", "textarea", "picklist", "id", "reference"):
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", f"LIKE needs a text field; {field.name} is not"
            )
        regex = _like_regex(unescape(cond.pattern.raw, like=True))
        name = field.name
        return lambda r: isinstance(r.get(name), str) and regex.fullmatch(r[name]) is not None

    # -- ORDER BY --------------------------------------------------------------------------

    def sorter(self, query: Query) -> Callable[[list[Record]], list[Record]]:
        terms = [(self.field(t.field), t) for t in query.order_by]

        def sort(records: list[Record]) -> list[Record]:
            # Stable sorts from the last key to the first give a multi-key order.
            for field, term in reversed(terms):
                records.sort(key=_sort_key(field, self.key(field), term), reverse=term.descending)
            return records

        return sort


def _test(op: str, value: Any) -> Callable[[Any], bool]:
    if op == "=":
        return lambda v: v is not None and v == value
    if op == "!=":
        return lambda v: v is None or v != value
    if op == "<":
        return lambda v: v is not None and v < value
    if op == "<=":
        return lambda v: v is not None and v <= value
    if op == ">":
        return lambda v: v is not None and v > value
    return lambda v: v is not None and v >= value


def _range_test(op: str, bounds: tuple[Any, Any]) -> Callable[[Any], bool]:
    low, high = bounds
    if op == "=":
        return lambda v: v is not None and low <= v < high
    if op == "!=":
        return lambda v: v is None or not low <= v < high
    if op == "<":
        return lambda v: v is not None and v < low
    if op == "<=":
        return lambda v: v is not None and v < high
    if op == ">":
        return lambda v: v is not None and v >= high
    return lambda v: v is not None and v >= low


def _sort_key(field: Field, key: Key, term: Any) -> Callable[[Record], tuple[int, Any]]:
    # With reverse=True the ranks flip too, so pick the null rank that lands where wanted.
    null_rank = 0 if term.nulls_first != term.descending else 2
    name = field.name

    def sort_key(record: Record) -> tuple[int, Any]:
        stored = record.get(name)
        return (null_rank, 0) if stored is None else (1, key(stored))

    return sort_key


def _like_regex(pattern: str) -> re.Pattern[str]:
    """SOQL LIKE: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; no case."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _midnight_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


__all__ = ["CompiledQuery", "SoqlError", "compile_query", "parse_datetime"]
