"""Properties of the engine (hypothesis): deterministic, order-independent, total.

Snapshots are generated from valid domain values — what the mapping produces — with the
awkward cases a real org has: Ids that point nowhere, parent chains that loop, customers
named as partners, unknown picklist values, defects the mapping noted, registrations
and exception decisions of every kind. (Garbage in raw records is the mapping's
business: ``test_mapping`` proves it becomes defects.) Whatever comes in, evaluation
gives decisions and collects no errors.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.engine.domain import (
    Account,
    AccountDecision,
    Decisions,
    Opportunity,
    OpportunityDecision,
    Registration,
    Role,
    Snapshot,
    Status,
    User,
)
from syncd.engine.evaluate import evaluate
from syncd.engine.explain import explain
from syncd.engine.policy import Policy, load_policy
from syncd.sfid import make_id

RULES = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ACCOUNTS = [make_id("001", n) for n in range(6)]
PARTNERS = [make_id("001", 100 + n) for n in range(2)]
USERS = [make_id("005", n) for n in range(4)]
DANGLING = make_id("001", 999)
EXAMPLES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_POLICY = load_policy(RULES)
POLICIES = [
    _POLICY,
    _POLICY.model_copy(
        update={
            "registration": _POLICY.registration.model_copy(
                update={"conflict_key": "account+product_family"}
            ),
            "named_accounts": _POLICY.named_accounts.model_copy(update={"source": "both"}),
            "named_account_ids": frozenset(ACCOUNTS[:2]),
        }
    ),
]


def maybe(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), values)


account_ids = maybe(st.sampled_from([*ACCOUNTS, *PARTNERS, DANGLING]))
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)
picklist = st.sampled_from(["Web", "Outbound Telesales", "inbound call ", "Cold Call", "Renewal"])
defects = st.sampled_from([(), ("Amount: expected a number, got 'lots'",)])

accounts = st.builds(
    Account,
    id=st.just("x"),
    name=st.text(max_size=5),
    parent_id=account_ids,
    is_partner=st.sampled_from([False, False, True]),
    billing_country=maybe(st.sampled_from(["US", "de", "Japan", "United States ", "zz"])),
    named=st.booleans(),
    global_account=st.booleans(),
    incumbent_partner_id=account_ids,
    defects=defects,
)
registrations = st.builds(
    Registration,
    partner_id=account_ids,
    status=maybe(st.sampled_from(["Approved", "Submitted"])),
    approved=st.booleans(),
    approved_on=maybe(days),
    expires_on=maybe(days),
)
opportunities = st.builds(
    Opportunity,
    id=st.just("x"),
    account_id=account_ids,
    owner_id=maybe(st.sampled_from([*USERS, make_id("005", 99)])),
    type=maybe(picklist),
    lead_source=maybe(picklist),
    is_closed=st.booleans(),
    is_won=st.booleans(),
    amount=maybe(amounts),
    created_at=maybe(moments),
    partner_id=account_ids,
    is_renewal=st.booleans(),
    registration=maybe(registrations),
    override_lead=maybe(st.sampled_from(["Direct", "partner", " Joint", "Sideways"])),
    override_reason=maybe(st.sampled_from(["CEO call", "  "])),
    exception_requested=st.booleans(),
    exception_decision=maybe(st.sampled_from(["Approved", "rejected", "Maybe"])),
    exception_decision_reason=maybe(st.sampled_from(["partner agreed", " "])),
    currency=maybe(st.sampled_from(["EUR", "USD"])),
    last_modified_by=maybe(st.sampled_from(USERS)),
    extra=st.one_of(st.just({}), st.fixed_dictionaries({"product_family": maybe(st.text())})),
    defects=defects,
)
users = st.builds(
    User,
    id=st.just("x"),
    role=st.sampled_from(list(Role)),
    manager_id=maybe(st.sampled_from(USERS)),
    is_active=st.booleans(),
    partner_account_id=account_ids,
    defects=defects,
)


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    acc = {key: dataclasses.replace(draw(accounts), id=key) for key in ACCOUNTS}
    for key in PARTNERS:
        acc[key] = Account(key, name=f"P{key[-4:]}", is_partner=True)
    n_opps = draw(st.integers(min_value=1, max_value=12))
    opps = {}
    for n in range(n_opps):
        key = make_id("006", n)
        opps[key] = dataclasses.replace(draw(opportunities), id=key)
    usr = {key: dataclasses.replace(draw(users), id=key) for key in USERS}
    return Snapshot(acc, opps, usr)


def shuffled(snapshot: Snapshot, seed: int) -> Snapshot:
    rng = random.Random(seed)

    def mix(records: dict[str, object]) -> dict[str, object]:
        items = list(records.items())
        rng.shuffle(items)
        return dict(items)

    return Snapshot(
        mix(dict(snapshot.accounts)),  # type: ignore[arg-type]
        mix(dict(snapshot.opportunities)),  # type: ignore[arg-type]
        mix(dict(snapshot.users)),  # type: ignore[arg-type]
    )


def as_plain(
    decisions: Decisions,
) -> tuple[dict[str, AccountDecision], dict[str, OpportunityDecision]]:
    return dict(decisions.accounts), dict(decisions.opportunities)


@EXAMPLES
@given(snapshots(), st.sampled_from(POLICIES))
def test_evaluation_is_total_and_keeps_the_enforcement_contract(
    snapshot: Snapshot, policy: Policy
) -> None:
    decisions = evaluate(snapshot, policy, NOW)
    assert decisions.errors == {}
    for key, decision in decisions.opportunities.items():
        assert key in snapshot.opportunities
        assert decision.reasons, decision
        assert len(decision.reason_text) <= 255
        # What enforcement builds on: an enforced violation stands whatever the status.
        advisory = {"NOT_YET_ENFORCED", "GRANDFATHERED"} & set(decision.reasons)
        assert decision.enforced is bool(decision.violations and not advisory)
        assert decision.comp_eligible is not decision.enforced
        if decision.status is Status.VIOLATION:
            assert decision.enforced
        if decision.status is Status.EXEMPT:
            assert not decision.violations
        if decision.remedy is not None:
            assert decision.enforced and "NaN" not in decision.remedy
        if decision.expected_lead is None:
            assert decision.status is Status.REVIEW
        # Only a partner account other than the customer is ever protected.
        protected = decision.protected_partner_id
        if protected is not None:
            assert snapshot.accounts[protected].is_partner and protected != decision.account_id
    for account in decisions.accounts.values():
        partner = account.lead_partner_id
        assert partner is None or snapshot.accounts[partner].is_partner
    for key in snapshot.opportunities:
        found = explain(snapshot, policy, NOW, key)
        assert found is not None and found.sobject == "Opportunity" and found.error is None
        assert (found.decision is None) == (key not in decisions.opportunities)
        assert found.decision is None or found.trace


@EXAMPLES
@given(snapshots(), st.sampled_from(POLICIES))
def test_evaluation_is_deterministic_and_trace_does_not_change_it(
    snapshot: Snapshot, policy: Policy
) -> None:
    first = evaluate(snapshot, policy, NOW)
    assert as_plain(first) == as_plain(evaluate(snapshot, policy, NOW))
    # The traced path tries every lead rule; the fast one only those that can apply on
    # the account (rules.lead.lead_rules_for): both must decide alike.
    traced = evaluate(snapshot, policy, NOW, trace=True)
    untraced = {k: dataclasses.replace(d, trace=()) for k, d in traced.opportunities.items()}
    assert untraced == dict(first.opportunities)


@EXAMPLES
@given(snapshots(), st.sampled_from(POLICIES), st.integers(0, 2**16))
def test_evaluation_does_not_depend_on_record_order(
    snapshot: Snapshot, policy: Policy, seed: int
) -> None:
    assert as_plain(evaluate(snapshot, policy, NOW)) == as_plain(
        evaluate(shuffled(snapshot, seed), policy, NOW)
    )


def test_parent_cycle_of_every_length_terminates() -> None:
    keys = [make_id("001", n) for n in range(50)]
    accs = {k: Account(k, parent_id=keys[(i + 1) % len(keys)]) for i, k in enumerate(keys)}
    accs[keys[7]] = dataclasses.replace(accs[keys[7]], named=True)
    decisions = evaluate(Snapshot(accs, {}, {}), _POLICY, NOW)
    assert all("PARENT_CYCLE" in d.reasons for d in decisions.accounts.values())
    assert all(d.lead == "Direct" for d in decisions.accounts.values())


def test_a_rule_failing_on_a_record_is_reported_with_its_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from syncd.engine.rules import deal

    account, rep = ACCOUNTS[0], USERS[0]
    broken, fine = make_id("006", 1), make_id("006", 2)
    snapshot = Snapshot(
        {account: Account(account, billing_country="US")},
        {
            broken: Opportunity(broken, account_id=account, owner_id=rep, amount=Decimal(1)),
            fine: Opportunity(fine, account_id=account, owner_id=rep),
        },
        {rep: User(rep, role=Role.FIELD)},
    )
    real = deal.custom_rules

    def failing(ctx: object, d: deal.Deal) -> None:
        if d.opp.amount is not None:
            raise ZeroDivisionError("a bug in a rule")
        real(ctx, d)  # type: ignore[arg-type]

    monkeypatch.setattr(deal, "CHECKS", tuple(failing if c is real else c for c in deal.CHECKS))
    decisions = evaluate(snapshot, _POLICY, NOW)
    assert decisions.errors == {broken: "ZeroDivisionError: a bug in a rule"}
    assert decisions.opportunities[broken].status is Status.REVIEW
    assert decisions.opportunities[broken].reasons == ("DATA_DEFECT",)
    assert decisions.opportunities[fine].status is Status.VIOLATION
    found = explain(snapshot, _POLICY, NOW, broken)
    assert found is not None and found.error == "ZeroDivisionError: a bug in a rule"


def test_fast_constructors_build_what_the_dataclasses_build() -> None:
    from syncd.engine.rules import build

    for cls, new in (
        (OpportunityDecision, build.new_decision),
        (AccountDecision, build.new_account_decision),
    ):
        names = [f.name for f in dataclasses.fields(cls)]
        values = {name: f"v{n}" for n, name in enumerate(names)}
        assert new(**values) == cls(**values) == new(*values.values())
        with pytest.raises(TypeError):
            new(**dict(list(values.items())[1:]))  # every field is required
