"""Deal registration: is a registration protecting a partner today, and who won a conflict.

Validity: ``approved_on + valid_days`` (inclusive), or ``expires_on`` when the org keeps
one; the registered partner must be a partner account. Conflicts: among open deals whose
approved, unexpired registrations are held by different partners and share the conflict
key, the earliest approval wins (tie: lowest opportunity Id); the others go to Review
naming the winner.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

from syncd.engine.domain import Account, Opportunity
from syncd.engine.inputs import CONFLICT_GROUP, OPPORTUNITY, REGISTERED_PARTNER, family
from syncd.engine.rules import codes
from syncd.engine.rules.partners import partner_problem
from syncd.engine.rules.text import squeeze

if TYPE_CHECKING:
    from syncd.engine.rules.context import Context
    from syncd.engine.rules.state import Deal

VALID, EXPIRED, DEFECT = "valid", "expired", "defect"

REGISTRATION = family(
    "registration",
    OPPORTUNITY,
    ((), "registration is_closed account_id extra"),
    ((REGISTERED_PARTNER,), "is_partner name"),
    # A conflict is decided among the open registered deals on the same account.
    ((CONFLICT_GROUP,), "registration is_closed account_id extra"),
    ((CONFLICT_GROUP, REGISTERED_PARTNER), "is_partner"),
)


class RegState(NamedTuple):
    state: str  # VALID | EXPIRED | DEFECT
    partner_id: str | None
    approved_on: date | None
    detail: str = ""  # valid / expired: the registration in words, naming the partner
    until: date | None = None  # the last day it protects


class ConflictLoss(NamedTuple):
    winner_opportunity_id: str
    winner_partner_id: str


def registration_state(
    opp: Opportunity, today: date, valid_days: int, accounts: Mapping[str, Account]
) -> RegState | None:
    """None when there is no approved registration; otherwise valid / expired / defect.

    A registration naming an account that is not a partner (the customer itself, another
    customer, an Id syncd cannot see) protects nobody: a defect a person must fix.
    """
    reg = opp.registration
    if reg is None or not reg.approved:
        return None
    partner, approved_on, expires_on = reg.partner_id, reg.approved_on, reg.expires_on
    if partner is None:
        return RegState(DEFECT, None, approved_on, "approved registration names no partner")
    problem = partner_problem(accounts, partner, opp.account_id, "registered partner")
    if problem is not None:
        return RegState(DEFECT, None, approved_on, problem)
    if expires_on is None:
        if approved_on is None:
            return RegState(DEFECT, partner, None, "approved registration has no approval date")
        expires_on = approved_on + timedelta(days=valid_days)
    # ``detail`` is what the reason says (rules.words), built once per registration here
    # from names and dates formatted once each (a registration in six names a date).
    name = _one_line(accounts[partner].name or partner)
    approved = f", approved {_day(approved_on)}" if approved_on is not None else ""
    if expires_on < today:
        words = f"registration by {name}{approved}, expired after {_day(expires_on)}"
        words += ": it protects no one"
        return RegState(EXPIRED, partner, approved_on, words, expires_on)
    words = f"registered by {name}{approved}, valid through {_day(expires_on)}"
    return RegState(VALID, partner, approved_on, words, expires_on)


_day = functools.lru_cache(maxsize=4096)(date.isoformat)
_one_line = functools.lru_cache(maxsize=16384)(squeeze)


ConflictKey = str | tuple[str | None, str | int | None] | None


def conflict_key(opp: Opportunity, field: str | None) -> ConflictKey:
    if field is None:
        return opp.account_id
    value = opp.extra.get(field)
    # An unhashable or odd value must not break grouping: compare its text.
    return (opp.account_id, value if isinstance(value, str | int | None) else repr(value))


def find_conflicts(
    candidates: Mapping[str, tuple[Opportunity, RegState]], field: str | None
) -> dict[str, ConflictLoss]:
    """``candidates``: open deals with a VALID registration -> the losers of each group."""
    groups: dict[ConflictKey, list[tuple[date, str, str]]] = {}
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


def registration_review(ctx: Context, d: Deal) -> None:
    """A person must look at a registration that lost a conflict or protects nobody."""
    reg = d.registration
    if reg is None:
        if d.trace is not None:
            d.note("registration_conflict", False, "no approved registration")
        return
    loss = ctx.losses.get(d.key)
    if loss is None:
        d.note("registration_conflict", False, "no conflict")
    else:  # the reason names the winner in words (rules.words)
        d.review += (codes.DEAL_REG_CONFLICT,)
        won = f"partner {loss.winner_partner_id} registered deal {loss.winner_opportunity_id} first"
        d.note("registration_conflict", True, won)
    if reg.state == DEFECT:
        d.review += (codes.DATA_DEFECT,)
        d.details += (reg.detail,)
