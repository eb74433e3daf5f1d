"""Who may work a partner-led deal that has no partner on it, by the owner's role."""

from __future__ import annotations

from syncd.engine.domain import Role
from syncd.engine.picklist import Choices
from syncd.engine.rules import codes


class LeadSources:
    def __init__(self, outbound: list[str], inbound: list[str]):
        self.outbound = Choices(outbound)
        self.inbound = Choices(inbound)
        self._seen: dict[str, str | None] = {}  # a handful of picklist values, folded once

    def kind(self, lead_source: str | None) -> str | None:
        if not isinstance(lead_source, str):
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
