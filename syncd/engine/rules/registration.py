"""Deal registration: is a registration protecting a partner today, and who won a conflict.

Validity: ``approved_on + valid_days`` (inclusive), or ``expires_on`` when the org keeps
one. Conflicts: among open deals whose approved, unexpired registrations are held by
different partners and share the conflict key, the earliest approval wins (tie: lowest
opportunity Id); the others go to Review naming the winner.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from syncd.engine.domain import Account
from syncd.engine.rules.named import text_or_none
from syncd.engine.rules.partners import partner_problem

VALID, EXPIRED, DEFECT = "valid", "expired", "defect"


class RegState(NamedTuple):
    state: str  # VALID | EXPIRED | DEFECT
    partner_id: str | None
    approved_on: date | None
    detail: str = ""


class ConflictLoss(NamedTuple):
    winner_opportunity_id: str
    winner_partner_id: str


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def registration_state(
    opp: Any, today: date, valid_days: int, accounts: Mapping[str, Account]
) -> RegState | None:
    """None when there is no approved registration; otherwise valid / expired / defect.

    A registration naming an account that is not a partner (the customer itself, another
    customer, an Id syncd cannot see) protects nobody: a defect a person must fix.
    """
    reg = opp.registration
    if reg is None or getattr(reg, "approved", False) is not True:
        return None
    partner = text_or_none(reg.partner_id)
    approved_on, expires_on = _day(reg.approved_on), _day(reg.expires_on)
    if partner is None:
        return RegState(DEFECT, None, approved_on, "approved registration names no partner")
    problem = partner_problem(accounts, partner, text_or_none(opp.account_id), "registered partner")
    if problem is not None:
        return RegState(DEFECT, None, approved_on, problem)
    if expires_on is None:
        if approved_on is None:
            return RegState(DEFECT, partner, None, "approved registration has no approval date")
        expires_on = approved_on + timedelta(days=valid_days)
    if expires_on < today:
        return RegState(EXPIRED, partner, approved_on, f"expired {expires_on.isoformat()}")
    return RegState(VALID, partner, approved_on, f"valid until {expires_on.isoformat()}")


def conflict_key(opp: Any, field: str | None) -> Any:
    account = text_or_none(opp.account_id)
    if field is None:
        return account
    extra = opp.extra if isinstance(opp.extra, Mapping) else {}
    value = extra.get(field)
    # An unhashable or odd value must not break grouping: compare its text.
    return (account, value if isinstance(value, str | int | None) else repr(value))


def find_conflicts(
    candidates: Mapping[str, tuple[Any, RegState]], field: str | None
) -> dict[str, ConflictLoss]:
    """``candidates``: open deals with a VALID registration -> the losers of each group."""
    groups: dict[Any, list[tuple[date, str, str]]] = {}
    for key, (opp, state) in candidates.items():
        if state.partner_id is None:
            continue
        order = state.approved_on or date.max
        groups.setdefault(conflict_key(opp, field), []).append((order, key, state.partner_id))
    losses: dict[str, ConflictLoss] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        _, winner, winner_partner = min(members)
        for _, key, partner in members:
            if partner != winner_partner:
                losses[key] = ConflictLoss(winner, winner_partner)
    return losses
