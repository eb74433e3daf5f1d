"""Properties of the engine (hypothesis): deterministic, order-independent, total.

Snapshots are generated with garbage on purpose: None and wrong types in every field,
unknown picklist values, Ids that point nowhere, parent chains that loop. Whatever comes
in, evaluation gives decisions — never an exception.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.engine.domain import (
    Account,
    Decisions,
    Opportunity,
    Registration,
    Role,
    Snapshot,
    Status,
    User,
)
from syncd.engine.evaluate import evaluate, explain
from syncd.engine.policy import Policy, load_policy
from syncd.sfid import make_id

RULES = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ACCOUNTS = [make_id("001", n) for n in range(6)]
PARTNERS = [make_id("001", 100 + n) for n in range(2)]
USERS = [make_id("005", n) for n in range(4)]
DANGLING = make_id("001", 999)
GARBAGE = st.sampled_from([None, "", 0, 3.5, -1, "n/a", [], {"a": 1}, b"x", True])
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


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, GARBAGE)


ids = maybe(st.sampled_from([*ACCOUNTS, *PARTNERS, DANGLING]))
flags = maybe(st.booleans())
days = maybe(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
moments = maybe(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
        lambda d: d.replace(tzinfo=UTC)
    )
)
amounts = maybe(
    st.one_of(st.decimals(allow_nan=True, allow_infinity=True, places=2), st.integers())
)
texts = maybe(
    st.sampled_from(["Web", "Outbound Telesales", "Inbound Call", "Cold Call", "Renewal"])
)

accounts = st.builds(
    Account,
    id=st.just("x"),
    name=maybe(st.text(max_size=5)),
    parent_id=ids,
    is_partner=st.one_of(st.just(False), flags),
    billing_country=maybe(st.sampled_from(["US", "de", "Japan", "United States", "zz"])),
    named=flags,
    global_account=flags,
    incumbent_partner_id=maybe(st.sampled_from(PARTNERS)),
    defects=st.sampled_from([(), ("Name: too long",)]),
)
registrations = st.builds(
    Registration,
    partner_id=maybe(st.sampled_from(PARTNERS)),
    status=maybe(st.just("Approved")),
    approved=flags,
    approved_on=days,
    expires_on=st.one_of(st.none(), days),
)
opportunities = st.builds(
    Opportunity,
    id=st.just("x"),
    account_id=ids,
    owner_id=maybe(st.sampled_from([*USERS, make_id("005", 99)])),
    type=texts,
    lead_source=texts,
    is_closed=flags,
    is_won=flags,
    amount=amounts,
    created_at=moments,
    partner_id=maybe(st.sampled_from(PARTNERS)),
    is_renewal=flags,
    registration=st.one_of(st.none(), registrations, GARBAGE),
    override_lead=maybe(st.sampled_from(["Direct", "partner", "Joint", "Sideways"])),
    override_reason=maybe(st.sampled_from(["CEO call", "  "])),
    exception_requested=flags,
    extra=st.one_of(st.just({}), st.fixed_dictionaries({"product_family": maybe(st.text())})),
    defects=st.sampled_from([(), ("Amount: expected a number, got 'lots'",)]),
)
users = st.builds(
    User,
    id=st.just("x"),
    role=maybe(st.sampled_from(list(Role))),
    manager_id=maybe(st.sampled_from(USERS)),
    partner_account_id=maybe(st.sampled_from(PARTNERS)),
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

    def mix(mapping: Any) -> dict[str, Any]:
        items = list(mapping.items())
        rng.shuffle(items)
        return dict(items)

    return Snapshot(mix(snapshot.accounts), mix(snapshot.opportunities), mix(snapshot.users))


def as_plain(decisions: Decisions) -> tuple[dict[str, Any], dict[str, Any]]:
    return dict(decisions.accounts), dict(decisions.opportunities)


@EXAMPLES
@given(snapshots(), st.sampled_from(POLICIES))
def test_evaluation_is_total(snapshot: Snapshot, policy: Policy) -> None:
    decisions = evaluate(snapshot, policy, NOW)
    for key, decision in decisions.opportunities.items():
        assert key in snapshot.opportunities
        assert isinstance(decision.status, Status)
        assert decision.reasons, decision
        assert len(decision.reason_text) <= 255
        # The contract enforcement builds on: what stands is enforced whatever the status.
        advisory = {"NOT_YET_ENFORCED", "GRANDFATHERED"} & set(decision.reasons)
        assert decision.enforced is bool(decision.violations and not advisory)
        assert decision.comp_eligible is not decision.enforced
        if decision.status is Status.VIOLATION:
            assert decision.enforced
        if decision.remedy is not None:
            assert decision.enforced and "NaN" not in decision.remedy
        if decision.expected_lead is None:
            assert decision.status is Status.REVIEW
    for key in snapshot.opportunities:
        found = explain(snapshot, policy, NOW, key)
        assert found is not None and found.sobject == "Opportunity"
        assert (found.decision is None) == (key not in decisions.opportunities)
        assert found.decision is None or found.trace


@EXAMPLES
@given(snapshots(), st.sampled_from(POLICIES))
def test_evaluation_is_deterministic_and_trace_does_not_change_it(
    snapshot: Snapshot, policy: Policy
) -> None:
    first = evaluate(snapshot, policy, NOW)
    assert as_plain(first) == as_plain(evaluate(snapshot, policy, NOW))
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


def test_wrong_typed_values_are_tolerated() -> None:
    account = Account(ACCOUNTS[0], parent_id=["not", "hashable"], billing_country=object())
    opp = Opportunity(make_id("006", 1), account_id=ACCOUNTS[0], owner_id=USERS[0],
                      amount=Decimal("NaN"), is_won="yes")  # fmt: skip
    rep = User(USERS[0], role=Role.FIELD)
    decisions = evaluate(
        Snapshot({account.id: account}, {opp.id: opp}, {rep.id: rep}), _POLICY, NOW
    )
    decision = decisions.opportunities[opp.id]
    assert decision.status is Status.VIOLATION  # the default region; the parent is ignored
    assert decision.reasons == ("DIRECT_ON_PARTNER_ACCOUNT", "PARTNER_LED_DEFAULT")


def test_a_record_that_is_not_a_record_is_review() -> None:
    key = make_id("006", 1)
    snapshot = Snapshot({}, {key: object()}, {})  # type: ignore[dict-item]
    decision = evaluate(snapshot, _POLICY, NOW).opportunities[key]
    assert decision.status is Status.REVIEW and decision.reasons == ("DATA_DEFECT",)
    assert "unusable values" in decision.reason_text


def test_fast_constructors_set_every_field() -> None:
    from syncd.engine.domain import AccountDecision, OpportunityDecision
    from syncd.engine.rules import build

    names = [f.name for f in dataclasses.fields(OpportunityDecision)]
    assert tuple(names) == build.OPPORTUNITY_FIELDS
    assert tuple(f.name for f in dataclasses.fields(AccountDecision)) == build.ACCOUNT_FIELDS
    values = [f"v{n}" for n in range(len(names))]
    assert build.new_decision(*values) == OpportunityDecision(*values)  # type: ignore[arg-type]
