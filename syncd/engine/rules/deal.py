"""The decision for one opportunity: precedence, then the checks, then the status.

1. Outside the rules: a deal on a partner's own account, a closed-lost deal (None).
2. Unjudgeable: its account is not visible (Review ACCOUNT_MISSING).
3. The partner on the deal, if it is a partner (``rules.partners``).
4. An admin override with a reason decides (Exempt; ``rules.overrides``).
5. The lead rules (``rules.lead.LEAD_RULES``), the first that applies: global,
   registration, renewal, named, partner-led default.
6. An exception channel operations approved decides (Exempt); a pending or unclear one,
   a registration conflict or defect, a value the mapping could not use: Review codes.
7. The violation checks (``CHECKS``), in order.
8. Enforcement and status: violations the region's date does not hold back are enforced
   (compensation withheld, the remedy owed) whatever the status shows; any Review code
   makes it Review, else Advisory / Violation / Compliant.

A new rule is a function in its family's module and a place in ``LEAD_RULES`` or
``CHECKS``. Steps with nothing to look at are skipped by a guard here (this runs a
million times per full cycle). ``trace`` (a list) collects the lines ``explain`` shows;
the fast path passes None and builds no RuleOutcome at all.
"""

from __future__ import annotations

from collections.abc import Callable

from syncd.engine.domain import Lead, Opportunity, OpportunityDecision, Role, RuleOutcome, Status
from syncd.engine.inputs import DEAL_ACCOUNT, DEAL_OWNER, OPPORTUNITY, family
from syncd.engine.rules import codes
from syncd.engine.rules.build import new_decision
from syncd.engine.rules.context import Context
from syncd.engine.rules.custom import custom_rules
from syncd.engine.rules.lead import choose_lead_traced
from syncd.engine.rules.overrides import exception_approved, override
from syncd.engine.rules.partners import find_partner, partner_on_deal
from syncd.engine.rules.regions import advisory
from syncd.engine.rules.registration import EXPIRED, registration_review
from syncd.engine.rules.remedy import remedy
from syncd.engine.rules.state import Deal, Trace

# Which deals the rules judge at all, and the data defects that make a person look.
ELIGIBILITY = family(
    "eligibility",
    OPPORTUNITY,
    ((), "account_id is_closed is_won defects"),
    ((DEAL_ACCOUNT,), "is_partner defects"),
    ((DEAL_OWNER,), "defects"),
)


def data_defects(d: Deal) -> None:
    """A value the mapping could not use, on the deal, its account or its owner: Review."""
    for label, record in (("deal", d.opp), ("account", d.account), ("owner", d.owner)):
        if record is not None and record.defects:
            d.review += (codes.DATA_DEFECT,)
            d.details = (f"{label}: {record.defects[0]}", *d.details)
            d.note("data_defects", True, d.details[0])
            return


_PORTAL_USER = Role.PARTNER_USER

# The violation checks, in order: each adds the violations it finds.
Check = Callable[[Context, Deal], None]
CHECKS: tuple[Check, ...] = (
    partner_on_deal,  # the protected partner displaced; no partner, judged by the owner
    custom_rules,  # CUSTOM:<id> from the rules file
)


