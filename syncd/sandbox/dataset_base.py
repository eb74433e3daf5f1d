"""What a dataset is, and the small helpers the demo and synthetic builders share.

A dataset is plain Salesforce-shaped data: sobject name -> records keyed by Salesforce
field names, exactly what the sandbox org loads and what a real org would return. Every
record carries an explicit 18-character Id made with ``syncd.sfid.make_id`` so that two
builds with the same arguments are identical, Id for Id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from syncd.sfid import KEY_PREFIX, make_id

Record = dict[str, Any]

# The enforcement dates of the default rules file (config/rules.yaml), repeated here on
# purpose: the landmarks are an independent statement of what the engine must decide, so
# they must not read the policy the engine reads. Keep in step with config/rules.yaml.
NA_COUNTRIES = frozenset({"us", "usa", "united states", "ca", "canada", "mx", "mexico"})
APAC_COUNTRIES = frozenset(
    {"jp", "japan", "au", "australia", "sg", "singapore", "in", "india", "cn", "china"}
    | {"kr", "south korea", "korea"}
)
NA_ENFORCED_FROM = date(2026, 7, 20)
APAC_ENFORCED_FROM = date(2027, 4, 1)
DEFAULT_ENFORCED_FROM = date(2026, 11, 1)
REGISTRATION_VALID_DAYS = 90
GRANDFATHERED_CREATED = date(2026, 3, 2)  # the demo's grandfathered deal: before every region
# S29: a well-formed Account Id that no record in the demo org has.
DANGLING_ACCOUNT_ID = make_id(KEY_PREFIX["Account"], 9999)
REFERRAL_FEE_PERCENT = 10

# The fields syncd writes; they start empty unless a record says otherwise.
ACCOUNT_OUTPUT_FIELDS = ("RoE_Engagement_Lead__c", "RoE_Lead_Partner__c", "RoE_Reason__c")
OPPORTUNITY_OUTPUT_FIELDS = (
    "RoE_Expected_Lead__c",
    "RoE_Protected_Partner__c",
    "RoE_Status__c",
    "RoE_Reason__c",
    "RoE_Comp_Eligible__c",
    "RoE_Remedy__c",
)

# Id counters of the demo and synthetic builders start here, so an Id's number also says
# which builder made it when someone reads a log.
SYNTHETIC_ID_BASE = 1_000_000


@dataclass(frozen=True)
class Dataset:
    """An org's content: sobject -> records (Salesforce field names, explicit 18-char Ids).

    ``today`` is the date the dataset was built for (relative dates hang off it); ``keys``
    names records of the story (e.g. "acct.globex" -> its Id) so landmarks and tests can
    find them without searching by Name.
    """

    records: Mapping[str, Sequence[Mapping[str, Any]]]
    today: date | None = None
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def by_id(self, sobject: str) -> dict[str, Mapping[str, Any]]:
        return {record["Id"]: record for record in self.records.get(sobject, ())}

    def id(self, key: str) -> str:
        """The Id of a named record of the story; KeyError names the key when it is unknown."""
        try:
            return self.keys[key]
        except KeyError:
            raise KeyError(f"dataset has no record named {key!r}") from None

    def count(self, sobject: str) -> int:
        return len(self.records.get(sobject, ()))


@dataclass(frozen=True)
class Landmark:
    """A record whose field values after one cycle (default rules) are known in advance."""

    sobject: str
    id: str
    expected: Mapping[str, Any]


class IdMaker:
    """Deterministic Ids per sobject: the n-th record of an object gets counter base + n."""

    def __init__(self, base: int = 1) -> None:
        self._next: dict[str, int] = {}
        self._base = base

    def __call__(self, sobject: str) -> str:
        number = self._next.get(sobject, self._base)
        self._next[sobject] = number + 1
        return make_id(KEY_PREFIX[sobject], number)


def sf_date(day: date) -> str:
    return day.isoformat()


def sf_datetime(day: date, hour: int = 9, minute: int = 0) -> str:
    """Salesforce's JSON datetime form, always UTC: 2026-10-01T09:00:00.000+0000."""
    moment = datetime.combine(day, time(hour, minute))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def days_ago(today: date, days: int) -> date:
    return today - timedelta(days=days)


def enforcement_date(country: str | None) -> date:
    """The region's enforcement date in the default rules, from an ISO code or a name."""
    key = (country or "").strip().lower()
    if key in NA_COUNTRIES:
        return NA_ENFORCED_FROM
    if key in APAC_COUNTRIES:
        return APAC_ENFORCED_FROM
    return DEFAULT_ENFORCED_FROM


def is_enforced(country: str | None, created: date, today: date) -> bool:
    """Violations are real (not Advisory) once the region enforces and the deal is not older."""
    start = enforcement_date(country)
    return today >= start and created >= start


def freeze(records: Mapping[str, list[Record]]) -> dict[str, tuple[Record, ...]]:
    """Tuples per sobject: the dataset's shape cannot change by accident after it is built."""
    return {sobject: tuple(rows) for sobject, rows in records.items()}
