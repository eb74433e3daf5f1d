"""Is the account a deal (or a customer) names as its partner really a partner?

A partner is an account with IsPartner set, other than the customer itself. Anything
else — the customer's own account, another customer, an Id syncd cannot see — counts as
no partner, so naming one cannot shield a direct rep from DIRECT_ON_PARTNER_ACCOUNT and
is never written as a protected or lead partner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from syncd.engine.domain import Account, Lead, Role
from syncd.engine.inputs import DEAL_OWNER, DEAL_PARTNER, OPPORTUNITY, PORTAL_PARTNER, family
from syncd.engine.rules import codes
from syncd.engine.rules.telesales import unpartnered

_PARTNER_USER, _PARTNER_LED = Role.PARTNER_USER, Lead.PARTNER

if TYPE_CHECKING:
    from syncd.engine.rules.context import Context
    from syncd.engine.rules.state import Deal

# The partner working a deal: the partner field (or the primary OpportunityPartner row,
# which the mapping puts there), else the company of a partner portal user who owns it.
DEAL_PARTNER_READS = family(
    "deal_partner",
    OPPORTUNITY,
    ((), "partner_id account_id owner_id"),
    ((DEAL_PARTNER,), "is_partner name"),
    ((DEAL_OWNER,), "role partner_account_id"),
    ((DEAL_OWNER, PORTAL_PARTNER), "is_partner name"),
)


def partner_problem(
    accounts: Mapping[str, Account], partner_id: str, customer_id: str | None, role: str
) -> str | None:
    """None when ``partner_id`` is a partner account; else why not, naming the account.

    ``role`` says what named it ("partner", "incumbent partner", "registered partner").
    """
    account = accounts.get(partner_id)
    if account is not None and account.is_partner and partner_id != customer_id:
        return None
    if account is None:
        return f"{role} {partner_id} is not an account syncd can see"
    label = f"{role} {account.name or '(no name)'} ({partner_id})"
    if partner_id == customer_id:
        return f"{label} is the customer's own account, not a partner"
    return f"{label} is not a partner account"


def find_partner(d: Deal, accounts: Mapping[str, Account]) -> None:
    """Set ``d.partner``: the deal's partner when it is a partner account, else None."""
    partner = d.opp.partner_id
    if partner is not None:
        account = accounts.get(partner)  # inlined check: four deals in ten name a partner
        if account is None or not account.is_partner or partner == d.opp.account_id:
            _not_a_partner(d, accounts, partner)
            partner = None
    owner = d.owner
    if partner is None and owner is not None and owner.role is _PARTNER_USER:
        partner = owner.partner_account_id
        if partner is not None and partner_problem(accounts, partner, d.opp.account_id, ""):
            _not_a_partner(d, accounts, partner)
            partner = None
    d.partner = partner


def _not_a_partner(d: Deal, accounts: Mapping[str, Account], partner: str) -> None:
    problem = partner_problem(accounts, partner, d.opp.account_id, "partner") or partner
    d.notes += (codes.PARTNER_NOT_A_PARTNER,)
    d.details += (problem,)
    d.note("partner_is_a_partner", False, problem)


def partner_on_deal(ctx: Context, d: Deal) -> None:
    """The partner the rules protect must be on the deal (PARTNER_DISPLACED); a partner-led
    deal with no partner at all is judged by who owns it (``telesales.unpartnered``)."""
    protected = d.protected
    if protected is not None and d.partner != protected:
        d.violations += (ctx.violation(codes.PARTNER_DISPLACED, d.opp.owner_id, protected),)
        if d.trace is not None:
            has = d.partner or "no partner"
            d.note("partner_displaced", True, f"{protected} is protected; the deal has {has}")
        return
    if d.trace is not None:
        d.note("partner_displaced", False, "no protected partner, or it is on the deal")
    if d.partner is None and protected is None and d.lead is _PARTNER_LED:
        unpartnered(ctx, d)
