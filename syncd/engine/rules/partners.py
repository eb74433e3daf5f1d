"""Is the account a deal (or a customer) names as its partner really a partner?

A partner is an account with IsPartner set, other than the customer itself. Anything
else — the customer's own account, another customer, an Id syncd cannot see — counts as
no partner, so naming one cannot shield a direct rep from DIRECT_ON_PARTNER_ACCOUNT and
is never written as a protected or lead partner.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncd.engine.domain import Account


def partner_problem(
    accounts: Mapping[str, Account], partner_id: str, customer_id: str | None, role: str
) -> str | None:
    """None when ``partner_id`` is a partner account; else why not, naming the account.

    ``role`` says what named it ("partner", "incumbent partner", "registered partner").
    """
    account = accounts.get(partner_id)
    if account is not None and account.is_partner is True and partner_id != customer_id:
        return None
    if account is None:
        return f"{role} {partner_id} is not an account syncd can see"
    label = f"{role} {account.name or '(no name)'} ({partner_id})"
    if partner_id == customer_id:
        return f"{label} is the customer's own account, not a partner"
    return f"{label} is not a partner account"
