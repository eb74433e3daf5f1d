"""Reporting periods: a calendar month, a quarter, or the last N days. Pure.

``2026-11`` is November 2026, ``2026-Q4`` October to December 2026, ``rolling-90d`` the
90 days up to now. A period is the half-open interval [start, end) in UTC. It is *open*
while its end is still ahead: its point-in-time figures are as of now; a closed one's
are as of its last instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_ROLLING = re.compile(r"^rolling-(\d{1,4})d$")
_INSTANT = timedelta(microseconds=1)
EXPECTED = "YYYY-MM (2026-11), YYYY-Qn (2026-Q4) or rolling-Nd (rolling-90d)"


class InvalidPeriod(ValueError):
    """The text names no period syncd knows, or one that has not begun."""


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # as the user wrote it, normalised: "2026-11", "2026-Q4", "rolling-90d"
    start: datetime
    end: datetime  # exclusive
    as_of: datetime  # the instant point-in-time figures describe
    is_open: bool  # still running: its figures are as of now

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


def parse_period(text: str, now: datetime) -> Period:
    """The period ``text`` names, seen at ``now`` (which fixes rolling periods and as-of)."""
    value = text.strip()
    if found := _MONTH.match(value):
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12:
            raise InvalidPeriod(f"{text!r}: month {month} does not exist; expected {EXPECTED}")
        start = _midnight(date(year, month, 1))
        return _bounded(f"{year:04d}-{month:02d}", start, _month_after(start), now)
    if found := _QUARTER.match(value):
        year, quarter = int(found[1]), int(found[2])
        start = _midnight(date(year, 3 * quarter - 2, 1))
        end = _month_after(_month_after(_month_after(start)))
        return _bounded(f"{year:04d}-Q{quarter}", start, end, now)
    if found := _ROLLING.match(value):
        days = int(found[1])
        if not 1 <= days <= 3650:
            raise InvalidPeriod(f"{text!r}: between 1 and 3650 days; expected {EXPECTED}")
        return Period(f"rolling-{days}d", now - timedelta(days=days), now, now, True)
    raise InvalidPeriod(f"{text!r} is not a period; expected {EXPECTED}")


def current_month(now: datetime) -> Period:
    return parse_period(f"{now:%Y-%m}", now)


def _bounded(label: str, start: datetime, end: datetime, now: datetime) -> Period:
    if start > now:
        raise InvalidPeriod(f"{label} has not begun yet (today is {now:%Y-%m-%d})")
    last = end - _INSTANT
    return Period(label, start, end, min(now, last), now < last)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _month_after(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
