"""Who may work a partner-led deal that has no partner on it, by the owner's role."""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd.engine.domain import Role
from syncd.engine.inputs import DEAL_OWNER, OPPORTUNITY, family
from syncd.engine.picklist import Choices
from syncd.engine.rules import codes

if TYPE_CHECKING:
    from syncd.engine.rules.context import Context
    from syncd.engine.rules.state import Deal

UNPARTNERED = family("unpartnered_deal", OPPORTUNITY, ((), "lead_source"), ((DEAL_OWNER,), "role"))


class LeadSources:
    def __init__(self, outbound: list[str], inbound: list[str]):
        self.outbound = Choices(outbound)
        self.inbound = Choices(inbound)
        self._seen: dict[str, str | None] = {}  # a handful of picklist values, folded once

    def kind(self, lead_source: str | None) -> str | None:
        if lead_source is None:
            return None
        found = self._seen.get(lead_source, "")
        if found == "":
            found = "outbound" if lead_source in self.outbound else None
            if found is None and lead_source in self.inbound:
                found = "inbound"
            if len(self._seen) < 10_000:
                self._seen[lead_source] = found
        return found


def unpartnered_code(
    role: Role | None, lead_source: str | None, sources: LeadSources
) -> str | None:
    """The code for a partner-led deal with no partner at all, or None when it is fine.

    A field rep (or a telesales rep on a non-telesales lead) is a direct sale on a
    partner-led account; outbound telesales has its own code; inbound telesales and a
    partner manager without a partner need a person to look (Review).
    """
    if role is Role.FIELD:
        return codes.DIRECT_ON_PARTNER_ACCOUNT
    if role is Role.TELESALES:
        kind = sources.kind(lead_source)
        if kind == "outbound":
            return codes.TELESALES_OUTBOUND
        if kind == "inbound":
            return codes.INBOUND_NEEDS_PARTNER
        return codes.DIRECT_ON_PARTNER_ACCOUNT
    if role is Role.PARTNER_MANAGER or role is Role.PARTNER_USER:
        return codes.PARTNER_MISSING
    return None


def unpartnered(ctx: Context, d: Deal) -> None:
    """A partner-led deal with no partner and none protected: who owns it decides."""
    owner = d.owner
    role = owner.role if owner is not None else None
    code = unpartnered_code(role, d.opp.lead_source, ctx.sources)
    if code is not None and code in codes.REVIEW_CODES:
        d.review += (code,)
    elif code is not None:
        d.violations += (ctx.violation(code, d.opp.owner_id, None),)
    if d.trace is not None:
        why = f"owner {role}, lead source {d.opp.lead_source!r}: {code or 'allowed'}"
        d.note("unpartnered_deal", code is not None, why)
