"""The decision for one opportunity, in the order of precedence of the rules.

override -> global -> approved unexpired registration -> renewal (relationship owner)
-> named -> partner default; then the violations, custom rules, Review codes and the
region's enforcement date decide the status. ``tr`` (a list) collects the trace for
``explain``; the fast path passes None and builds no RuleOutcome at all.

This runs a million times per full cycle, so ``decide`` is one flat function over local
variables, and the rare branches (override, defects, trace) live in helpers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncd.engine.domain import Lead, OpportunityDecision, Role, RuleOutcome, Status, Violation
from syncd.engine.picklist import fold
from syncd.engine.rules import codes
from syncd.engine.rules.build import new_decision
from syncd.engine.rules.context import Context, parse_lead
from syncd.engine.rules.custom import when_date
from syncd.engine.rules.named import AccountFacts
from syncd.engine.rules.partners import partner_problem
from syncd.engine.rules.registration import DEFECT, EXPIRED, VALID
from syncd.engine.rules.telesales import unpartnered_code
from syncd.engine.rules.text import fit
from syncd.engine.rules.trace import path_trace

Trace = list[RuleOutcome] | None
_MISSING = object()
_GLOBAL, _GLOBAL_REG = (codes.GLOBAL_ACCOUNT,), (codes.GLOBAL_ACCOUNT, codes.DEAL_REG_APPROVED)
_REG, _RENEWAL = (codes.DEAL_REG_APPROVED,), (codes.RENEWAL_INCUMBENT,)
_NAMED, _VIA_PARENT = (codes.NAMED_ACCOUNT,), (codes.NAMED_VIA_PARENT,)
_DEFAULT = (codes.PARTNER_LED_DEFAULT,)
_DIRECT, _PARTNER, _JOINT = Lead.DIRECT, Lead.PARTNER, Lead.JOINT
_PARTNER_USER = Role.PARTNER_USER
_APPROVED, _REJECTED = "approved", "rejected"  # folded exception decisions


def _text(value: Any) -> str | None:
    return value if value.__class__ is str and value else None


def decide(ctx: Context, key: str, opp: Any, tr: Trace = None) -> OpportunityDecision | None:
    """None when the deal is outside the rules (on a partner account, closed lost)."""
    account_id = opp.account_id
    if account_id.__class__ is not str or not account_id:  # inlined _text: the hot path
        account_id = None
    account = ctx.accounts.get(account_id) if account_id else None
    if account is not None and account.is_partner is True:
        _note(tr, "partner_account", True, "the deal is on a partner's own account")
        return None
    if opp.is_closed is True and opp.is_won is not True:
        _note(tr, "closed_lost", True, "closed-lost deals are not evaluated")
        return None
    if account is None:
        _note(tr, "account_visible", False, f"account {account_id or '(none)'} not in the data")
        return ctx.review(key, account_id, codes.ACCOUNT_MISSING, f"account {account_id}")
    facts: Any = ctx.known_facts.get(account_id, _MISSING)  # AccountFacts | None
    if facts is _MISSING:
        facts = ctx.facts(account_id)
    if facts is None:
        _note(tr, "account_visible", False, f"account {account_id} has unusable values")
        return ctx.review(key, account_id, codes.DATA_DEFECT, f"account {account_id} unusable")
    owner_id = opp.owner_id
    if owner_id.__class__ is not str or not owner_id:
        owner_id = None
    owner = ctx.users.get(owner_id) if owner_id else None
    review: list[str] = []
    details: list[str] = []
    notes: list[str] = []  # codes that explain without deciding (PARTNER_NOT_A_PARTNER)
    partner = opp.partner_id
    if partner.__class__ is not str or not partner:
        partner = None
    if partner is not None and not ctx.is_partner(partner, account_id):
        _not_a_partner(ctx, partner, account_id, notes, details, tr)
        partner = None
    if partner is None and owner is not None and owner.role is _PARTNER_USER:
        partner = _text(owner.partner_account_id)
        if partner is not None and not ctx.is_partner(partner, account_id):
            _not_a_partner(ctx, partner, account_id, notes, details, tr)
            partner = None
    if opp.override_lead is not None and opp.override_lead != "":
        exempt = _override(ctx, key, opp, account_id, partner, review, details, tr)  # type: ignore[arg-type]
        if exempt is not None:
            return exempt
    elif tr is not None:
        _note(tr, "override", False, "no override")
    answer = None
    if opp.exception_decision is not None or opp.exception_requested is True:
        answer = _exception(opp, review, details, tr)
    elif tr is not None:
        _note(tr, "exception", False, "no exception requested or decided")

    # -- lead and protected partner: the first lead rule that applies ------------------
    reg = ctx.registrations.get(key) if ctx.registrations else None
    reg_partner = reg.partner_id if reg is not None and reg.state == VALID else None
    incumbent = facts.incumbent_partner_id
    if facts.global_account:
        protected = reg_partner or incumbent
        lead = _JOINT if protected else _DIRECT
        path, rule = (_GLOBAL_REG if reg_partner else _GLOBAL), "global_account"
    elif reg_partner is not None:
        lead, protected = (_JOINT if facts.named else _PARTNER), reg_partner
        path, rule = _REG, "deal_registration"
    elif opp.is_renewal is True and (incumbent or facts.named):
        lead, protected = (_PARTNER if incumbent else _DIRECT), incumbent
        path, rule = _RENEWAL, "renewal"
    elif facts.named:
        if incumbent is not None and partner == incumbent:
            lead, protected = _JOINT, incumbent
        else:
            lead, protected = _DIRECT, None
        path = _VIA_PARENT if facts.named_via_parent else _NAMED
        rule = "named_account"
    else:
        lead, protected = _PARTNER, incumbent or partner
        path, rule = _DEFAULT, "partner_default"
    if tr is not None:
        path_trace(tr, rule, lead, protected, facts, reg, opp)
    if answer is _APPROVED:
        return _approved(ctx, key, opp, account_id, lead, protected, tr)
    if reg is not None:
        _registration_checks(ctx, key, reg, review, details, tr)
    elif tr is not None:
        _note(tr, "registration_conflict", False, "no approved registration")

    # -- violations ---------------------------------------------------------------------
    violations: list[Violation] = []
    if protected is not None and partner != protected:
        violations.append(ctx.violation(codes.PARTNER_DISPLACED, owner_id, protected))
        _note(
            tr,
            "partner_displaced",
            True,
            f"{protected} is protected; the deal has {partner or 'no partner'}",
        )
    elif lead is _PARTNER and partner is None:
        role = owner.role if owner is not None else None
        code = unpartnered_code(role, opp.lead_source, ctx.sources)
        if code is None:
            pass
        elif code in codes.REVIEW_CODES:
            review.append(code)
        else:
            violations.append(ctx.violation(code, owner_id, None))
        if tr is not None:
            why = f"owner {role}, lead source {opp.lead_source!r}: {code or 'allowed'}"
            _note(tr, "unpartnered_deal", code is not None, why)
    elif tr is not None:
        _note(tr, "partner_displaced", False, "no protected partner, or it is on the deal")
    if ctx.custom:
        _custom(ctx, (account, facts, opp, owner, lead, protected, partner), owner_id,
                protected, violations, details, tr)  # fmt: skip
    if answer is _REJECTED and (violations or opp.exception_requested is True):
        notes.append(codes.EXCEPTION_REJECTED)
    if opp.defects or account.defects or (owner is not None and owner.defects):
        _defects(opp, account, owner, review, details, tr)

    # -- enforcement and status ---------------------------------------------------------
    # Review is a status shown, never a release: the violations found stand (enforced)
    # unless the region does not enforce this deal yet (Advisory).
    advisory = _advisory(ctx, facts, opp) if violations else None
    enforced = bool(violations) and advisory is None
    remedy = None
    if enforced and opp.is_won is True:
        remedy = _remedy(ctx, opp, protected, violations, review, details)
    if review:
        status = Status.REVIEW
        reasons = list(dict.fromkeys(review))
    else:
        reasons = []
        if violations:
            status = Status.ADVISORY if advisory else Status.VIOLATION
        else:
            status = Status.COMPLIANT
    if tr is not None:
        _enforcement_note(tr, enforced, advisory, violations, facts)
    for v in violations:
        reasons.append(v.code)
    if advisory:
        reasons.append(advisory)
    reasons += notes
    reasons += path
    if reg is not None and reg.state == EXPIRED:
        reasons.append(codes.DEAL_REG_EXPIRED)
    if facts.parent_cycle:
        reasons.append(codes.PARENT_CYCLE)
    if facts.incumbent_problem:
        reasons.append(codes.INCUMBENT_NOT_A_PARTNER)
        details.append(facts.incumbent_problem)
    interned, text = ctx.reasons(reasons, "; ".join(details) if details else "")
    return new_decision(key, account_id, lead, protected, status, interned, text,  # type: ignore[arg-type]
                        tuple(violations), enforced, not enforced, remedy,
                        ctx.version, tuple(tr) if tr is not None else ())  # fmt: skip


def _not_a_partner(
    ctx: Context, partner: str, account_id: str, notes: list[str], details: list[str], tr: Trace
) -> None:
    """The deal names an account that is not a partner: it counts as having none."""
    problem = partner_problem(ctx.accounts, partner, account_id, "partner")
    notes.append(codes.PARTNER_NOT_A_PARTNER)
    details.append(problem or partner)
    _note(tr, "partner_is_a_partner", False, problem or partner)


def _exception(opp: Any, review: list[str], details: list[str], tr: Trace) -> str | None:
    """Channel operations' answer: _APPROVED (with a reason), _REJECTED, or None (pending)."""
    raw = opp.exception_decision
    answer = fold(raw) or None
    requested = opp.exception_requested is True
    reason = _text(opp.exception_decision_reason)
    reason = reason.strip() if reason else None
    if answer == _APPROVED and reason:
        _note(tr, "exception", True, f"approved: {reason}")
        return _APPROVED
    if answer == _REJECTED:
        _note(tr, "exception", True, f"rejected: {reason or 'no reason given'}")
        if reason:
            details.append(f"exception rejected: {reason}")
        return _REJECTED
    why = "requested, waiting for channel operations"
    if answer == _APPROVED:
        review.append(codes.EXCEPTION_DECISION_NEEDS_REASON)
        why = "approved without a decision reason"
    elif answer is not None:
        review.append(codes.DATA_DEFECT)
        why = f"exception decision {raw!r} is not Approved or Rejected"
        details.append(why)
    if requested:
        review.append(codes.EXCEPTION_REQUESTED)
    _note(tr, "exception", False, why)
    return None


