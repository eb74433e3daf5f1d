"""Violation occurrences over a period, bucket by bucket: what the scorecard's chart draws.

Pure. A bucket is a day for periods of up to 62 days and a week (from Mondays, clipped to
the period) for longer ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from syncd.engine.enforcement import VIOLATION, LedgerEntry
from syncd.engine.period import Period


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One day (periods up to 62 days) or week (longer ones, from Mondays) of a period."""

    day: date
    opened: Mapping[str, int]  # code -> occurrences first seen in the bucket
    resolved: int  # occurrences resolved in the bucket
    open_at_end: int  # occurrences open at the bucket's end


def timeline(ledger: Iterable[LedgerEntry], period: Period) -> tuple[TimelinePoint, ...]:
    """Violation occurrences over the period, bucket by bucket (for the chart)."""
    step = timedelta(days=1 if period.days <= 62 else 7)
    first = period.start.date()
    if step.days == 7:
        first -= timedelta(days=first.weekday())
    starts = []
    while _instant(first) < period.end:
        starts.append(first)
        first += step
    entries = [e for e in ledger if e.kind == VIOLATION]
    points = []
    for day in starts:
        begin, end = max(_instant(day), period.start), min(_instant(day + step), period.end)
        opened: dict[str, int] = {}
        for e in entries:
            if begin <= e.first_seen < end:
                opened[e.code] = opened.get(e.code, 0) + 1
        resolved = sum(1 for e in entries if e.resolved_at and begin <= e.resolved_at < end)
        standing = sum(
            1
            for e in entries
            if e.first_seen < end and (e.resolved_at is None or e.resolved_at >= end)
        )
        points.append(TimelinePoint(day, dict(sorted(opened.items())), resolved, standing))
    return tuple(points)


def _instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
