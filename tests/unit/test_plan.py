from pathlib import Path

import pytest

from syncd.engine.domain import (
    AccountDecision,
    Decisions,
    Lead,
    OpportunityDecision,
    Status,
)
from syncd.engine.enforcement import Hold
from syncd.sync.mapping import load_mapping
from syncd.sync.plan import TEXT_LIMIT, Payloads, RecordWrite, plan_writes, same_value

ROOT = Path(__file__).resolve().parents[2]
ACC, OPP, P1 = "001000000000001AAA", "006000000000001AAA", "0015g0000000001AAA"


@pytest.fixture(scope="module")
def mapping():
    return load_mapping(ROOT / "mappings" / "default.yaml")


def decisions(reason: str = "Partner-led by default (PARTNER_LED_DEFAULT)") -> Decisions:
    account = AccountDecision(ACC, Lead.PARTNER, None, ("PARTNER_LED_DEFAULT",), reason, "v1")
    opp = OpportunityDecision(
        opportunity_id=OPP,
        account_id=ACC,
        expected_lead=Lead.PARTNER,
        protected_partner_id=P1,
        status=Status.COMPLIANT,
        reasons=("PARTNER_LED_DEFAULT",),
        reason_text=reason,
        violations=(),
        enforced=False,
        comp_eligible=True,
        remedy=None,
        policy_version="v1",
    )
    return Decisions({ACC: account}, {OPP: opp}, "v1")


def test_first_cycle_writes_every_flag(mapping) -> None:
    plan = plan_writes(decisions(), {}, mapping)
    assert [w.record_id for w in plan.accounts] == [ACC]
    assert plan.opportunities[0].values == {
        "RoE_Expected_Lead__c": "Partner",
        "RoE_Protected_Partner__c": P1,
        "RoE_Status__c": "Compliant",
        "RoE_Reason__c": "Partner-led by default (PARTNER_LED_DEFAULT)",
        "RoE_Comp_Eligible__c": True,
    }  # remedy None == empty field: not written


def test_only_differing_fields_are_written(mapping) -> None:
    current = {
        ACC: {
            "RoE_Engagement_Lead__c": "Partner",
            "RoE_Lead_Partner__c": None,
            "RoE_Reason__c": "Partner-led by default (PARTNER_LED_DEFAULT)",
        },
        OPP: {
            "RoE_Expected_Lead__c": "Direct",
            "RoE_Protected_Partner__c": P1,
            "RoE_Status__c": "Compliant",
            "RoE_Reason__c": "Partner-led by default (PARTNER_LED_DEFAULT)",
            "RoE_Comp_Eligible__c": True,
            "RoE_Remedy__c": "",
        },
    }
    plan = plan_writes(decisions(), current, mapping)
    assert plan.accounts == ()
    (write,) = plan.opportunities
    assert write.values == {"RoE_Expected_Lead__c": "Partner"}
    assert write.before == {"RoE_Expected_Lead__c": "Direct"}
    assert write.payload() == {"Id": OPP, "RoE_Expected_Lead__c": "Partner"}


def test_echo_of_own_writes_converges_to_nothing(mapping) -> None:
    first = plan_writes(decisions(), {}, mapping)
    echoed = {w.record_id: dict(w.values) for w in (*first.accounts, *first.opportunities)}
    assert plan_writes(decisions(), echoed, mapping).total == 0


def test_the_ledgers_hold_overrides_the_engine_and_keeps_the_remedy(mapping) -> None:
    held = {OPP: Hold(remedy="referral fee 100.00 to P1")}
    plan = plan_writes(decisions(), {}, mapping, holds=held)
    values = plan.opportunities[0].values
    assert values["RoE_Comp_Eligible__c"] is False
    assert values["RoE_Remedy__c"] == "referral fee 100.00 to P1"


def test_a_rejected_exception_request_box_is_cleared(mapping) -> None:
    box = mapping.opportunity.read.exception_requested
    plan = plan_writes(decisions(), {}, mapping, opportunity_extras={OPP: {box: False}})
    assert plan.opportunities[0].values[box] is False


def test_long_text_is_clipped_to_the_field_length(mapping) -> None:
    plan = plan_writes(decisions("x" * 400), {}, mapping)
    assert len(plan.accounts[0].values["RoE_Reason__c"]) == TEXT_LIMIT
    clipped = dict(plan.accounts[0].values)
    assert plan_writes(decisions("x" * 400), {ACC: clipped}, mapping).accounts == ()


@pytest.mark.parametrize(
    ("current", "wanted", "same"),
    [
        (None, "", True),
        ("", None, True),
        (250000.0, 250000, True),
        (True, True, True),
        ("true", True, True),
        (False, None, False),
        ("Direct", "Partner", False),
    ],
)
def test_same_value_follows_salesforce_representations(current, wanted, same) -> None:
    assert same_value(current, wanted) is same


def test_account_extras_clear_the_resync_box_even_on_undecided_accounts(mapping) -> None:
    written = plan_writes(decisions(), {}, mapping)
    current = {w.record_id: dict(w.values) for w in (*written.accounts, *written.opportunities)}
    current[ACC]["RoE_Resync_Requested__c"] = True
    current[P1] = {"RoE_Resync_Requested__c": True}
    clear = {"RoE_Resync_Requested__c": False}
    plan = plan_writes(decisions(), current, mapping, account_extras={ACC: clear, P1: clear})
    assert {w.record_id: dict(w.values) for w in plan.accounts} == {ACC: clear, P1: clear}
    assert plan.opportunities == ()
    current[ACC]["RoE_Resync_Requested__c"] = False
    current[P1]["RoE_Resync_Requested__c"] = False
    again = plan_writes(decisions(), current, mapping, account_extras={ACC: clear, P1: clear})
    assert again.total == 0


def test_payloads_are_made_when_asked_for() -> None:
    writes = [RecordWrite("Opportunity", f"006{i}", {"RoE_Status__c": "Compliant"}) for i in "AB"]
    payloads = Payloads(writes)
    assert len(payloads) == 2 and payloads[1] == {"Id": "006B", "RoE_Status__c": "Compliant"}
    assert list(payloads) == [w.payload() for w in writes] == payloads[0:2]
    assert payloads[0] is not payloads[0]  # made anew: nothing is held