def _approved(
    ctx: Context, key: str, opp: Any, account_id: str, lead: Lead, protected: str | None,
    tr: Trace,
) -> OpportunityDecision:  # fmt: skip
    """Channel operations approved an exception: Exempt, lead as the rules decide."""
    reason = str(opp.exception_decision_reason).strip()
    interned, text = ctx.reasons([codes.EXCEPTION_APPROVED], reason)
    return new_decision(key, account_id, lead, protected, Status.EXEMPT, interned, text,
                        (), False, True, None, ctx.version, tuple(tr) if tr else ())  # fmt: skip


def _override(
    ctx: Context, key: str, opp: Any, account_id: str, partner: str | None,
    review: list[str], details: list[str], tr: Trace,
) -> OpportunityDecision | None:  # fmt: skip
    """An admin override with a reason decides (Exempt); without one it needs Review."""
    override, reason = opp.override_lead, opp.override_reason
    lead = parse_lead(override)
    if lead is None:
        review.append(codes.DATA_DEFECT)
        details.append(f"override lead {override!r} is not Direct, Partner or Joint")
    elif isinstance(reason, str) and reason.strip():
        _note(tr, "override", True, f"{lead.value}: {reason.strip()}")
        interned, text = ctx.reasons([codes.OVERRIDE], reason.strip())
        protected = None if lead is Lead.DIRECT else partner
        return new_decision(key, account_id, lead, protected, Status.EXEMPT, interned, text,
                            (), False, True, None, ctx.version, tuple(tr or ()))  # fmt: skip
    else:
        review.append(codes.OVERRIDE_NEEDS_REASON)
    _note(tr, "override", False, "an override needs Direct, Partner or Joint and a reason")
    return None


