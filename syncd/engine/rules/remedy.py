"""What a partner displaced from a closed-won deal is owed: a referral fee, never dropped.

"referral fee 25000.00 EUR to Acme Partners": a share of the Amount, in the deal's
currency in multi-currency orgs. With no Amount the fee is still owed, so the remedy says
so ("referral fee 10 % to Acme Partners (deal amount missing)").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.engine.inputs import (
    DEAL_ACCOUNT,
    DEAL_PARTNER,
    INCUMBENT,
    OPPORTUNITY,
    REGISTERED_PARTNER,
    family,
)
from syncd.engine.rules import codes
from syncd.engine.rules.state import Deal
from syncd.engine.rules.text import fit

if TYPE_CHECKING:
    from syncd.engine.rules.context import Context

# The remedy names the protected partner: registered, incumbent or the deal's own.
REMEDY = family(
    "remedy",
    OPPORTUNITY,
    ((), "is_won amount currency"),
    ((REGISTERED_PARTNER,), "name"),
    ((DEAL_ACCOUNT, INCUMBENT), "name"),
    ((DEAL_PARTNER,), "name"),
)


def remedy(ctx: Context, d: Deal) -> str | None:
    """The referral fee owed when an enforced PARTNER_DISPLACED stands on a closed-won deal."""
    protected = d.protected
    if not d.opp.is_won or protected is None:
        return None
    if not any(v.code == codes.PARTNER_DISPLACED for v in d.violations):
        return None
    partner = ctx.accounts.get(protected)
    name = partner.name if partner is not None and partner.name else protected
    amount, currency = d.opp.amount, (d.opp.currency or "").strip()
    if amount is None:
        return fit(f"referral fee {ctx.fee_percent_text} % to {name} (deal amount missing)")
    if not amount.is_finite():  # the mapping makes these defects; never a fee of "NaN"
        d.review += (codes.DATA_DEFECT,)
        d.details += (f"deal amount {amount} is not a number",)
        return fit(f"referral fee {ctx.fee_percent_text} % to {name} (deal amount unusable)")
    fee = amount * ctx.fee_percent / 100
    return fit(f"referral fee {fee:.2f}{' ' if currency else ''}{currency} to {name}")
