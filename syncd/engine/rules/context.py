"""Everything computed once per evaluation: compiled policy, account facts, conflicts."""

from __future__ import annotations

from datetime import datetime

from syncd.engine.domain import Opportunity, OpportunityDecision, Snapshot, Status, Violation
from syncd.engine.policy import Policy
from syncd.engine.rules import codes
from syncd.engine.rules.build import new_decision
from syncd.engine.rules.custom import compile_rules
from syncd.engine.rules.lead import LeadRules, lead_rules_for
from syncd.engine.rules.named import AccountFacts, NamedResolver, account_facts
from syncd.engine.rules.regions import compile_regions
from syncd.engine.rules.registration import (
    VALID,
    ConflictLoss,
    RegState,
    find_conflicts,
    registration_state,
)
from syncd.engine.rules.state import Deal
from syncd.engine.rules.telesales import LeadSources
from syncd.engine.rules.text import Plan, plan, planned_text, reason_text
from syncd.engine.rules.words import BY_DEAL, WORDED

Reasons = tuple[tuple[str, ...], str]  # the interned reasons tuple and its text
# A reasons tuple's shared pair, its Plan, and protected partner -> the pair naming it.
Texts = tuple[Reasons, Plan | None, dict[str | None, Reasons]]


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
        self.fee_percent_text = f"{self.fee_percent.normalize():f}"
        source = policy.named_accounts.source
        self.resolver = NamedResolver(
            snapshot.accounts,
            use_field=source in ("field", "both"),
            csv_ids=policy.named_account_ids if source != "field" else frozenset(),
        )
        # Account Id -> its facts and the lead rules that can apply there (every deal on
        # the account reads them).
        self.known: dict[str, tuple[AccountFacts, LeadRules]] = {}
        self._interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._texts: dict[tuple[str, ...], Texts] = {}
        self._violations: dict[tuple[str, str | None, str | None], Violation] = {}
        # (code, protected partner) -> its words (rules.words): names, once each.
        self.words: dict[tuple[str, str], str] = {}
        self.deal = Deal()  # the working state of the deal being decided (rules.state)
        self.registrations: dict[str, RegState] = {}
        self.losses: dict[str, ConflictLoss] = {}
        self._find_conflicts()

    # -- precomputation ---------------------------------------------------------------

    def _find_conflicts(self) -> None:
        valid_days = self.policy.registration.valid_days
        candidates: dict[str, tuple[Opportunity, RegState]] = {}
        for key, opp in self.snapshot.opportunities.items():
            if opp.registration is None:
                continue
            state = registration_state(opp, self.today, valid_days, self.accounts)
            if state is None:
                continue
            self.registrations[key] = state
            if state.state == VALID and not opp.is_closed:
                candidates[key] = (opp, state)
        self.losses = find_conflicts(candidates, self.policy.registration.conflict_field)

    def facts(self, key: str) -> AccountFacts:
        """Facts of a visible account (memoised: every deal on it reads them)."""
        return (self.known.get(key) or self.account(key))[0]

    def account(self, key: str) -> tuple[AccountFacts, LeadRules]:
        found = self.known.get(key)
        if found is None:
            facts = account_facts(key, self.accounts[key], self.resolver, self.regions)
            found = self.known[key] = (facts, lead_rules_for(facts))
        return found

    # -- shared values --------------------------------------------------------------------

    def intern(self, reasons: list[str]) -> tuple[str, ...]:
        key = tuple(reasons)
        return self._interned.setdefault(key, key)

    def reasons(
        self, reasons: list[str], detail: str = "", d: Deal | None = None
    ) -> tuple[tuple[str, ...], str]:
        """The shared reasons tuple and its reason_text: one cached string per reasons
        tuple, unless a rule found a detail or a code names ``d``'s partners and dates."""
        key = tuple(reasons)
        found = self._texts.get(key)
        if found is None:
            interned = self._interned.setdefault(key, key)
            shared = (interned, reason_text(interned))
            found = self._texts[key] = (shared, plan(interned, WORDED, BY_DEAL), {})
        shared, planned, by_partner = found
        if planned is not None and d is not None:
            if detail or planned.by_deal:
                worded = planned_text(planned, detail, self, d)
                if worded is not None:
                    return shared[0], worded
            else:  # it names the protected partner alone: one text per partner
                pair = by_partner.get(d.protected)
                if pair is None:
                    text = planned_text(planned, "", self, d) or shared[1]
                    pair = by_partner[d.protected] = (shared[0], text)
                return pair
        if detail:
            return shared[0], reason_text(shared[0], detail)
        return shared  # the one cached pair: no tuple built per deal

    def violation(self, code: str, owner: str | None, partner: str | None) -> Violation:
        cache_key = (code, owner, partner)
        found = self._violations.get(cache_key)
        if found is None:
            severity = codes.SEVERITY[code]
            found = Violation(code, severity, codes.MEANING[code], owner, partner)
            self._violations[cache_key] = found
        return found

    def review(
        self, key: str, account_id: str | None, code: str, detail: str
    ) -> OpportunityDecision:
        """A deal syncd cannot judge: Review with the reason, no lead."""
        reasons = self.intern([code])
        return new_decision(
            opportunity_id=key,
            account_id=account_id,
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
            trace=(),
        )
