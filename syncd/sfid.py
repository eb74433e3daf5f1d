"""Salesforce record Ids: validation and the 15 → 18 character checksum.

The 18-character form appends three characters that encode the case of the first 15,
so it survives case-insensitive tools (Excel, CSV round-trips). Salesforce documents the
algorithm in "What is a Salesforce ID" (knowledge article 000385585).
"""

from __future__ import annotations

import re

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


class InvalidSalesforceId(ValueError):
    """Not a 15- or 18-character Salesforce Id (or its checksum does not match)."""


def _checksum(id15: str) -> str:
    suffix = []
    for block in range(3):
        bits = 0
        for i, ch in enumerate(id15[block * 5 : block * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix.append(_ALPHABET[bits])
    return "".join(suffix)


def to_18(value: str) -> str:
    """Return the 18-character form of a 15- or 18-character Id; raise on anything else."""
    if not isinstance(value, str):
        raise InvalidSalesforceId(f"expected a Salesforce Id string, got {type(value).__name__}")
    candidate = value.strip()
    if not _ID_RE.match(candidate):
        raise InvalidSalesforceId(f"{value!r} is not a Salesforce Id (15 or 18 letters and digits)")
    if len(candidate) == 15:
        return candidate + _checksum(candidate)
    if _checksum(candidate[:15]) != candidate[15:]:
        raise InvalidSalesforceId(f"{value!r} has a wrong checksum (last 3 characters)")
    return candidate


def is_valid(value: object) -> bool:
    try:
        to_18(value)  # type: ignore[arg-type]
    except InvalidSalesforceId:
        return False
    return True


def make_id(prefix: str, number: int) -> str:
    """A deterministic 18-char Id: a 3-char key prefix, a zero-padded counter, the checksum.

    Used by the sandbox org and the demo dataset; real orgs assign their own.
    """
    if len(prefix) != 3:
        raise ValueError("key prefix must be 3 characters")
    body = f"{prefix}5g{number:010d}"  # "5g" stands in for the pod/instance characters
    if len(body) != 15:
        raise ValueError(f"counter {number} too large for an Id")
    return body + _checksum(body)


# Key prefixes of the standard objects syncd touches.
KEY_PREFIX = {
    "Account": "001",
    "Opportunity": "006",
    "User": "005",
    "Task": "00T",
    "OpportunityPartner": "00J",
    "RoE_Scorecard__c": "a0S",  # custom objects get an org-specific prefix; this is the sandbox's
    "RoE_Violation__e": "e00",  # platform event messages
}
