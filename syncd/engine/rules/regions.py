"""Regions: which enforcement date applies to an account, from its BillingCountry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

DEFAULT_REGION = "default"


@dataclass(frozen=True, slots=True)
class RegionMap:
    by_country: dict[str, str]  # casefolded ISO code or name -> region
    dates: dict[str, date]  # region -> enforcement date
    default: date

    def region_of(self, country: Any) -> str:
        if isinstance(country, str):
            return self.by_country.get(country.strip().casefold(), DEFAULT_REGION)
        return DEFAULT_REGION

    def enforced_from(self, region: str) -> date:
        return self.dates.get(region, self.default)


def compile_regions(
    countries: dict[str, list[str]], dates: dict[str, date], default: date
) -> RegionMap:
    by_country = {
        name.strip().casefold(): region for region, names in countries.items() for name in names
    }
    return RegionMap(by_country, dict(dates), default)
