"""Regions: which enforcement date applies to an account, from its BillingCountry.

Before the date a region enforces nothing (NOT_YET_ENFORCED), and deals created before
it stay advisory for good (GRANDFATHERED): violations are reported, never enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from syncd.engine.inputs import OPPORTUNITY, family
from syncd.engine.picklist import Lookup
from syncd.engine.rules import codes

# The account's region comes with its facts (BillingCountry, in ACCOUNT_LEAD).
ENFORCEMENT_DATE = family("enforcement_date", OPPORTUNITY, ((), "created_at"))

DEFAULT_REGION = "default"


@dataclass(frozen=True, slots=True)
class RegionMap:
    by_country: Lookup[str]  # ISO code or name (any case) -> region
    dates: dict[str, date]  # region -> enforcement date
    default: date
    # BillingCountry as written -> region: an org has a few hundred spellings at most.
    seen: dict[str | None, str] = field(default_factory=dict)

    def region_of(self, country: str | None) -> str:
        found = self.seen.get(country)
        if found is None:
            found = self.by_country.get(country, DEFAULT_REGION)
            if len(self.seen) < 10_000:
                self.seen[country] = found
        return found

    def enforced_from(self, region: str) -> date:
        return self.dates.get(region, self.default)


def compile_regions(
    countries: dict[str, list[str]], dates: dict[str, date], default: date
) -> RegionMap:
    by_country = Lookup((name, region) for region, names in countries.items() for name in names)
    return RegionMap(by_country, dict(dates), default)


def advisory(today: date, enforced_from: date, created_at: datetime | None) -> str | None:
    """None when the region enforces this deal; else NOT_YET_ENFORCED or GRANDFATHERED."""
    if today < enforced_from:
        return codes.NOT_YET_ENFORCED
    if created_at is not None and created_at.date() < enforced_from:
        return codes.GRANDFATHERED
    return None
