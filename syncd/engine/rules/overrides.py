"""People deciding instead of the rules: an admin override, an exception channel ops grants.

- An override with a reason exempts the deal, led as overridden (OVERRIDE); without a
  reason it is only a request for one (Review OVERRIDE_NEEDS_REASON, violations stand).
- A rep's exception request is Review EXCEPTION_REQUESTED while it waits; violations
  stand. Channel ops answers in the decision field: Approved with a decision reason
  exempts the deal, led as the rules decide (EXCEPTION_APPROVED); Approved without a
  reason is Review EXCEPTION_DECISION_NEEDS_REASON; Rejected keeps the violations and
  notes EXCEPTION_REJECTED while the decision says so (the cycle then clears the request
  box); anything else is a data defect.
"""

from __future__ import annotations

from syncd.engine.domain import Lead
from syncd.engine.inputs import OPPORTUNITY, family
from syncd.engine.picklist import Lookup, fold
from syncd.engine.rules import codes
from syncd.engine.rules.state import Deal

OVERRIDES = family(
    "overrides",
    OPPORTUNITY,
    ((), "override_lead override_reason"),
    ((), "exception_requested exception_decision exception_decision_reason"),
)
_LEADS: Lookup[Lead | None] = Lookup((lead.value, lead) for lead in Lead)
APPROVED, REJECTED = "approved", "rejected"  # exception decisions, folded


def parse_lead(value: str | None) -> Lead | None:
    return _LEADS.get(value, None)


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def override(d: Deal) -> Lead | None:
    """The lead an admin override with a reason sets; None when there is none (or no reason)."""
    raw = d.opp.override_lead
    if raw is None:
        if d.trace is not None:
            d.note("override", False, "no override")
        return None
    lead = parse_lead(raw)
    reason = _text(d.opp.override_reason)
    if lead is None:
        d.review += (codes.DATA_DEFECT,)
        d.details += (f"override lead {raw!r} is not Direct, Partner or Joint",)
    elif reason is not None:
        d.note("override", True, f"{lead.value}: {reason}")
        return lead
    else:
        d.review += (codes.OVERRIDE_NEEDS_REASON,)
    d.note("override", False, "an override needs Direct, Partner or Joint and a reason")
    return None


def exception_approved(d: Deal) -> str | None:
    """The decision reason when channel ops approved an exception; else None, noting what
    the request or the decision needs (Review codes), or that it was rejected."""
    opp = d.opp
    raw = opp.exception_decision
    if raw is None and not opp.exception_requested:
        if d.trace is not None:
            d.note("exception", False, "no exception requested or decided")
        return None
    answer, reason = fold(raw) or None, _text(opp.exception_decision_reason)
    if answer == APPROVED and reason is not None:
        d.note("exception", True, f"approved: {reason}")
        return reason
    why = "requested, waiting for channel operations"
    if answer == REJECTED:  # answered: the violations stand, and the request is closed
        d.notes += (codes.EXCEPTION_REJECTED,)
        why = f"rejected: {reason or 'no reason given'}"
        d.details += (f"exception {why}",)
    elif answer == APPROVED:
        d.review += (codes.EXCEPTION_DECISION_NEEDS_REASON,)
        why = "approved without a decision reason"
    elif answer is not None:
        d.review += (codes.DATA_DEFECT,)
        why = f"exception decision {raw!r} is not Approved or Rejected"
        d.details += (why,)
    if opp.exception_requested and answer != REJECTED:
        d.review += (codes.EXCEPTION_REQUESTED,)
    d.note("exception", answer == REJECTED, why)
    return None
