"""One deal while it is being decided: what the rules see, and what they have found.

``syncd.engine.rules.deal`` resets it for each deal and hands it, in precedence order, to
the lead rules (which set ``lead``, ``protected`` and ``path``) and to the checks (which
add violations, Review codes, details and notes). The decision takes its values, all
immutable, so one Deal serves a whole evaluation, reset for each deal.
"""

from __future__ import annotations

from syncd.engine.domain import Account, Lead, Opportunity, RuleOutcome, User, Violation
from syncd.engine.rules.named import AccountFacts
from syncd.engine.rules.registration import VALID, RegState

Trace = list[RuleOutcome] | None


class Deal:
    lead: Lead
    protected: str | None
    path: tuple[str, ...]
    __slots__ = (
        "account",
        "details",
        "facts",
        "key",
        "lead",
        "notes",
        "opp",
        "owner",
        "partner",
        "path",
        "protected",
        "registered",
        "registration",
        "review",
        "trace",
        "violations",
    )  # fmt: skip

    def reset(
        self, key: str, opp: Opportunity, account: Account, facts: AccountFacts,
        owner: User | None, registration: RegState | None, trace: Trace,
    ) -> Deal:  # fmt: skip
        """Start deciding another deal (one Deal serves a whole evaluation: allocating a
        million of them costs about a percent)."""
        self.key = key
        self.opp = opp
        self.account = account
        self.facts = facts
        self.owner = owner
        self.registration = registration
        # The partner an approved, unexpired registration protects.
        self.registered = (
            registration.partner_id
            if registration is not None and registration.state == VALID
            else None
        )
        self.partner: str | None = None  # the partner account working the deal, checked
        # ``lead``, ``protected`` and ``path`` (the codes of the lead rule that decided) are
        # set by the first lead rule that applies, before anything reads them.
        # What the rules found, as tuples grown with ``+=``: most deals find little, and an
        # empty tuple is free where a list is an allocation.
        self.violations: tuple[Violation, ...] = ()
        self.review: tuple[str, ...] = ()  # codes that make the status Review
        self.details: tuple[str, ...] = ()  # what the reason text says besides the codes
        self.notes: tuple[str, ...] = ()  # codes that explain without deciding
        self.trace = trace  # None on the fast path: no RuleOutcome is built at all
        return self

    def note(self, rule: str, applied: bool, detail: str) -> None:
        """One trace line for ``explain`` (callers skip building ``detail`` when not tracing)."""
        if self.trace is not None:
            self.trace.append(RuleOutcome(rule, applied, detail))
