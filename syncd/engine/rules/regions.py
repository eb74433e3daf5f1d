"""Regions: which enforcement date applies to an account, from its BillingCountry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from syncd.engine.picklist import Lookup

DEFAULT_REGION = "default"


@dataclass(frozen=True, slots=True)
class RegionMap:
    by_country: Lookup[str]  # ISO code or name (any case) -> region
    dates: dict[str, date]  # region -> enforcement date
    default: date

    def region_of(self, country: str | None) -> str:
        return self.by_country.get(country, DEFAULT_REGION)

    def enforced_from(self, region: str) -> date:
        return self.dates.get(region, self.default)


def compile_regions(
    countries: dict[str, list[str]], dates: dict[str, date], default: date
) -> RegionMap:
    by_country = Lookup((name, region) for region, names in countries.items() for name in names)
    return RegionMap(by_country, dict(dates), default)
