"""Who should lead a deal, and which partner the rules protect: the lead rules, in order.

global account -> approved unexpired registration -> renewal (relationship owner) ->
named account -> partner-led default. The first rule that applies sets the deal's lead,
protected partner and reason codes and returns True; the default always applies. A new
lead rule is a function here and a place in ``LEAD_RULES``; ``rules.deal`` calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from syncd.engine.domain import Lead
from syncd.engine.inputs import OPPORTUNITY, family
from syncd.engine.rules import codes
from syncd.engine.rules.named import AccountFacts
from syncd.engine.rules.state import Deal

# What the lead rules read beyond the account's facts, the registration and the partner
# (declared by their own families).
LEAD_READS = family("lead", OPPORTUNITY, ((), "is_renewal"))

_GLOBAL, _GLOBAL_REG = (codes.GLOBAL_ACCOUNT,), (codes.GLOBAL_ACCOUNT, codes.DEAL_REG_APPROVED)
_REG, _RENEWAL = (codes.DEAL_REG_APPROVED,), (codes.RENEWAL_INCUMBENT,)
_NAMED, _VIA_PARENT = (codes.NAMED_ACCOUNT,), (codes.NAMED_VIA_PARENT,)
_DEFAULT = (codes.PARTNER_LED_DEFAULT,)
_DIRECT, _PARTNER, _JOINT = Lead.DIRECT, Lead.PARTNER, Lead.JOINT


def global_account(d: Deal) -> bool:
    """The vendor leads; a registered or incumbent partner keeps a role (Joint)."""
    if not d.facts.global_account:
        return False
    protected = d.registered or d.facts.incumbent_partner_id
    d.lead, d.protected = (_JOINT if protected else _DIRECT), protected
    d.path = _GLOBAL_REG if d.registered else _GLOBAL
    return True


def deal_registration(d: Deal) -> bool:
    """The registered partner leads; on a named account the vendor leads with it (Joint)."""
    if d.registered is None:
        return False
    d.lead, d.protected, d.path = (_JOINT if d.facts.named else _PARTNER), d.registered, _REG
    return True


def renewal(d: Deal) -> bool:
    """Renewals follow the relationship owner: the incumbent partner, or the named vendor."""
    incumbent = d.facts.incumbent_partner_id
    if not d.opp.is_renewal or not (incumbent or d.facts.named):
        return False
    d.lead, d.protected, d.path = (_PARTNER if incumbent else _DIRECT), incumbent, _RENEWAL
    return True


def named_account(d: Deal) -> bool:
    """The vendor leads; with the incumbent partner on the deal, jointly."""
    facts = d.facts
    if not facts.named:
        return False
    incumbent = facts.incumbent_partner_id
    if incumbent is not None and d.partner == incumbent:
        d.lead, d.protected = _JOINT, incumbent
    else:
        d.lead, d.protected = _DIRECT, None
    d.path = _VIA_PARENT if facts.named_via_parent else _NAMED
    return True


def partner_default(d: Deal) -> bool:
    """Everything else is partner-led; the incumbent (or the deal's partner) is protected."""
    d.lead, d.protected, d.path = _PARTNER, d.facts.incumbent_partner_id or d.partner, _DEFAULT
    return True


@dataclass(frozen=True, slots=True)
class LeadRule:
    name: str
    applies: Callable[[Deal], bool]
    why: Callable[[Deal], str]  # for explain: what the rule looked at
    # The account facts one of which must be set for the rule to apply to any deal on the
    # account (empty: it may apply anywhere). The fast path skips the rules that cannot:
    # most accounts are neither global nor named.
    needs: tuple[str, ...] = ()


LEAD_RULES = (
    LeadRule("global_account", global_account,
             lambda d: f"global account: {d.facts.global_account}", ("global_account",)),
    LeadRule("deal_registration", deal_registration, lambda d: "registration: " + (
        f"{d.registration.state}, {d.registration.detail}" if d.registration else "none approved"
    )),
    LeadRule("renewal", renewal, lambda d: f"renewal: {d.opp.is_renewal}, incumbent "
             f"{d.facts.incumbent_partner_id}, named {d.facts.named}",
             ("incumbent_partner_id", "named")),
    LeadRule("named_account", named_account, lambda d: f"named: {d.facts.named} "
             f"(via parent: {d.facts.named_via_parent})", ("named",)),
    LeadRule("partner_default", partner_default, lambda d: "not named, not global: partner-led"),
)  # fmt: skip
LeadRules = tuple[Callable[[Deal], bool], ...]
_NEEDED = tuple(dict.fromkeys(fact for rule in LEAD_RULES for fact in rule.needs))
_needed = attrgetter(*_NEEDED)  # several names: it returns a tuple
_BY_SHAPE: dict[tuple[bool, ...], LeadRules] = {}


def lead_rules_for(facts: AccountFacts) -> LeadRules:
    """The lead rules that can apply on an account, in order (the fast path calls these
    until one applies; the property tests check it decides as the whole list does)."""
    shape = tuple(map(bool, _needed(facts)))
    found = _BY_SHAPE.get(shape)
    if found is None:
        present = {fact for fact, value in zip(_NEEDED, shape, strict=True) if value}
        found = _BY_SHAPE[shape] = tuple(
            r.applies for r in LEAD_RULES if not r.needs or present.intersection(r.needs)
        )
    return found


def choose_lead_traced(d: Deal) -> None:
    """The first lead rule that applies decides; every rule says what it looked at."""
    decided = False
    for rule in LEAD_RULES:
        if not decided and rule.applies(d):
            decided = True
            outcome = f" -> {d.lead.value} / {d.protected or '–'}"
            d.note(rule.name, True, rule.why(d) + outcome)
        else:
            d.note(rule.name, False, rule.why(d) + (" (a higher rule decided)" if decided else ""))
