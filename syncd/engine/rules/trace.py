"""Trace lines for ``explain``: which lead rule decided, and why the others did not."""

from __future__ import annotations

from typing import Any

from syncd.engine.domain import Lead, RuleOutcome
from syncd.engine.rules.named import AccountFacts

PATH_RULES = ("global_account", "deal_registration", "renewal", "named_account", "partner_default")


def path_trace(
    tr: list[RuleOutcome],
    chosen: str,
    lead: Lead,
    protected: str | None,
    facts: AccountFacts,
    reg: Any,
    opp: Any,
) -> None:
    why = {
        "global_account": f"global account: {facts.global_account}",
        "deal_registration": "registration: "
        + (f"{reg.state}, {reg.detail}" if reg is not None else "none approved"),
        "renewal": f"renewal: {opp.is_renewal is True}, incumbent "
        f"{facts.incumbent_partner_id}, named {facts.named}",
        "named_account": f"named: {facts.named} (via parent: {facts.named_via_parent})",
        "partner_default": "not named, not global: partner-led",
    }
    decided = False
    for rule in PATH_RULES:
        if rule == chosen:
            decided = True
            tr.append(RuleOutcome(rule, True, f"{why[rule]} -> {lead.value} / {protected or '–'}"))
        else:
            later = " (a higher rule decided)" if decided else ""
            tr.append(RuleOutcome(rule, False, why[rule] + later))
