"""Custom declarative rules: ``{id, when: {field: {operator: value}}, severity, message}``.

Conditions are compiled at load time into small getter/test pairs, never ``eval``: an
unknown field or operator, or an operand that cannot match its field, is a load-time
error that names the rule id (``custom_fields``). At run time a value of an unexpected
type (a garbage ``extra`` field) is simply "no match".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncd.engine.domain import Severity, Violation
from syncd.engine.inputs import ALL, DEAL_ACCOUNT, DEAL_OWNER, OPPORTUNITY, family, getter
from syncd.engine.rules.custom_fields import (
    ACCOUNT_FACTS,
    FIELD_KINDS,
    Kind,
    coerce,
    field_problem,
    operand_problem,
)
from syncd.engine.rules.state import Deal

if TYPE_CHECKING:
    from syncd.engine.rules.context import Context

# A custom rule may test any field of the deal, its account and its owner.
CUSTOM = family(
    "custom_rules", OPPORTUNITY, ((), ALL), ((DEAL_ACCOUNT,), ALL), ((DEAL_OWNER,), ALL)
)

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists")


class CustomRule(BaseModel):
    """One rule from ``custom_rules`` in the rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
    when: dict[str, dict[str, Any]] = Field(min_length=1)
    severity: Severity = Severity.MEDIUM
    message: str = Field(min_length=1, max_length=200)

    @field_validator("when", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key, test in value.items():
                if not isinstance(test, dict):
                    raise ValueError(f"{key}: expected {{operator: value}}, e.g. {{eq: Direct}}")
        return value

    @model_validator(mode="after")
    def _known(self) -> CustomRule:
        for path, test in self.when.items():
            problem = field_problem(path)
            if problem:
                raise ValueError(f"rule {self.id!r}: {problem}")
            for op, operand in test.items():
                if op not in OPERATORS:
                    raise ValueError(
                        f"rule {self.id!r}: unknown operator {op!r} on {path} "
                        f"(expected one of {', '.join(OPERATORS)})"
                    )
                if op in ("in", "not_in") and not isinstance(operand, list):
                    raise ValueError(f"rule {self.id!r}: {path} {op} expects a list")
                if op == "exists" and not isinstance(operand, bool):
                    raise ValueError(f"rule {self.id!r}: {path} exists expects true or false")
                if op != "exists":
                    problem = operand_problem(path, op, operand)
                    if problem:
                        raise ValueError(f"rule {self.id!r}: {path} {op}: {problem}")
        return self


# What a rule sees about one deal: the deal being decided (``rules.state.Deal``), read
# through getters compiled from the field paths at load time.
Getter = Callable[[Deal], object]
Test = Callable[[object], bool]
_RECORD = {"account": "account", "opportunity": "opp", "owner": "owner"}  # Deal attributes
_DEAL_FACT = {
    "expected_lead": "lead",
    "protected_partner_id": "protected",
    "deal_partner_id": "partner",
}
_ACCOUNT_FACT = {"global": "global_account"}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    code: str
    severity: Severity
    message: str
    conditions: tuple[tuple[str, Getter, Test], ...]

    def matches(self, deal: Deal) -> bool:
        # A plain loop is cheaper than all(<genexpr>) on the hot path.
        for _, get, test in self.conditions:  # noqa: SIM110
            if not test(get(deal)):
                return False
        return True

    def failing(self, deal: Deal) -> str | None:
        """The first condition that does not hold (for explain), or None on a match."""
        for path, get, test in self.conditions:
            if not test(get(deal)):
                value = get(deal)
                shown = value.value if isinstance(value, Enum) else value
                return f"{path} is {shown!r}"
        return None


def compile_rules(rules: list[CustomRule], today: date) -> tuple[CompiledRule, ...]:
    """``today`` serves the ``opportunity.enforced`` fact (the region's date has passed)."""
    return tuple(_compile(rule, today) for rule in rules)


def custom_rules(ctx: Context, d: Deal) -> None:
    """Each custom rule that matches is a violation CUSTOM:<id> with the rule's message."""
    for rule in ctx.custom:
        matched = rule.matches(d)
        if d.trace is not None:
            d.note(rule.code, matched, rule.message if matched else str(rule.failing(d)))
        if matched:
            owner = d.opp.owner_id
            d.violations += (Violation(rule.code, rule.severity, rule.message, owner, d.protected),)
            d.details += (rule.message,)


def _compile(rule: CustomRule, today: date) -> CompiledRule:
    conditions = []
    for path, test in rule.when.items():
        get = _getter(path, today)
        kind = FIELD_KINDS.get(path)
        for op, operand in test.items():
            conditions.append((path, get, _test(op, _typed(kind, op, operand))))
    return CompiledRule(
        rule.id, f"CUSTOM:{rule.id}", rule.severity, rule.message, tuple(conditions)
    )


def _getter(path: str, today: date) -> Getter:
    scope, _, name = path.partition(".")
    record = attrgetter(_RECORD[scope])
    if name.startswith("extra."):
        key = name[6:]
        return lambda d: _extra(record(d), key)
    if scope == "account" and name in ACCOUNT_FACTS:
        return attrgetter(f"facts.{_ACCOUNT_FACT.get(name, name)}")
    if scope == "opportunity" and name in _DEAL_FACT:
        return attrgetter(_DEAL_FACT[name])
    if scope == "opportunity" and name == "created_on":
        return lambda d: when_date(d.opp.created_at)
    if scope == "opportunity" and name == "enforced":
        return lambda d: _enforced(d.facts.enforced_from, d.opp.created_at, today)
    # The nested getter reads None through a deal without a registration or an owner
    # syncd cannot see.
    return getter(f"{_RECORD[scope]}.{name}")


def _enforced(enforced_from: date, created_at: datetime | None, today: date) -> bool:
    created = when_date(created_at)
    return today >= enforced_from and (created is None or created >= enforced_from)


def _extra(record: object, key: str) -> object:
    extra = getattr(record, "extra", None)  # an owner syncd cannot see has none
    return extra.get(key) if isinstance(extra, Mapping) else None


def _typed(kind: Kind, op: str, operand: Any) -> Any:
    """Operands as the field holds values (validated at load time, so never _WRONG here)."""
    if op == "exists":
        return operand
    if op in ("in", "not_in"):
        return [coerce(kind, v) for v in operand]
    return coerce(kind, operand)


def _operand(value: object) -> object:
    # YAML floats become Decimal so they compare exactly with Opportunity.amount.
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _comparable(value: object, operand: object) -> object:
    if isinstance(value, datetime) and not isinstance(operand, datetime):
        return value.date()
    return value


def _ordered(compare: Callable[[Any, Any], bool], operand: object) -> Test:
    def test(value: object) -> bool:
        if value is None:
            return False
        try:
            return bool(compare(_comparable(value, operand), operand))
        except (TypeError, ArithmeticError):  # an extra field holding text vs a number
            return False

    return test


def _test(op: str, raw: Any) -> Test:
    if op == "exists":
        return lambda value: (value is not None and value != "") is raw
    if op in ("in", "not_in"):
        options = tuple(_operand(v) for v in raw)
        if op == "in":
            return lambda value: _member(value, options)
        return lambda value: not _member(value, options)
    operand = _operand(raw)
    if op == "eq":
        if isinstance(operand, str):  # the common case: picklists, roles, leads
            return lambda value: value == operand
        return lambda value: _equal(value, operand)
    if op == "ne":
        return lambda value: not _equal(value, operand)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return _ordered(compare[op], operand)


def _equal(value: object, operand: object) -> bool:
    if isinstance(value, datetime):
        value = _comparable(value, operand)
    try:
        return bool(value == operand)
    except TypeError:
        return False


def _member(value: object, options: tuple[object, ...]) -> bool:
    return any(_equal(value, option) for option in options)


def when_date(value: date | None) -> date | None:
    """The date part of a date or datetime."""
    return value.date() if isinstance(value, datetime) else value
