"""A parsed data API call and the reply to it, in Salesforce's shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@dataclass(frozen=True)
class Call:
    """One data API request, already parsed."""

    method: str
    version: str
    parts: list[str]  # path segments after /services/data/vNN.N/
    params: Mapping[str, str]
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def fail(status: int, code: str, message: str, fields: list[str] | None = None) -> Reply:
    return Reply(status, [{"message": message, "errorCode": code, "fields": fields or []}])
