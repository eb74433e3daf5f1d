"""Custom declarative rules: operators, fields, engine facts, load-time errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from syncd.engine.domain import Account, Opportunity, Registration, Role, Snapshot, Status, User
from syncd.engine.evaluate import evaluate
from syncd.engine.explain import explain
from syncd.engine.policy import Policy, policy_from_dict
from syncd.errors import ConfigError
from syncd.sfid import make_id

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ACC, PARTNER = make_id("001", 1), make_id("001", 2)
OPP, REP = make_id("006", 1), make_id("005", 1)


def policy(*rules: dict[str, Any]) -> Policy:
    return policy_from_dict({"version": "t", "custom_rules": list(rules)})


def rule(when: dict[str, Any], rule_id: str = "r", severity: str = "low") -> dict[str, Any]:
    return {"id": rule_id, "when": when, "severity": severity, "message": f"{rule_id} matched"}


def decide(rules: Policy, *, named: bool = True, **deal: Any) -> Any:
    account = Account(ACC, name="Acme", billing_country="US", named=named,
                      extra={"tier": "gold"})  # fmt: skip
    fields = {"account_id": ACC, "owner_id": REP, "lead_source": "Web",
              "created_at": datetime(2026, 11, 15, tzinfo=UTC), **deal}  # fmt: skip
    snapshot = Snapshot(
        {ACC: account, PARTNER: Account(PARTNER, is_partner=True)},
        {OPP: Opportunity(OPP, **fields)},
        {REP: User(REP, "rep", Role.TELESALES)},
    )
    return evaluate(snapshot, rules, NOW).opportunities[OPP]


@pytest.mark.parametrize(
    ("when", "matches"),
    [
        ({"opportunity.amount": {"gte": 1000}}, True),
        ({"opportunity.amount": {"gt": 1000}}, False),
        ({"opportunity.amount": {"lt": 1000.5}}, True),
        ({"opportunity.amount": {"lte": 999}}, False),
        ({"opportunity.lead_source": {"eq": "Web"}}, True),
        ({"opportunity.lead_source": {"ne": "Web"}}, False),
        ({"opportunity.lead_source": {"in": ["Event", "Web"]}}, True),
        ({"opportunity.lead_source": {"not_in": ["Event", "Web"]}}, False),
        ({"opportunity.partner_id": {"exists": False}}, True),
        ({"opportunity.partner_id": {"exists": True}}, False),
        ({"opportunity.created_at": {"lt": date(2026, 11, 16)}}, True),
        ({"opportunity.created_on": {"eq": date(2026, 11, 15)}}, True),
        ({"owner.role": {"eq": "telesales"}}, True),
        ({"owner.role": {"eq": "Telesales"}}, True),  # enum values in any case
        ({"opportunity.created_at": {"gte": "2026-11-15"}}, True),  # a quoted date
        ({"owner.role": {"in": ["field", "partner_manager"]}}, False),
        ({"account.lead": {"eq": "Direct"}}, True),
        ({"account.named": {"eq": True}}, True),
        ({"account.region": {"eq": "default"}}, True),  # no regions in this policy
        ({"account.extra.tier": {"eq": "gold"}}, True),
        ({"opportunity.extra.product_family": {"exists": True}}, False),
        ({"opportunity.expected_lead": {"eq": "Direct"}, "opportunity.enforced": {"eq": True}},
         True),
        ({"opportunity.registration.partner_id": {"eq": PARTNER}}, False),
        ({"opportunity.amount": {"gte": 1000, "lte": 1000}}, True),  # both must hold
    ],
)  # fmt: skip
def test_operators_and_fields(when: dict[str, Any], matches: bool) -> None:
    decision = decide(policy(rule(when)), amount=Decimal(1000))
    assert ("CUSTOM:r" in decision.reasons) is matches
    assert decision.status is (Status.VIOLATION if matches else Status.COMPLIANT)


def test_a_match_is_a_violation_with_the_rule_severity_and_message() -> None:
    decision = decide(policy(rule({"owner.role": {"eq": "telesales"}}, "tele", "high")))
    (violation,) = decision.violations
    assert (violation.code, violation.severity, violation.message) == (
        "CUSTOM:tele", "high", "tele matched",
    )  # fmt: skip
    assert violation.rep_id == REP
    assert "tele matched" in decision.reason_text


def test_custom_violation_before_enforcement_is_advisory() -> None:
    decision = decide(policy(rule({"owner.role": {"eq": "telesales"}})),
                      created_at=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    assert decision.status is Status.ADVISORY and "GRANDFATHERED" in decision.reasons


def test_registration_fields_are_visible() -> None:
    reg = Registration(PARTNER, "Approved", True, date(2026, 11, 20))
    rules = policy(rule({"opportunity.registration.partner_id": {"eq": PARTNER},
                         "opportunity.protected_partner_id": {"eq": PARTNER}}))  # fmt: skip
    decision = decide(rules, named=False, registration=reg, partner_id=PARTNER)
    assert "CUSTOM:r" in decision.reasons


def test_exempt_deals_are_not_checked_by_custom_rules() -> None:
    rules = policy(rule({"owner.role": {"eq": "telesales"}}))
    decision = decide(rules, override_lead="Direct", override_reason="approved by VP")
    assert decision.status is Status.EXEMPT and decision.violations == ()


def test_explain_shows_why_a_custom_rule_did_not_match() -> None:
    rules = policy(rule({"opportunity.amount": {"gte": 5000}}))
    account = Account(ACC, named=True)
    opp = Opportunity(OPP, account_id=ACC, amount=Decimal(10))
    found = explain(Snapshot({ACC: account}, {OPP: opp}, {}), rules, NOW, OPP)
    assert found is not None
    (line,) = [o for o in found.trace if o.rule == "CUSTOM:r"]
    assert not line.applied and "opportunity.amount is Decimal('10')" in line.detail


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"opportunity.amont": {"gt": 1}}, "unknown field 'opportunity.amont'"),
        ({"deal.amount": {"gt": 1}}, "start with account., opportunity. or owner."),
        ({"owner.role": {"like": "tele"}}, "unknown operator 'like'"),
        ({"owner.role": {"in": "telesales"}}, "in expects a list"),
        ({"owner.role": {"exists": "yes"}}, "exists expects true or false"),
        ({"owner.role": "telesales"}, "expected {operator: value}"),
        ({"opportunity.amount": {"gte": "a lot"}}, "opportunity.amount gte: expected a number"),
        ({"opportunity.is_won": {"eq": "yes"}}, "expected true or false, got 'yes'"),
        ({"opportunity.lead_source": {"in": ["Web", 3]}}, "expected a text, got 3"),
        ({"opportunity.close_date": {"lt": "next week"}}, "expected a date (YYYY-MM-DD)"),
        ({"owner.role": {"eq": "astronaut"}}, "expected one of field, telesales"),
        ({"opportunity.lead_source": {"gt": "M"}}, "compare numbers and dates only"),
        ({"opportunity.last_modified_by": {"exists": True}}, "unknown field"),
    ],
)
def test_load_time_errors_name_the_rule(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_dict({"version": "t", "custom_rules": [rule(bad, "my-rule")]}, source="r.yaml")
    text = str(caught.value)
    assert "r.yaml" in text and "custom_rules.0" in text and message in text
    if "expected {operator" not in message:
        assert "'my-rule'" in text


def test_rule_ids_are_unique_and_messages_required() -> None:
    with pytest.raises(ConfigError, match="duplicate custom rule ids"):
        policy(
            rule({"owner.role": {"eq": "field"}}, "a"), rule({"owner.role": {"eq": "other"}}, "a")
        )
    with pytest.raises(ConfigError, match=r"custom_rules\.0\.message"):
        policy({"id": "a", "when": {"owner.role": {"eq": "field"}}})


def test_enforced_fact_is_false_for_grandfathered_deals() -> None:
    rules = policy(rule({"opportunity.enforced": {"eq": False}}))
    assert "CUSTOM:r" in decide(rules, created_at=datetime(2025, 1, 1, tzinfo=UTC)).reasons
    assert "CUSTOM:r" not in decide(rules).reasons