def _registration_checks(
    ctx: Context, key: str, reg: Any, review: list[str], details: list[str], tr: Trace
) -> None:
    loss = ctx.losses.get(key)
    if loss is not None:
        review.append(codes.DEAL_REG_CONFLICT)
        details.append(
            f"partner {loss.winner_partner_id} registered deal {loss.winner_opportunity_id} first"
        )
    _note(tr, "registration_conflict", loss is not None, details[-1] if loss else "no conflict")
    if reg.state == DEFECT:
        review.append(codes.DATA_DEFECT)
        details.append(reg.detail)


def _custom(
    ctx: Context, seen: tuple[Any, ...], owner_id: str | None, protected: str | None,
    violations: list[Violation], details: list[str], tr: Trace,
) -> None:  # fmt: skip
    for rule in ctx.custom:
        matched = rule.matches(seen)
        if tr is not None:
            _note(tr, rule.code, matched, rule.message if matched else str(rule.failing(seen)))
        if matched:
            violations.append(
                Violation(rule.code, rule.severity, rule.message, owner_id, protected)
            )
            details.append(rule.message)


def _defects(
    opp: Any, account: Any, owner: Any, review: list[str], details: list[str], tr: Trace
) -> None:
    for label, record in (("deal", opp), ("account", account), ("owner", owner)):
        defects = getattr(record, "defects", None)
        if defects:
            review.append(codes.DATA_DEFECT)
            details.insert(0, f"{label}: {defects[0]}")
            _note(tr, "data_defects", True, details[0])
            return


