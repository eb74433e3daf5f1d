"""S01–S38 of /work/shared/rules-scenarios.md, one test each, on the default rules file.

The world: today 2026-12-01 UTC; customer C (US) with deal OPP (New Business, Web,
created 2026-10-01, owner `field`, no partner, no registration); partners P1, P2.
Each test changes only what its scenario lists.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncd.engine.domain import (
    Account,
    Decisions,
    Lead,
    Opportunity,
    Registration,
    Role,
    Snapshot,
    Status,
    User,
)
from syncd.engine.evaluate import evaluate
from syncd.engine.explain import explain
from syncd.engine.policy import Policy, load_policy, policy_from_dict
from syncd.sfid import make_id
from syncd.sync.mapping import load_mapping, to_opportunity, to_user

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules.yaml"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)

C, G, P1, P2, NP, HIDDEN = (make_id("001", n) for n in (1, 2, 11, 12, 13, 99))
OPP, OPP2 = make_id("006", 1), make_id("006", 2)
FIELD, TELE, PAM, PUSER, CHIEF, MGR = (make_id("005", n) for n in range(1, 7))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(RULES)


def registration(partner: str, approved_on: date) -> Registration:
    return Registration(
        partner_id=partner, status="Approved", approved=True, approved_on=approved_on
    )


class World:
    """The scenario world; ``account``/``deal``/``add_*`` change it before ``decide``."""

    def __init__(self) -> None:
        self.accounts = {
            C: Account(C, name="C", billing_country="US"),
            P1: Account(P1, name="P1", is_partner=True),
            P2: Account(P2, name="P2", is_partner=True),
        }
        self.opportunities = {
            OPP: Opportunity(
                OPP,
                name="OPP",
                account_id=C,
                owner_id=FIELD,
                type="New Business",
                lead_source="Web",
                stage_name="Prospecting",
                created_at=datetime(2026, 10, 1, 9, tzinfo=UTC),
            )
        }
        self.users = {
            MGR: User(MGR, "mgr", Role.OTHER),
            FIELD: User(FIELD, "field", Role.FIELD, manager_id=MGR),
            TELE: User(TELE, "tele", Role.TELESALES, manager_id=MGR),
            PAM: User(PAM, "pam", Role.PARTNER_MANAGER),
            PUSER: User(PUSER, "puser", Role.PARTNER_USER, partner_account_id=P1),
            CHIEF: User(CHIEF, "chief", Role.OTHER),
        }

    def account(self, key: str = C, **changes: Any) -> World:
        self.accounts[key] = dataclasses.replace(self.accounts[key], **changes)
        return self

    def deal(self, key: str = OPP, **changes: Any) -> World:
        self.opportunities[key] = dataclasses.replace(self.opportunities[key], **changes)
        return self

    def add_account(self, account: Account) -> World:
        self.accounts[account.id] = account
        return self

    def add_deal(self, opp: Opportunity) -> World:
        self.opportunities[opp.id] = opp
        return self

    def snapshot(self) -> Snapshot:
        return Snapshot(self.accounts, self.opportunities, self.users)

    def decide(self, policy: Policy, now: datetime = NOW) -> Decisions:
        return evaluate(self.snapshot(), policy, now)


def check(
    decisions: Decisions,
    *,
    account_lead: Lead | None,
    lead: Lead | None,
    partner: str | None,
    status: Status,
    codes: tuple[str, ...],
    absent: tuple[str, ...] = (),
    opp: str = OPP,
    enforced: bool | None = None,
) -> None:
    """``enforced`` (an enforced violation stands) defaults to "the status is Violation"."""
    if account_lead is None:
        assert C not in decisions.accounts
    else:
        assert decisions.accounts[C].lead is account_lead
    decision = decisions.opportunities[opp]
    assert decision.expected_lead is lead
    assert decision.protected_partner_id == partner
    assert decision.status is status, decision.reason_text
    for code in codes:
        assert code in decision.reasons, decision.reasons
    for code in absent:
        assert code not in decision.reasons, decision.reasons
    enforced = status is Status.VIOLATION if enforced is None else enforced
    assert decision.enforced is enforced, decision
    assert decision.comp_eligible is not enforced
    assert len(decision.reason_text) <= 255
    assert decision.policy_version == "2026.11-1"


def test_S01_named_account_is_direct(policy: Policy) -> None:
    d = World().account(named=True).decide(policy)
    check(d, account_lead=Lead.DIRECT, lead=Lead.DIRECT, partner=None,
          status=Status.COMPLIANT, codes=("NAMED_ACCOUNT",))  # fmt: skip
    assert d.accounts[C].reasons == ("NAMED_ACCOUNT",)


def test_S02_partner_manager_with_partner(policy: Policy) -> None:
    d = World().deal(owner_id=PAM, partner_id=P1).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.COMPLIANT, codes=("PARTNER_LED_DEFAULT",))  # fmt: skip
    assert d.opportunities[OPP].violations == ()


def test_S03_direct_rep_on_partner_account(policy: Policy) -> None:
    d = World().decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.VIOLATION, codes=("DIRECT_ON_PARTNER_ACCOUNT",))  # fmt: skip
    (violation,) = d.opportunities[OPP].violations
    assert violation.rep_id == FIELD and violation.severity == "medium"


def test_S04_registered_partner_displaced(policy: Policy) -> None:
    d = World().deal(registration=registration(P1, date(2026, 11, 1))).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.VIOLATION, codes=("DEAL_REG_APPROVED", "PARTNER_DISPLACED"),
          absent=("DIRECT_ON_PARTNER_ACCOUNT",))  # fmt: skip
    (violation,) = d.opportunities[OPP].violations
    assert (violation.partner_id, violation.rep_id, violation.severity) == (P1, FIELD, "high")


def test_S05_registered_partner_replaced(policy: Policy) -> None:
    world = World().deal(registration=registration(P1, date(2026, 11, 1)), partner_id=P2)
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.VIOLATION, codes=("PARTNER_DISPLACED",))  # fmt: skip


def test_S06_expired_registration_on_named(policy: Policy) -> None:
    world = World().account(named=True).deal(registration=registration(P1, date(2026, 8, 1)))
    check(world.decide(policy), account_lead=Lead.DIRECT, lead=Lead.DIRECT, partner=None,
          status=Status.COMPLIANT, codes=("NAMED_ACCOUNT", "DEAL_REG_EXPIRED"))  # fmt: skip


def test_S07_registered_on_named_is_joint(policy: Policy) -> None:
    world = World().account(named=True)
    world.deal(registration=registration(P1, date(2026, 11, 1)), partner_id=P1)
    check(world.decide(policy), account_lead=Lead.DIRECT, lead=Lead.JOINT, partner=P1,
          status=Status.COMPLIANT, codes=("DEAL_REG_APPROVED",))  # fmt: skip


def test_S08_registered_on_named_without_partner(policy: Policy) -> None:
    world = World().account(named=True).deal(registration=registration(P1, date(2026, 11, 1)))
    check(world.decide(policy), account_lead=Lead.DIRECT, lead=Lead.JOINT, partner=P1,
          status=Status.VIOLATION, codes=("PARTNER_DISPLACED",))  # fmt: skip


def test_S09_first_approved_registration_wins(policy: Policy) -> None:
    world = World().deal(partner_id=P1, registration=registration(P1, date(2026, 11, 10)))
    world.add_deal(
        dataclasses.replace(
            world.opportunities[OPP], id=OPP2, name="OPP2", owner_id=PAM, partner_id=P2,
            registration=registration(P2, date(2026, 11, 5)),
        )
    )  # fmt: skip
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.REVIEW, codes=("DEAL_REG_CONFLICT",))  # fmt: skip
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P2,
          status=Status.COMPLIANT, codes=(), absent=("DEAL_REG_CONFLICT",), opp=OPP2)  # fmt: skip
    assert "P2 registered first (on OPP2, approved 2026-11-05), before P1" in (
        d.opportunities[OPP].reason_text
    )


def test_S10_global_with_registered_partner(policy: Policy) -> None:
    world = World().account(global_account=True)
    world.deal(registration=registration(P1, date(2026, 11, 1)), partner_id=P1)
    check(world.decide(policy), account_lead=Lead.DIRECT, lead=Lead.JOINT, partner=P1,
          status=Status.COMPLIANT, codes=("GLOBAL_ACCOUNT",))  # fmt: skip


def test_S11_global_registered_partner_missing(policy: Policy) -> None:
    world = World().account(global_account=True)
    world.deal(registration=registration(P1, date(2026, 11, 1)))
    check(world.decide(policy), account_lead=Lead.DIRECT, lead=Lead.JOINT, partner=P1,
          status=Status.VIOLATION, codes=("PARTNER_DISPLACED",))  # fmt: skip


def test_S12_global_account_is_direct(policy: Policy) -> None:
    check(World().account(global_account=True).decide(policy), account_lead=Lead.DIRECT,
          lead=Lead.DIRECT, partner=None, status=Status.COMPLIANT,
          codes=("GLOBAL_ACCOUNT",))  # fmt: skip


def test_S13_renewal_follows_incumbent(policy: Policy) -> None:
    world = World().account(incumbent_partner_id=P1).deal(type="Renewal", is_renewal=True)
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.VIOLATION, codes=("RENEWAL_INCUMBENT", "PARTNER_DISPLACED"))  # fmt: skip
    assert d.accounts[C].lead_partner_id == P1


def test_S14_renewal_on_named_is_direct(policy: Policy) -> None:
    world = World().account(named=True).deal(type="Renewal", is_renewal=True)
    check(world.decide(policy), account_lead=Lead.DIRECT, lead=Lead.DIRECT, partner=None,
          status=Status.COMPLIANT, codes=("RENEWAL_INCUMBENT",))  # fmt: skip


def test_S15_outbound_telesales_on_partner_account(policy: Policy) -> None:
    world = World().deal(owner_id=TELE, lead_source="Outbound Telesales")
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.VIOLATION, codes=("TELESALES_OUTBOUND",),
          absent=("DIRECT_ON_PARTNER_ACCOUNT",))  # fmt: skip


def test_S16_inbound_telesales_needs_partner(policy: Policy) -> None:
    world = World().deal(owner_id=TELE, lead_source="Inbound Call")
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.REVIEW, codes=("INBOUND_NEEDS_PARTNER",))  # fmt: skip


def test_S17_outbound_telesales_on_named_account(policy: Policy) -> None:
    world = World().account(named=True).deal(owner_id=TELE, lead_source="Outbound Telesales")
    check(world.decide(policy), account_lead=Lead.DIRECT, lead=Lead.DIRECT, partner=None,
          status=Status.COMPLIANT, codes=("NAMED_ACCOUNT",),
          absent=("TELESALES_OUTBOUND",))  # fmt: skip


def test_S18_override_with_reason_is_exempt(policy: Policy) -> None:
    world = World().deal(override_lead="Direct", override_reason="CEO escalation #42")
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.DIRECT, partner=None,
          status=Status.EXEMPT, codes=("OVERRIDE",))  # fmt: skip
    assert "CEO escalation #42" in d.opportunities[OPP].reason_text


def test_S19_override_without_reason_is_review_and_the_violation_stands(policy: Policy) -> None:
    world = World().deal(override_lead="Direct", override_reason=None)
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.REVIEW,
          codes=("OVERRIDE_NEEDS_REASON", "DIRECT_ON_PARTNER_ACCOUNT"), enforced=True)  # fmt: skip
    assert [v.code for v in d.opportunities[OPP].violations] == ["DIRECT_ON_PARTNER_ACCOUNT"]
    assert d.opportunities[OPP].comp_eligible is False


def test_S20_region_not_yet_enforced_is_advisory(policy: Policy) -> None:
    world = World().account(billing_country="DE")
    d = world.decide(policy, datetime(2026, 10, 15, 12, tzinfo=UTC))
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.ADVISORY,
          codes=("NOT_YET_ENFORCED", "DIRECT_ON_PARTNER_ACCOUNT"),
          absent=("GRANDFATHERED",))  # fmt: skip


def test_S21_created_before_enforcement_is_grandfathered(policy: Policy) -> None:
    world = World().deal(created_at=datetime(2026, 6, 1, tzinfo=UTC))
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.ADVISORY, codes=("GRANDFATHERED", "DIRECT_ON_PARTNER_ACCOUNT"))  # fmt: skip


def test_S22_named_parent_makes_child_direct(policy: Policy) -> None:
    world = World().add_account(Account(G, name="G", named=True)).account(parent_id=G)
    d = world.decide(policy)
    check(d, account_lead=Lead.DIRECT, lead=Lead.DIRECT, partner=None,
          status=Status.COMPLIANT, codes=("NAMED_VIA_PARENT",))  # fmt: skip
    assert d.accounts[C].reasons == ("NAMED_VIA_PARENT",)
    assert d.accounts[G].reasons == ("NAMED_ACCOUNT",)


def test_S23_deal_on_partner_account_not_evaluated(policy: Policy) -> None:
    d = World().deal(account_id=P1).decide(policy)
    assert OPP not in d.opportunities
    assert P1 not in d.accounts and P2 not in d.accounts


def test_S24_closed_lost_not_evaluated(policy: Policy) -> None:
    d = World().deal(is_closed=True, is_won=False, stage_name="Closed Lost").decide(policy)
    assert OPP not in d.opportunities
    assert d.accounts[C].lead is Lead.PARTNER


def test_S25_closed_won_displaced_gets_remedy(policy: Policy) -> None:
    world = World().deal(
        registration=registration(P1, date(2026, 11, 1)), is_closed=True, is_won=True,
        stage_name="Closed Won", amount=Decimal("250000"),
    )  # fmt: skip
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.VIOLATION, codes=("PARTNER_DISPLACED",))  # fmt: skip
    assert d.opportunities[OPP].remedy == "referral fee 25000.00 to P1"
    assert d.opportunities[OPP].comp_eligible is False


def test_S26_exception_request_is_review_and_the_violation_stands(policy: Policy) -> None:
    d = World().deal(exception_requested=True, exception_reason="P1 declined").decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.REVIEW,
          codes=("EXCEPTION_REQUESTED", "DIRECT_ON_PARTNER_ACCOUNT"), enforced=True)  # fmt: skip
    # Asking is not a release: the violation stands until channel operations decides.
    assert [v.code for v in d.opportunities[OPP].violations] == ["DIRECT_ON_PARTNER_ACCOUNT"]
    assert d.opportunities[OPP].reasons[0] == "EXCEPTION_REQUESTED"
    assert d.opportunities[OPP].comp_eligible is False


def test_S27_partner_manager_without_partner_is_review(policy: Policy) -> None:
    d = World().deal(owner_id=PAM).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.REVIEW, codes=("PARTNER_MISSING",))  # fmt: skip
    assert d.opportunities[OPP].violations == ()


def test_S28_partner_portal_user_is_the_partner(policy: Policy) -> None:
    d = World().deal(owner_id=PUSER).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.COMPLIANT, codes=("PARTNER_LED_DEFAULT",))  # fmt: skip


def test_S29_account_missing_is_review(policy: Policy) -> None:
    d = World().deal(account_id=HIDDEN).decide(policy)
    decision = d.opportunities[OPP]
    assert decision.expected_lead is None and decision.protected_partner_id is None
    assert decision.status is Status.REVIEW
    assert decision.reasons == ("ACCOUNT_MISSING",)
    assert decision.comp_eligible is True


def test_S30_parent_cycle_is_noted_not_looped(policy: Policy) -> None:
    world = World().add_account(Account(G, name="G", parent_id=C)).account(parent_id=G)
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.VIOLATION, codes=("PARENT_CYCLE", "DIRECT_ON_PARTNER_ACCOUNT"))  # fmt: skip
    assert "PARENT_CYCLE" in d.accounts[C].reasons and "PARENT_CYCLE" in d.accounts[G].reasons


def exception_decided(decision: str, reason: str | None) -> World:
    return World().deal(
        exception_requested=True, exception_reason="P1 declined the deal",
        exception_decision=decision, exception_decision_reason=reason,
        last_modified_by=CHIEF,
    )  # fmt: skip


def test_S31_approved_exception_exempts_the_deal(policy: Policy) -> None:
    world = exception_decided("Approved", "P1 confirmed in writing #77")
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.EXEMPT, codes=("EXCEPTION_APPROVED",),
          absent=("EXCEPTION_REQUESTED", "DIRECT_ON_PARTNER_ACCOUNT"))  # fmt: skip
    decision = d.opportunities[OPP]
    assert decision.violations == () and decision.comp_eligible is True
    assert "P1 confirmed in writing #77" in decision.reason_text
    # Who decided is kept for the record (explain shows it), and is never a rule input.
    facts = {f.name: f.value for f in explain(world.snapshot(), policy, NOW, OPP).facts}  # type: ignore[union-attr]
    assert facts["opportunity.last_modified_by"] == CHIEF
    assert world.deal(last_modified_by=FIELD).decide(policy).opportunities[OPP] == decision


def test_S32_rejected_exception_keeps_the_violation(policy: Policy) -> None:
    d = exception_decided("Rejected", "the partner was never asked").decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.VIOLATION, codes=("DIRECT_ON_PARTNER_ACCOUNT", "EXCEPTION_REJECTED"),
          absent=("EXCEPTION_REQUESTED",))  # fmt: skip
    assert "the partner was never asked" in d.opportunities[OPP].reason_text


def _closed_won_displaced(world: World, **changes: Any) -> World:
    return world.deal(
        registration=registration(P1, date(2026, 11, 1)), is_closed=True, is_won=True,
        stage_name="Closed Won", amount=Decimal("250000"), **changes,
    )  # fmt: skip


def test_S33_exception_request_keeps_the_remedy(policy: Policy) -> None:
    d = _closed_won_displaced(World(), exception_requested=True).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1, status=Status.REVIEW,
          codes=("EXCEPTION_REQUESTED", "PARTNER_DISPLACED"), enforced=True)  # fmt: skip
    assert d.opportunities[OPP].remedy == "referral fee 25000.00 to P1"
    assert d.opportunities[OPP].comp_eligible is False


def test_S34_the_customer_itself_is_not_a_partner(policy: Policy) -> None:
    d = World().deal(partner_id=C).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.VIOLATION,
          codes=("DIRECT_ON_PARTNER_ACCOUNT", "PARTNER_NOT_A_PARTNER"))  # fmt: skip
    decision = d.opportunities[OPP]
    assert f"partner C ({C})" in decision.reason_text
    assert d.accounts[C].lead_partner_id is None
    assert all(v.partner_id is None for v in decision.violations)


def test_S35_a_customer_account_is_not_a_partner(policy: Policy) -> None:
    d = World().add_account(Account(NP, name="NP")).deal(partner_id=NP).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.VIOLATION,
          codes=("DIRECT_ON_PARTNER_ACCOUNT", "PARTNER_NOT_A_PARTNER"))  # fmt: skip
    assert f"partner NP ({NP}) is not a partner account" in d.opportunities[OPP].reason_text


def test_S36_picklist_values_compare_trimmed_and_ignoring_case(policy: Policy) -> None:
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    record = {"Id": OPP, "Name": "OPP", "AccountId": C, "OwnerId": FIELD, "Type": "New Business",
              "LeadSource": "Web", "CreatedDate": "2026-10-01T09:00:00.000+0000",
              "IsClosed": False, "IsWon": False}  # fmt: skip
    renewal = to_opportunity({**record, "Type": " renewal"}, mapping)
    world = World().account(incumbent_partner_id=P1).add_deal(renewal)  # as S13
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.VIOLATION, codes=("RENEWAL_INCUMBENT", "PARTNER_DISPLACED"))  # fmt: skip
    registered = to_opportunity(
        {**record, "RoE_Registered_Partner__c": P1, "RoE_Registration_Status__c": "APPROVED",
         "RoE_Registration_Approved_Date__c": "2026-11-01"}, mapping,
    )  # fmt: skip
    check(World().add_deal(registered).decide(policy), account_lead=Lead.PARTNER,
          lead=Lead.PARTNER, partner=P1, status=Status.VIOLATION,
          codes=("DEAL_REG_APPROVED", "PARTNER_DISPLACED"))  # fmt: skip
    rep = to_user({"Id": FIELD, "Name": "field", "RoE_Sales_Role__c": "field sales ",
                   "ManagerId": MGR, "IsActive": True}, mapping)  # fmt: skip
    world = World()
    world.users[FIELD] = rep
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.VIOLATION, codes=("DIRECT_ON_PARTNER_ACCOUNT",))  # fmt: skip


def test_S37_a_missing_amount_still_owes_the_remedy(policy: Policy) -> None:
    d = _closed_won_displaced(World()).deal(amount=None).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.VIOLATION, codes=("PARTNER_DISPLACED",))  # fmt: skip
    assert d.opportunities[OPP].remedy == "referral fee 10 % to P1 (deal amount missing)"


def test_S38_the_remedy_names_the_deals_currency(policy: Policy) -> None:
    d = _closed_won_displaced(World(), currency="EUR").decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.VIOLATION, codes=("PARTNER_DISPLACED",))  # fmt: skip
    assert d.opportunities[OPP].remedy == "referral fee 25000.00 EUR to P1"


# -- beyond the table ---------------------------------------------------------------------


def test_approved_exception_without_a_reason_is_review_and_the_violation_stands(
    policy: Policy,
) -> None:
    d = exception_decided("approved ", "  ").decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.REVIEW,
          codes=("EXCEPTION_DECISION_NEEDS_REASON", "EXCEPTION_REQUESTED",
                 "DIRECT_ON_PARTNER_ACCOUNT"), enforced=True)  # fmt: skip


def test_an_unknown_exception_decision_is_a_data_defect(policy: Policy) -> None:
    d = exception_decided("Maybe", "thinking").decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.REVIEW,
          codes=("DATA_DEFECT", "EXCEPTION_REQUESTED", "DIRECT_ON_PARTNER_ACCOUNT"),
          enforced=True)  # fmt: skip
    assert "'Maybe' is not Approved or Rejected" in d.opportunities[OPP].reason_text


def test_an_approved_exception_keeps_the_lead_the_rules_decide(policy: Policy) -> None:
    world = _closed_won_displaced(World(), exception_decision="Approved",
                                  exception_decision_reason="P1 waived it")  # fmt: skip
    decision = world.decide(policy).opportunities[OPP]
    assert (decision.status, decision.expected_lead, decision.protected_partner_id) == (
        Status.EXEMPT, Lead.PARTNER, P1,
    )  # fmt: skip
    assert decision.remedy is None and decision.enforced is False


def test_a_rejection_stays_on_record_and_decides_nothing(policy: Policy) -> None:
    world = World().deal(owner_id=PAM, partner_id=P1, exception_decision="rejected")
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1,
          status=Status.COMPLIANT, codes=("EXCEPTION_REJECTED",))  # fmt: skip


def test_a_portal_users_company_must_be_a_partner(policy: Policy) -> None:
    world = World().add_account(Account(NP, name="NP")).deal(owner_id=PUSER)
    world.users[PUSER] = dataclasses.replace(world.users[PUSER], partner_account_id=NP)
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.REVIEW,
          codes=("PARTNER_MISSING", "PARTNER_NOT_A_PARTNER"))  # fmt: skip


def test_a_partner_syncd_cannot_see_is_no_partner(policy: Policy) -> None:
    d = World().deal(partner_id=HIDDEN).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.VIOLATION,
          codes=("DIRECT_ON_PARTNER_ACCOUNT", "PARTNER_NOT_A_PARTNER"))  # fmt: skip
    assert f"partner {HIDDEN} is not an account syncd can see" in d.opportunities[OPP].reason_text


def test_an_incumbent_that_is_not_a_partner_protects_nobody(policy: Policy) -> None:
    world = World().add_account(Account(NP, name="NP")).account(incumbent_partner_id=NP)
    d = world.deal(type="Renewal", is_renewal=True).decide(policy)
    # The renewal falls through to the partner-led default; the field rep owns it alone.
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.VIOLATION,
          codes=("DIRECT_ON_PARTNER_ACCOUNT", "INCUMBENT_NOT_A_PARTNER"),
          absent=("RENEWAL_INCUMBENT",))  # fmt: skip
    assert d.accounts[C].lead_partner_id is None
    assert "INCUMBENT_NOT_A_PARTNER" in d.accounts[C].reasons
    assert f"incumbent partner NP ({NP}) is not a partner account" in d.accounts[C].reason_text
    itself = World().account(incumbent_partner_id=C).decide(policy)
    assert itself.accounts[C].lead_partner_id is None
    assert "customer's own account" in itself.accounts[C].reason_text


def test_a_registration_naming_a_non_partner_is_a_data_defect(policy: Policy) -> None:
    world = World().add_account(Account(NP, name="NP")).deal(partner_id=P1)
    d = world.deal(registration=registration(NP, date(2026, 11, 1))).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=P1, status=Status.REVIEW,
          codes=("DATA_DEFECT",), absent=("DEAL_REG_APPROVED", "PARTNER_DISPLACED"))  # fmt: skip
    assert f"registered partner NP ({NP}) is not a partner account" in (
        d.opportunities[OPP].reason_text
    )


def test_an_unusable_amount_is_review_never_a_nan_remedy(policy: Policy) -> None:
    d = _closed_won_displaced(World()).deal(amount=Decimal("NaN")).decide(policy)
    decision = d.opportunities[OPP]
    assert decision.status is Status.REVIEW and "DATA_DEFECT" in decision.reasons
    assert decision.remedy == "referral fee 10 % to P1 (deal amount unusable)"
    assert decision.enforced is True


def test_review_under_advisory_does_not_enforce(policy: Policy) -> None:
    world = World().deal(exception_requested=True, created_at=datetime(2026, 6, 1, tzinfo=UTC))
    d = world.decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None, status=Status.REVIEW,
          codes=("EXCEPTION_REQUESTED", "GRANDFATHERED"), enforced=False)  # fmt: skip


def test_override_lead_and_lead_source_ignore_case(policy: Policy) -> None:
    world = World().deal(override_lead=" direct", override_reason="CEO escalation #42")
    assert world.decide(policy).opportunities[OPP].status is Status.EXEMPT
    world = World().deal(owner_id=TELE, lead_source="outbound telesales ")
    assert world.decide(policy).opportunities[OPP].reasons[0] == "TELESALES_OUTBOUND"


def test_named_accounts_from_csv(tmp_path: Path) -> None:
    (tmp_path / "named.csv").write_text(f"# our key accounts\naccount_id\n{C[:15]}\n")
    policy = policy_from_dict(
        {"version": "t", "named_accounts": {"source": "csv", "csv_file": "named.csv"}},
        base_dir=tmp_path,
    )
    assert policy.named_account_ids == frozenset({C})
    d = World().decide(policy)
    assert d.accounts[C].lead is Lead.DIRECT and d.opportunities[OPP].status is Status.COMPLIANT
    # The field alone no longer names an account once the source is "csv".
    d2 = World().account(C, named=False).add_account(Account(G, named=True)).decide(policy)
    assert G in d2.accounts and d2.accounts[G].lead is Lead.PARTNER


def _product(world: World, key: str, family: str) -> World:
    return world.deal(key, extra={"product_family": family})


def test_conflict_key_with_a_field() -> None:
    world = World().deal(partner_id=P1, registration=registration(P1, date(2026, 11, 10)))
    second = registration(P2, date(2026, 11, 5))
    world.add_deal(dataclasses.replace(world.opportunities[OPP], id=OPP2, partner_id=P2,
                                       registration=second))  # fmt: skip
    _product(_product(world, OPP, "Storage"), OPP2, "Network")
    by_account = policy_from_dict({"version": "t"})
    by_family = policy_from_dict(
        {"version": "t", "registration": {"conflict_key": "account+product_family"}}
    )
    assert world.decide(by_account).opportunities[OPP].status is Status.REVIEW
    assert world.decide(by_family).opportunities[OPP].status is Status.COMPLIANT
    _product(world, OPP, "Network")
    assert world.decide(by_family).opportunities[OPP].status is Status.REVIEW


def test_conflict_tie_goes_to_the_lowest_opportunity_id(policy: Policy) -> None:
    same_day = date(2026, 11, 5)
    world = World().deal(partner_id=P1, registration=registration(P1, same_day))
    world.add_deal(dataclasses.replace(world.opportunities[OPP], id=OPP2, partner_id=P2,
                                       registration=registration(P2, same_day)))  # fmt: skip
    d = world.decide(policy)
    assert d.opportunities[OPP].status is Status.COMPLIANT
    assert d.opportunities[OPP2].status is Status.REVIEW


def test_default_custom_rule_flags_big_direct_telesales_deal(policy: Policy) -> None:
    world = World().account(named=True).deal(owner_id=TELE, amount=Decimal("1500000"))
    decision = world.decide(policy).opportunities[OPP]
    assert decision.status is Status.VIOLATION
    assert decision.reasons[0] == "CUSTOM:big-direct-deal-needs-partner-manager-review"
    assert decision.violations[0].severity == "medium"
    world.deal(amount=Decimal("999999.99"))
    assert world.decide(policy).opportunities[OPP].status is Status.COMPLIANT


def test_reason_text_fits_the_field(policy: Policy) -> None:
    long_reason = "because " * 100
    world = World().deal(override_lead="Partner", override_reason=long_reason, partner_id=P1)
    decision = world.decide(policy).opportunities[OPP]
    assert decision.status is Status.EXEMPT
    assert len(decision.reason_text) == 255 and decision.reason_text.endswith("…")
    assert decision.reason_text.startswith("OVERRIDE: because")


def test_defective_record_is_review_naming_the_defect(policy: Policy) -> None:
    world = World().deal(defects=("Amount: expected a number, got 'lots'",))
    decision = world.decide(policy).opportunities[OPP]
    assert decision.status is Status.REVIEW
    assert decision.reasons[0] == "DATA_DEFECT"
    assert "expected a number" in decision.reason_text


def test_closed_won_on_apac_before_its_date_keeps_compensation(policy: Policy) -> None:
    world = World().account(billing_country="japan").deal(
        registration=registration(P1, date(2026, 11, 1)), is_closed=True, is_won=True,
        amount=Decimal(100),
    )  # fmt: skip
    decision = world.decide(policy).opportunities[OPP]
    assert decision.status is Status.ADVISORY and "NOT_YET_ENFORCED" in decision.reasons
    assert decision.comp_eligible is True and decision.remedy is None


# -- explain ------------------------------------------------------------------------------


def test_explain_names_the_deciding_rule_and_the_facts(policy: Policy) -> None:
    world = World().deal(registration=registration(P1, date(2026, 11, 1)))
    found = explain(world.snapshot(), policy, NOW, OPP)
    assert found is not None and found.sobject == "Opportunity"
    assert found.decision is not None
    plain = world.decide(policy).opportunities[OPP]
    assert dataclasses.replace(found.decision, trace=()) == plain  # type: ignore[type-var]
    applied = {o.rule for o in found.trace if o.applied}
    assert applied == {"deal_registration", "partner_displaced", "enforcement_date"}
    rules = [o.rule for o in found.trace]
    assert rules.index("override") < rules.index("global_account") < rules.index("renewal")
    assert any("a higher rule decided" in o.detail for o in found.trace if o.rule == "renewal")
    facts = {f.name: f for f in found.facts}
    assert facts["opportunity.registration"].source == "Opportunity.registration"
    assert facts["account.named"].value is False
    assert facts["owner.role"].value is Role.FIELD
    assert found.policy_version == "2026.11-1" and found.not_evaluated is None


def test_explain_matches_evaluate(policy: Policy) -> None:
    world = World().account(named=True).deal(owner_id=TELE, lead_source="Outbound Telesales")
    found = explain(world.snapshot(), policy, NOW, OPP)
    plain = world.decide(policy).opportunities[OPP]
    assert found is not None and dataclasses.replace(found.decision, trace=()) == plain  # type: ignore[type-var]


def test_explain_says_why_a_deal_is_not_evaluated(policy: Policy) -> None:
    found = explain(World().deal(account_id=P1).snapshot(), policy, NOW, OPP)
    assert found is not None and found.decision is None
    assert found.not_evaluated == "the deal is on a partner's own account"


def test_explain_an_account_and_an_unknown_id(policy: Policy) -> None:
    world = World().add_account(Account(G, name="G", named=True)).account(parent_id=G)
    found = explain(world.snapshot(), policy, NOW, C)
    assert found is not None and found.sobject == "Account"
    assert found.decision is not None and found.decision.reasons == ("NAMED_VIA_PARENT",)
    assert [o.rule for o in found.trace if o.applied] == ["named_account"]
    partner = explain(world.snapshot(), policy, NOW, P1)
    assert partner is not None and partner.decision is None
    assert partner.not_evaluated == "partner accounts are not evaluated"
    assert explain(world.snapshot(), policy, NOW, make_id("006", 77)) is None


def test_explain_facts_follow_what_the_rules_declare_they_read(policy: Policy) -> None:
    world = World().add_account(Account(G, name="G", named=False)).account(parent_id=G)
    world.deal(registration=registration(P1, date(2026, 11, 1)), partner_id=NP)
    world.add_account(Account(NP, name="NP"))
    world.add_deal(dataclasses.replace(world.opportunities[OPP], id=OPP2, registration=None))
    found = explain(world.snapshot(), policy, NOW, OPP)
    assert found is not None
    facts = {f.name: f for f in found.facts}
    # Through the declared relationships: the parent chain, the partner named on the deal,
    # the registered partner, the deals beside it (registration conflicts), the owner's
    # manager (who a Task goes to), and the engine's conclusions (the expiry included).
    assert facts[f"account.parents[{G}].named"].value is False
    assert facts["partner.is_partner"].value is False and facts["partner.name"].value == "NP"
    assert facts["registered_partner.is_partner"].value is True
    assert facts[f"conflict_group[{OPP2}].registration"].value is None
    assert facts["owner.manager.is_active"].source == "User.is_active"
    assert facts["registration.state"].value == (
        "valid: registered by P1, approved 2026-11-01, valid through 2027-01-30"
    )
    assert facts["opportunity.exception_decision"].source == "Opportunity.exception_decision"
    assert "opportunity.last_modified_by" in facts  # shown for the record, read by no rule


def test_explain_renders_for_people_and_as_json(policy: Policy) -> None:
    from io import StringIO

    from rich.console import Console

    from syncd.cli.explain_view import as_json, render_explanation

    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    world = _closed_won_displaced(World(), exception_requested=True)
    found = explain(world.snapshot(), policy, NOW, OPP)
    assert found is not None
    out = StringIO()
    render_explanation(Console(file=out, width=200), found, mapping, "table")
    text = out.getvalue()
    assert "Status: Review" in text and "Compensation: withheld" in text
    assert "Remedy: referral fee 25000.00 to P1" in text
    assert "Opportunity.RoE_Exception_Requested__c" in text
    doc = as_json(found, mapping)
    assert doc["decision"]["enforced"] is True and doc["error"] is None
