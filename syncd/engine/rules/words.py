"""The words of the reason codes that name partners and dates, for one deal.

Most codes say the same on every deal (``codes.MEANING``), so their reason text is one
cached string per reasons tuple. The codes here say who and when —

    PARTNER_DISPLACED, DEAL_REG_APPROVED: Northwind Solutions, the partner the rules
    protect, is not on the deal; registered by Northwind Solutions, approved
    2026-11-01, valid through 2027-01-30

— so the text of a reasons tuple holding one is put together from a plan
(``text.planned_text``): once per protected partner when that is all it names (a partner
displaced from many deals), per deal when it names the deal's registration, whose words
are built once with its state (``registration.registration_state``). Partners are named
by their Account Name (the Id when the name is empty); dates are the registration's own,
never today's, so the same data gives the same text on every cycle and syncd's echo
writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.engine.domain import Lead
from syncd.engine.inputs import (
    CONFLICT_GROUP,
    DEAL_ACCOUNT,
    DEAL_OWNER,
    DEAL_PARTNER,
    INCUMBENT,
    OPPORTUNITY,
    PORTAL_PARTNER,
    REGISTERED_PARTNER,
    family,
)
from syncd.engine.rules import codes
from syncd.engine.rules.text import Words, squeeze

if TYPE_CHECKING:
    from syncd.engine.rules.context import Context
    from syncd.engine.rules.state import Deal

# The names the words read (the dates come with the registration, read by its family).
WORDS = family(
    "words",
    OPPORTUNITY,
    ((REGISTERED_PARTNER,), "name"),
    ((DEAL_PARTNER,), "name"),
    ((DEAL_OWNER, PORTAL_PARTNER), "name"),
    ((DEAL_ACCOUNT, INCUMBENT), "name"),
    # A lost registration conflict names the deal that won and its partner.
    ((CONFLICT_GROUP,), "name registration"),
    ((CONFLICT_GROUP, REGISTERED_PARTNER), "name"),
)


def name(ctx: Context, account_id: str) -> str:
    """An account's Name on one line (its Id when it has none)."""
    account = ctx.accounts.get(account_id)
    return squeeze(account.name or account_id) if account is not None else account_id


def _registration(ctx: Context, d: Deal) -> str | None:
    """Built once per registration (``registration_state``); a named account adds Joint."""
    reg = d.registration
    if reg is None or reg.partner_id is None:
        return None
    if d.lead is _JOINT and not d.facts.global_account:
        return reg.detail + " (named account: the vendor leads jointly)"
    return reg.detail


def _conflict(ctx: Context, d: Deal) -> str | None:
    loss = ctx.losses.get(d.key)
    if loss is None:
        return None
    won = ctx.snapshot.opportunities.get(loss.winner_opportunity_id)
    state = ctx.registrations.get(loss.winner_opportunity_id)
    when = f", approved {state.approved_on}" if state and state.approved_on else ""
    deal = squeeze(won.name) if won is not None and won.name else loss.winner_opportunity_id
    reg = d.registration
    mine = name(ctx, reg.partner_id) if reg and reg.partner_id else "this partner"
    return f"{name(ctx, loss.winner_partner_id)} registered first (on {deal}{when}), before {mine}"


def _displaced(ctx: Context, d: Deal) -> str | None:
    protected = d.protected
    if protected is None:
        return None
    key = (codes.PARTNER_DISPLACED, protected)
    found = ctx.words.get(key)  # a partner is displaced from many deals: worded once
    if found is None:
        words = f"{name(ctx, protected)}, the partner the rules protect, is not on the deal"
        found = ctx.words[key] = words
    return found


def _with_partner(code: str, meaning: str, role: str) -> Words:
    """A lead code whose protected partner keeps a role: the generic words, naming it."""

    def words(ctx: Context, d: Deal) -> str | None:
        protected = d.protected
        if protected is None or d.registered is not None:  # the registration names it
            return None
        key = (code, protected)
        found = ctx.words.get(key)
        if found is None:
            found = ctx.words[key] = f"{meaning}; {role} {name(ctx, protected)}"
        return found

    return words


_JOINT = Lead.JOINT
# The codes whose words are the deal's own (its registration); the others name only the
# partner the rules protect (``Plan.by_deal``).
BY_DEAL = frozenset({codes.DEAL_REG_APPROVED, codes.DEAL_REG_EXPIRED, codes.DEAL_REG_CONFLICT})
# The codes with words of their own; every other code says its generic meaning.
WORDED: dict[str, Words] = {
    codes.PARTNER_DISPLACED: _displaced,
    codes.DEAL_REG_APPROVED: _registration,
    codes.DEAL_REG_EXPIRED: _registration,
    codes.DEAL_REG_CONFLICT: _conflict,
    codes.GLOBAL_ACCOUNT: _with_partner(
        codes.GLOBAL_ACCOUNT, "global account, vendor leads", "jointly with"
    ),
    codes.RENEWAL_INCUMBENT: _with_partner(
        codes.RENEWAL_INCUMBENT, "renewal follows the relationship owner", "incumbent"
    ),
    codes.NAMED_ACCOUNT: _with_partner(
        codes.NAMED_ACCOUNT, "named account, vendor leads", "jointly with incumbent"
    ),
    codes.NAMED_VIA_PARENT: _with_partner(
        codes.NAMED_VIA_PARENT, "a parent account is named, vendor leads", "jointly with incumbent"
    ),
}
