"""Field values in Salesforce's JSON form, and the checks a write goes through.

Stored values are exactly what the REST API answers: dates ``"2026-11-01"``, datetimes
``"2026-11-01T07:00:00.000+0000"`` (UTC, milliseconds), numbers, booleans, 18-char Ids.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from syncd.sandbox.schema import PREFIX_TO_OBJECT, Field
from syncd.sfid import InvalidSalesforceId, to_18

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ValueProblem(ValueError):
    """A value a write cannot store; carries Salesforce's per-record error code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def format_datetime(moment: datetime) -> str:
    """Salesforce's JSON datetime: UTC, milliseconds, ``+0000``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse the datetime forms SOQL and the REST API accept; ValueError otherwise."""
    match = _DATETIME.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a datetime like 2026-11-01T07:00:00.000+0000")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    if zone in (None, "Z"):
        return moment.replace(tzinfo=UTC)
    offset = datetime.strptime(zone.replace(":", ""), "%z").tzinfo
    return moment.replace(tzinfo=offset).astimezone(UTC)


@lru_cache(maxsize=65536)
def datetime_ms(text: str) -> int:
    """Milliseconds since the epoch: datetimes compare as instants, not as strings."""
    moment = parse_datetime(text)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def parse_date(text: str) -> date:
    if not _DATE.match(text):
        raise ValueError(f"{text!r} is not a date like 2026-11-01")
    return date.fromisoformat(text)


def coerce(field: Field, value: Any, sobject: str) -> Any:
    """The stored form of ``value`` for ``field``, or ValueProblem with Salesforce's code."""
    if value is None:
        return False if field.type == "boolean" else None
    if isinstance(value, dict | list):
        raise ValueProblem(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {field.type} from "
            f"{'START_OBJECT' if isinstance(value, dict) else 'START_ARRAY'} value "
            f"for field {field.name}",
        )
    handler = _COERCE.get(field.type, _string)
    return handler(field, value, sobject)


def _wrong_type(field: Field, value: Any, wanted: str) -> ValueProblem:
    return ValueProblem(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{field.name}: value not of required type: {value!r} (expected {wanted})",
    )


def _boolean(field: Field, value: Any, sobject: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(field, value, "boolean")
    return value


def _number(field: Field, value: Any, sobject: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _wrong_type(field, value, field.type)
    try:
        number = float(value) if field.type != "int" else int(value)
    except ValueError:
        raise _wrong_type(field, value, field.type) from None
    return number


def _date(field: Field, value: Any, sobject: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(field, value, "date")
    try:
        return parse_date(value[:10] if "T" in value else value).isoformat()
    except ValueError:
        raise _wrong_type(field, value, "date YYYY-MM-DD") from None


def _datetime(field: Field, value: Any, sobject: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(field, value, "datetime")
    try:
        return format_datetime(parse_datetime(value))
    except ValueError:
        raise _wrong_type(field, value, "datetime") from None


def _reference(field: Field, value: Any, sobject: str) -> str | None:
    if value == "":
        return None  # Salesforce treats an empty lookup as clearing it
    if not isinstance(value, str):
        raise ValueProblem("MALFORMED_ID", f"{field.name}: id value of incorrect type: {value!r}")
    try:
        full = to_18(value)
    except InvalidSalesforceId:
        raise ValueProblem(
            "MALFORMED_ID", f"{field.name}: id value of incorrect type: {value}"
        ) from None
    target = PREFIX_TO_OBJECT.get(full[:3])
    if target is not None and field.reference_to and target not in field.reference_to:
        raise ValueProblem(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{field.name}: id value of incorrect type: {value} is a {target}, "
            f"expected {' or '.join(field.reference_to)}",
        )
    return full


def _string(field: Field, value: Any, sobject: str) -> str | None:
    if isinstance(value, bool):
        raise _wrong_type(field, value, "string")
    text = value if isinstance(value, str) else str(value)  # Salesforce accepts numbers here
    if text == "":
        return None  # Salesforce stores an empty text as null
    if field.length and len(text) > field.length:
        raise ValueProblem(
            "STRING_TOO_LONG",
            f"{field.name}: data value too large: {text[:40]!r}... (max length={field.length})",
        )
    return text


_COERCE = {
    "boolean": _boolean,
    "currency": _number,
    "double": _number,
    "int": _number,
    "percent": _number,
    "date": _date,
    "datetime": _datetime,
    "reference": _reference,
    "id": _reference,
}
