"""S01–S30 of /work/shared/rules-scenarios.md, one test each, on the default rules file.

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
from syncd.engine.evaluate import evaluate, explain
from syncd.engine.policy import Policy, load_policy, policy_from_dict
from syncd.sfid import make_id

RULES = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)

C, G, P1, P2, HIDDEN = (make_id("001", n) for n in (1, 2, 11, 12, 99))
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
) -> None:
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
    assert decision.comp_eligible is (status is not Status.VIOLATION)
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
    assert P2 in d.opportunities[OPP].reason_text and OPP2 in d.opportunities[OPP].reason_text


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


def test_S19_override_without_reason_is_review(policy: Policy) -> None:
    world = World().deal(override_lead="Direct", override_reason=None)
    check(world.decide(policy), account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.REVIEW, codes=("OVERRIDE_NEEDS_REASON",))  # fmt: skip


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


def test_S26_exception_requested_is_review(policy: Policy) -> None:
    d = World().deal(exception_requested=True).decide(policy)
    check(d, account_lead=Lead.PARTNER, lead=Lead.PARTNER, partner=None,
          status=Status.REVIEW, codes=("EXCEPTION_REQUESTED",))  # fmt: skip
    # The rep's underlying violation stays visible for channel operations.
    assert [v.code for v in d.opportunities[OPP].violations] == ["DIRECT_ON_PARTNER_ACCOUNT"]
    assert d.opportunities[OPP].reasons[0] == "EXCEPTION_REQUESTED"


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


# -- beyond the table ---------------------------------------------------------------------


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
