"""Plain results the org client hands back: per-record outcomes and API accounting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordFailure:
    """One error Salesforce reported for one record (``statusCode``, ``message``, ``fields``)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordResult:
    """The outcome of one record of an sObject Collections call, in request order."""

    index: int
    id: str | None
    success: bool
    errors: tuple[RecordFailure, ...] = ()
    created: bool | None = None

    @classmethod
    def from_response(cls, index: int, item: Mapping[str, Any]) -> RecordResult:
        errors = tuple(
            RecordFailure(
                code=str(err.get("statusCode") or err.get("errorCode") or "UNKNOWN"),
                message=str(err.get("message") or ""),
                fields=tuple(str(f) for f in err.get("fields") or ()),
            )
            for err in item.get("errors") or ()
        )
        created = item.get("created")
        return cls(
            index=index,
            id=item.get("id"),
            success=bool(item.get("success")),
            errors=errors,
            created=created if isinstance(created, bool) else None,
        )


@dataclass(frozen=True)
class ApiUsage:
    """Org-wide daily API usage from the last ``Sforce-Limit-Info`` header."""

    used: int
    max: int


@dataclass(frozen=True)
class ApiLimits:
    """``DailyApiRequests`` from ``GET limits/``."""

    daily_max: int
    daily_remaining: int
