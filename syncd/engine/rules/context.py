"""Everything computed once per evaluation: compiled policy, account facts, conflicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncd.engine.domain import Lead, OpportunityDecision, Snapshot, Status, Violation
from syncd.engine.picklist import Lookup
from syncd.engine.policy import Policy
from syncd.engine.rules import codes
from syncd.engine.rules.custom import compile_rules
from syncd.engine.rules.named import AccountFacts, NamedResolver, account_facts
from syncd.engine.rules.regions import compile_regions
from syncd.engine.rules.registration import (
    DEFECT,
    VALID,
    ConflictLoss,
    RegState,
    find_conflicts,
    registration_state,
)
from syncd.engine.rules.telesales import LeadSources
from syncd.engine.rules.text import reason_text

_LEADS: Lookup[Lead | None] = Lookup((lead.value, lead) for lead in Lead)


def parse_lead(value: str | None) -> Lead | None:
    return _LEADS.get(value, None)


class Context:
    """Per-evaluation state. Built from (snapshot, policy, now); holds no clock of its own."""

    def __init__(self, snapshot: Snapshot, policy: Policy, now: datetime):
        self.snapshot = snapshot
        self.accounts = snapshot.accounts
        self.users = snapshot.users
        self.policy = policy
        self.version = policy.version
        self.today = now.date()
        r = policy.regions
        self.regions = compile_regions(r.countries, r.enforcement, r.default)
        self.sources = LeadSources(
            policy.telesales.outbound_lead_sources, policy.telesales.inbound_lead_sources
        )
        self.custom = compile_rules(policy.custom_rules, self.today)
        self.fee_percent = policy.remedy.referral_fee_percent
        source = policy.named_accounts.source
        self.resolver = NamedResolver(
            snapshot.accounts,
            use_field=source in ("field", "both"),
            csv_ids=policy.named_account_ids if source != "field" else frozenset(),
        )
        self.known_facts: dict[str, AccountFacts | None] = {}
        self._interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._texts: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}
        self._violations: dict[tuple[str, Any, Any], Violation] = {}
        self.registrations: dict[str, RegState | None] = {}
        self.losses: dict[str, ConflictLoss] = {}
        self._find_conflicts()

    # -- precomputation ---------------------------------------------------------------

    def _find_conflicts(self) -> None:
        valid_days = self.policy.registration.valid_days
        candidates: dict[str, tuple[Any, RegState]] = {}
        for key, opp in self.snapshot.opportunities.items():
            try:
                if opp.registration is None:
                    continue
                state = registration_state(opp, self.today, valid_days, self.accounts)
                self.registrations[key] = state
                if state is not None and state.state == VALID and opp.is_closed is not True:
                    candidates[key] = (opp, state)
            except Exception:  # a garbage record is judged (Review) later
                self.registrations[key] = RegState(DEFECT, None, None, "registration unreadable")
        self.losses = find_conflicts(candidates, self.policy.registration.conflict_field)

    def facts(self, key: str) -> AccountFacts | None:
        """Facts of a visible account; None when its record is unusable."""
        found = self.known_facts.get(key, False)
        if found is False:
            try:
                found = account_facts(key, self.accounts[key], self.resolver, self.regions)
            except Exception:  # totality: unusable account, deals go to Review
                found = None
            self.known_facts[key] = found
        return found  # type: ignore[return-value]

    def is_partner(self, partner_id: str, customer_id: str | None) -> bool:
        """A partner account other than the customer (see ``rules.partners``)."""
        account = self.accounts.get(partner_id)
        return account is not None and account.is_partner is True and partner_id != customer_id

    # -- shared values --------------------------------------------------------------------

    def intern(self, reasons: list[str]) -> tuple[str, ...]:
        key = tuple(reasons)
        return self._interned.setdefault(key, key)

    def reasons(self, reasons: list[str], detail: str = "") -> tuple[tuple[str, ...], str]:
        """The shared reasons tuple and its reason_text (cached when there is no detail)."""
        key = tuple(reasons)
        if detail:
            interned = self._interned.setdefault(key, key)
            return interned, reason_text(interned, detail)
        found = self._texts.get(key)
        if found is None:
            interned = self._interned.setdefault(key, key)
            found = self._texts[key] = (interned, reason_text(interned))
        return found

    def violation(self, code: str, owner: Any, partner: Any, message: str = "") -> Violation:
        cache_key = (code, owner, partner)
        found = self._violations.get(cache_key)
        if found is None:
            severity = codes.SEVERITY[code]
            found = Violation(code, severity, message or codes.MEANING[code], owner, partner)
            self._violations[cache_key] = found
        return found

    def review(self, key: str, account_id: Any, code: str, detail: str) -> OpportunityDecision:
        """A deal syncd cannot judge: Review with the reason, no lead."""
        reasons = self.intern([code])
        return OpportunityDecision(
            opportunity_id=key,
            account_id=account_id if isinstance(account_id, str) else None,
            expected_lead=None,
            protected_partner_id=None,
            status=Status.REVIEW,
            reasons=reasons,
            reason_text=reason_text(reasons, detail),
            violations=(),
            enforced=False,
            comp_eligible=True,
            remedy=None,
            policy_version=self.version,
        )