def _advisory(ctx: Context, facts: AccountFacts, opp: Any) -> str | None:
    """None when the region enforces this deal; else NOT_YET_ENFORCED or GRANDFATHERED."""
    if ctx.today < facts.enforced_from:
        return codes.NOT_YET_ENFORCED
    created = when_date(opp.created_at)
    if created is not None and created < facts.enforced_from:
        return codes.GRANDFATHERED
    return None


def _enforcement_note(
    tr: list[RuleOutcome], enforced: bool, advisory: str | None, violations: list[Violation],
    facts: AccountFacts,
) -> None:  # fmt: skip
    why = advisory or ("enforced" if violations else "nothing to enforce")
    why += f" (region {facts.region}, from {facts.enforced_from})"
    tr.append(RuleOutcome("enforcement_date", enforced, why))


def _remedy(
    ctx: Context, opp: Any, protected: str | None, violations: list[Violation],
    review: list[str], details: list[str],
) -> str | None:  # fmt: skip
    """Referral fee for a partner displaced from a closed-won deal; never silently dropped."""
    if protected is None or not any(v.code == codes.PARTNER_DISPLACED for v in violations):
        return None
    partner = ctx.accounts.get(protected)
    name = getattr(partner, "name", None) or protected
    percent = f"{ctx.fee_percent.normalize():f}"
    amount = opp.amount
    if amount is None:
        return fit(f"referral fee {percent} % to {name} (deal amount missing)")
    if not isinstance(amount, Decimal | int) or isinstance(amount, bool) or not _finite(amount):
        review.append(codes.DATA_DEFECT)
        details.append(f"deal amount {amount!r} is not a number")
        return fit(f"referral fee {percent} % to {name} (deal amount unusable)")
    fee = Decimal(amount) * ctx.fee_percent / 100
    currency = _text(opp.currency)
    unit = f" {currency.strip()}" if currency and currency.strip() else ""
    return fit(f"referral fee {fee:.2f}{unit} to {name}")


def _finite(amount: Decimal | int) -> bool:
    return not isinstance(amount, Decimal) or amount.is_finite()


def _note(tr: Trace, rule: str, applied: bool, detail: str) -> None:
    if tr is not None:
        tr.append(RuleOutcome(rule, applied, detail))