def decide(
    ctx: Context, key: str, opp: Opportunity, tr: Trace = None
) -> OpportunityDecision | None:
    """None when the deal is outside the rules (on a partner account, closed lost)."""
    account_id = opp.account_id
    account = ctx.accounts.get(account_id) if account_id else None
    if account is not None and account.is_partner:
        if tr is not None:
            tr.append(
                RuleOutcome("partner_account", True, "the deal is on a partner's own account")
            )
        return None
    if opp.is_closed and not opp.is_won:
        if tr is not None:
            tr.append(RuleOutcome("closed_lost", True, "closed-lost deals are not evaluated"))
        return None
    if account is None or account_id is None:
        if tr is not None:
            why = f"account {account_id or '(none)'} not in the data"
            tr.append(RuleOutcome("account_visible", False, why))
        return ctx.review(key, account_id, codes.ACCOUNT_MISSING, f"account {account_id}")
    owner = ctx.users.get(opp.owner_id) if opp.owner_id else None
    facts, lead_rules = ctx.known.get(account_id) or ctx.account(account_id)
    registration = ctx.registrations.get(key)
    d = ctx.deal.reset(key, opp, account, facts, owner, registration, tr)
    # The guards skip calls for the many deals that have nothing for the step to look at.
    if opp.partner_id is not None or (owner is not None and owner.role is _PORTAL_USER):
        find_partner(d, ctx.accounts)
    lead = override(d) if opp.override_lead is not None or tr is not None else None
    if lead is not None:
        protected = None if lead is Lead.DIRECT else d.partner
        return _exempt(ctx, d, lead, protected, codes.OVERRIDE, (opp.override_reason or "").strip())
    if tr is None:
        for applies in lead_rules:
            if applies(d):
                break
    else:
        choose_lead_traced(d)
    asked = opp.exception_decision is not None or opp.exception_requested or tr is not None
    approved = exception_approved(d) if asked else None
    if approved is not None:
        return _exempt(ctx, d, d.lead, d.protected, codes.EXCEPTION_APPROVED, approved)
    if registration is not None or tr is not None:
        registration_review(ctx, d)
    for check in CHECKS:
        check(ctx, d)
    if opp.defects or account.defects or (owner is not None and owner.defects):
        data_defects(d)
    return _conclude(ctx, d)


def _conclude(ctx: Context, d: Deal) -> OpportunityDecision:
    """Enforcement and status. Review is a status shown, never a release: the violations
    found stand (enforced) unless the region does not enforce this deal (Advisory)."""
    facts = d.facts
    held_back = advisory(ctx.today, facts.enforced_from, d.opp.created_at) if d.violations else None
    enforced = bool(d.violations) and held_back is None
    owed = remedy(ctx, d) if enforced else None  # may find the amount unusable (Review)
    if d.review:
        status, reasons = Status.REVIEW, list(dict.fromkeys(d.review))
    else:
        reasons = []
        if not d.violations:
            status = Status.COMPLIANT
        else:
            status = Status.ADVISORY if held_back else Status.VIOLATION
    if d.trace is not None:
        why = held_back or ("enforced" if d.violations else "nothing to enforce")
        where = f"region {facts.region}, from {facts.enforced_from}"
        d.note("enforcement_date", enforced, f"{why} ({where})")
    for v in d.violations:  # a loop, not a comprehension: no frame of its own (hot path)
        reasons.append(v.code)
    if held_back:
        reasons.append(held_back)
    if d.notes:
        reasons += d.notes
    reasons += d.path
    if d.registration is not None and d.registration.state == EXPIRED:
        reasons.append(codes.DEAL_REG_EXPIRED)
    if facts.parent_cycle:
        reasons.append(codes.PARENT_CYCLE)
    if facts.incumbent_problem:
        reasons.append(codes.INCUMBENT_NOT_A_PARTNER)
        d.details += (facts.incumbent_problem,)
    interned, text = ctx.reasons(reasons, "; ".join(d.details) if d.details else "", d)
    # In field order, not by keyword: once per deal, and matching 13 keywords costs ~4 %.
    return new_decision(
        d.key,
        d.opp.account_id,
        d.lead,
        d.protected,
        status,
        interned,
        text,
        d.violations,
        enforced,
        not enforced,
        owed,
        ctx.version,
        tuple(d.trace) if d.trace else (),
    )


def _exempt(
    ctx: Context, d: Deal, lead: Lead, protected: str | None, code: str, why: str
) -> OpportunityDecision:
    """People decided (an override, an approved exception): nothing is enforced."""
    interned, text = ctx.reasons([code], why)
    return new_decision(
        opportunity_id=d.key, account_id=d.opp.account_id, expected_lead=lead,
        protected_partner_id=protected, status=Status.EXEMPT, reasons=interned,
        reason_text=text, violations=(), enforced=False, comp_eligible=True, remedy=None,
        policy_version=ctx.version, trace=tuple(d.trace) if d.trace else (),
    )  # fmt: skip
