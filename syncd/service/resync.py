"""Resync requests, from the terminal or the admin API: validated, then queued in the store.

The running daemon drains the queue at its next tick (it also wakes early when one is
queued over HTTP). Ids are validated here so a typo is refused at the door, not mid-cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from syncd.sfid import InvalidSalesforceId, to_18
from syncd.store.store import Store

ACCOUNT_PREFIX, OPPORTUNITY_PREFIX = "001", "006"


class InvalidResync(ValueError):
    """A resync request names something that is not an account or opportunity Id."""


@dataclass(frozen=True, slots=True)
class Resync:
    full: bool = False
    accounts: tuple[str, ...] = ()
    opportunities: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.full or self.accounts or self.opportunities)


def build_resync(
    *, full: bool = False, accounts: Iterable[str] = (), opportunities: Iterable[str] = ()
) -> Resync:
    """Validate (15/18-char Ids with the right key prefix) and normalise to 18 chars."""
    resync = Resync(
        full=full,
        accounts=_ids(accounts, ACCOUNT_PREFIX, "account"),
        opportunities=_ids(opportunities, OPPORTUNITY_PREFIX, "opportunity"),
    )
    if resync.empty:
        raise InvalidResync("name at least one account or opportunity, or ask for a full resync")
    return resync


def _ids(values: Iterable[str], prefix: str, what: str) -> tuple[str, ...]:
    ids = []
    for value in values:
        try:
            normal = to_18(str(value).strip())
        except InvalidSalesforceId as exc:
            raise InvalidResync(f"{what} {value!r}: {exc}") from None
        if not normal.startswith(prefix):
            raise InvalidResync(f"{what} {value!r} is not an {what} Id (those start with {prefix})")
        ids.append(normal)
    return tuple(dict.fromkeys(ids))


def queue(store: Store, resync: Resync, *, source: str, at: datetime) -> int:
    count = 0
    if resync.full:
        count += store.queue_resync("full", [], source=source, at=at)
    if resync.accounts:
        count += store.queue_resync("account", resync.accounts, source=source, at=at)
    if resync.opportunities:
        count += store.queue_resync("opportunity", resync.opportunities, source=source, at=at)
    return count
