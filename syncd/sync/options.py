"""How a cycle runs: the settings it takes (thresholds, concurrency, the overlap)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from syncd.salesforce.bounds import BULK_READ_THRESHOLD


@dataclass(frozen=True)
class CycleOptions:
    api_reserve_percent: float = 20.0  # below this share of the daily allowance: no writes
    bulk_threshold: int = BULK_READ_THRESHOLD  # reads of more rows go through Bulk API 2.0
    write_concurrency: int = 4  # write calls in flight at once
    bulk_write_threshold: int = 5_000  # writes of more records go through Bulk API 2.0
    overlap: timedelta = timedelta(minutes=5)  # re-read before each watermark

    @classmethod
    def from_settings(cls, settings: Any) -> CycleOptions:
        return cls(
            api_reserve_percent=settings.api_reserve_percent,
            bulk_threshold=settings.bulk_threshold,
            write_concurrency=settings.write_concurrency,
            bulk_write_threshold=settings.bulk_write_threshold,
            overlap=timedelta(seconds=settings.overlap_seconds),
        )
