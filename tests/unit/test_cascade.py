"""Cascades: re-evaluating the scope of a change gives what a full evaluation gives.

The property is the whole point of incremental cycles: any record whose decision could
differ after a change must be in the scope, or syncd would leave a stale flag (or a
missing violation) until the nightly full reconcile.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.engine.cascade import Changes, affected, changed_ids, everything, records_by_kind
from syncd.engine.domain import Account, Opportunity, Registration, Role, Snapshot, User
from syncd.engine.evaluate import evaluate
from syncd.engine.inputs import ACCOUNT, OPPORTUNITY, USER
from syncd.engine.links import AnyOf, LinkIndex
from syncd.engine.policy import Policy
from syncd.sfid import make_id
from syncd.sync.orgstate import OrgState
from syncd.sync.partial import neighbourhood
from tests.unit.test_engine_properties import ACCOUNTS, NOW, PARTNERS, POLICIES, USERS

# Clean values, mostly: garbage is the engine properties' business; here every field
# should be able to move a decision, so a missing cascade shows up as a different one.
_ids = st.sampled_from(ACCOUNTS)
_rarely = st.sampled_from([False, False, False, True])
# Partners mostly, but now and then a customer (or a deal's own account): whether the
# account named is a partner is itself a rule input the cascade must follow.
_partners = st.sampled_from([*PARTNERS, *PARTNERS, ACCOUNTS[0], ACCOUNTS[1]])
accounts = st.builds(
    Account,
    id=st.just("x"),
    parent_id=st.one_of(st.none(), _ids),
    billing_country=st.sampled_from(["US", "DE", "JP", None]),
    named=st.booleans(),
    global_account=st.booleans(),
    incumbent_partner_id=st.one_of(st.none(), _partners),
    is_partner=_rarely,
    name=st.sampled_from(["Acme", "Globex"]),
)
registrations = st.builds(
    Registration,
    partner_id=_partners,
    status=st.just("Approved"),
    approved=st.booleans(),
    approved_on=st.dates(min_value=date(2026, 6, 1), max_value=date(2026, 11, 30)),
)
opportunities = st.builds(
    Opportunity,
    id=st.just("x"),
    account_id=st.sampled_from([*ACCOUNTS, *PARTNERS]),
    owner_id=st.sampled_from(USERS),
    lead_source=st.sampled_from(["Web", "Outbound Telesales", "Inbound Call", None]),
    is_closed=_rarely,
    is_won=st.booleans(),
    amount=st.sampled_from([Decimal("1000"), None]),
    created_at=st.sampled_from([NOW, NOW, datetime(2025, 1, 5, tzinfo=UTC)]),
    partner_id=st.one_of(st.none(), _partners),
    is_renewal=_rarely,
    registration=st.one_of(st.none(), registrations),
    override_lead=st.sampled_from([None, None, None, "Direct"]),
    override_reason=st.sampled_from([None, "CEO call"]),
    exception_requested=_rarely,
    exception_decision=st.sampled_from([None, None, None, "Approved", "Rejected"]),
    exception_decision_reason=st.sampled_from([None, "partner agreed"]),
    currency=st.sampled_from([None, "EUR"]),
)
users = st.builds(
    User,
    id=st.just("x"),
    role=st.sampled_from(list(Role)),
    manager_id=st.one_of(st.none(), st.sampled_from(USERS)),
    is_active=st.booleans(),
    partner_account_id=st.one_of(st.none(), _partners),
)


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    accs = {key: dataclasses.replace(draw(accounts), id=key) for key in ACCOUNTS}
    for key in PARTNERS:
        accs[key] = Account(key, name=f"Partner {key[-5:]}", is_partner=True)
    opps = {
        key: dataclasses.replace(draw(opportunities), id=key)
        for key in (make_id("006", n) for n in range(draw(st.integers(1, 12))))
    }
    usrs = {key: dataclasses.replace(draw(users), id=key) for key in USERS}
    return Snapshot(accs, opps, usrs)


@st.composite
def edits(draw: st.DrawFn, snapshot: Snapshot) -> Snapshot:
    """The snapshot after one edit: a record changed, added or deleted.

    One record at a time keeps scopes narrow, so a missing cascade shows (several edits
    at once cover so much of a small snapshot that gaps hide behind other changes).
    """
    kind = draw(st.sampled_from(["accounts", "opportunities", "users"]))
    records: dict[str, Any] = dict(getattr(snapshot, kind))
    fresh = {"accounts": accounts, "opportunities": opportunities, "users": users}[kind]
    new_key = {"accounts": make_id("001", 500), "opportunities": make_id("006", 500)}.get(
        kind, make_id("005", 500)
    )
    key = draw(st.sampled_from([*records, new_key]))
    if key in records and draw(st.booleans()):
        del records[key]
    else:
        records[key] = dataclasses.replace(draw(fresh), id=key)
    return dataclasses.replace(snapshot, **{kind: records})


def changes_between(before: Snapshot, after: Snapshot) -> Changes:
    return Changes(
        users=changed_ids(before.users, after.users),
        accounts=changed_ids(before.accounts, after.accounts),
        opportunities=changed_ids(before.opportunities, after.opportunities),
    )


@settings(max_examples=300, deadline=None)
@given(st.data(), snapshots(), st.sampled_from(POLICIES))
def test_scoped_re_evaluation_equals_full_evaluation(
    data: st.DataObject, before: Snapshot, policy: Policy
) -> None:
    after = data.draw(edits(before))
    changes = changes_between(before, after)
    scope = affected(before, after, changes)
    # A store's links are as they were before the changes: the same scope.
    assert affected(before, after, changes, LinkIndex(records_by_kind(before))) == scope
    # Deciding the scope reads its neighbourhood only — found the same way by a daemon
    # (links as they are) and a fresh process (the store's, and the changed records').
    state = OrgState(after, {})
    roots = {ACCOUNT: scope.accounts, OPPORTUNITY: scope.opportunities}
    reads = neighbourhood(state, roots, LinkIndex(records_by_kind(after)))
    changed = {
        ACCOUNT: {k: after.accounts[k] for k in changes.accounts if k in after.accounts},
        OPPORTUNITY: {
            k: after.opportunities[k] for k in changes.opportunities if k in after.opportunities
        },
        USER: {k: after.users[k] for k in changes.users if k in after.users},
    }
    as_stored = AnyOf(LinkIndex(records_by_kind(before)), LinkIndex(changed))
    assert neighbourhood(state, roots, as_stored) == reads
    old, new = evaluate(before, policy, NOW), evaluate(after, policy, NOW)
    partial = evaluate(after, policy, NOW, scope=dataclasses.replace(scope, reads=reads))
    for key in after.accounts:
        expected = new.accounts.get(key)
        got = partial.accounts.get(key) if key in scope.accounts else old.accounts.get(key)
        assert got == expected, key
    for key in after.opportunities:
        expected_opp = new.opportunities.get(key)
        got_opp = (
            partial.opportunities.get(key)
            if key in scope.opportunities
            else old.opportunities.get(key)
        )
        assert got_opp == expected_opp, key


def test_an_account_change_reaches_descendants_and_their_deals() -> None:
    parent, child, grandchild, other = (make_id("001", n) for n in range(4))
    accs = {
        parent: Account(parent),
        child: Account(child, parent_id=parent),
        grandchild: Account(grandchild, parent_id=child),
        other: Account(other),
    }
    deal, elsewhere = make_id("006", 1), make_id("006", 2)
    opps = {
        deal: Opportunity(deal, account_id=grandchild),
        elsewhere: Opportunity(elsewhere, account_id=other),
    }
    before = Snapshot(accs, opps, {})
    after = Snapshot({**accs, parent: Account(parent, named=True)}, opps, {})
    scope = affected(before, after, Changes(accounts=frozenset({parent})))
    assert scope.accounts == {parent, child, grandchild}
    assert scope.opportunities == {deal}


def test_a_user_change_reaches_only_their_deals() -> None:
    rep, other = USERS[0], USERS[1]
    mine, theirs = make_id("006", 1), make_id("006", 2)
    opps = {
        mine: Opportunity(mine, account_id=ACCOUNTS[0], owner_id=rep),
        theirs: Opportunity(theirs, account_id=ACCOUNTS[1], owner_id=other),
    }
    snapshot = Snapshot({}, opps, {rep: User(rep), other: User(other)})
    scope = affected(snapshot, snapshot, Changes(users=frozenset({rep})))
    assert scope == dataclasses.replace(scope, opportunities=frozenset({mine}))
    assert not scope.accounts


def test_a_deal_moved_between_accounts_reaches_both_conflict_groups() -> None:
    a, b = ACCOUNTS[0], ACCOUNTS[1]
    moved, on_a, on_b = (make_id("006", n) for n in range(3))
    before = Snapshot(
        {a: Account(a), b: Account(b)},
        {
            moved: Opportunity(moved, account_id=a),
            on_a: Opportunity(on_a, account_id=a),
            on_b: Opportunity(on_b, account_id=b),
        },
        {},
    )
    after = Snapshot(
        before.accounts,
        {**before.opportunities, moved: Opportunity(moved, account_id=b)},
        {},
    )
    scope = affected(before, after, Changes(opportunities=frozenset({moved})))
    assert scope.opportunities == {moved, on_a, on_b}


def test_deleted_records_leave_the_scope_and_nothing_changed_means_nothing_to_do() -> None:
    deal = make_id("006", 1)
    before = Snapshot({}, {deal: Opportunity(deal)}, {})
    after = Snapshot({}, {}, {})
    assert affected(before, after, Changes(opportunities=frozenset({deal}))).empty
    assert affected(before, before, Changes()).empty
    assert everything(before).opportunities == {deal}


def test_a_partner_account_change_reaches_the_deals_that_name_it() -> None:
    partner, customer, incumbent_on = PARTNERS[0], ACCOUNTS[0], ACCOUNTS[4]
    portal = USERS[2]
    named, registered, by_portal, unrelated, protected = (make_id("006", n) for n in range(5))
    before = Snapshot(
        {
            partner: Account(partner, is_partner=True),
            customer: Account(customer),
            incumbent_on: Account(incumbent_on, incumbent_partner_id=partner),
        },
        {
            named: Opportunity(named, account_id=customer, partner_id=partner),
            registered: Opportunity(
                registered,
                account_id=ACCOUNTS[1],
                registration=Registration(partner, "Approved", approved=True),
            ),
            by_portal: Opportunity(by_portal, account_id=ACCOUNTS[2], owner_id=portal),
            unrelated: Opportunity(unrelated, account_id=ACCOUNTS[3]),
            protected: Opportunity(protected, account_id=incumbent_on),
        },
        {portal: User(portal, role=Role.PARTNER_USER, partner_account_id=partner)},
    )
    renamed = dataclasses.replace(before.accounts[partner], name="Renamed Partners")
    after = dataclasses.replace(before, accounts={**before.accounts, partner: renamed})
    scope = affected(before, after, Changes(accounts=frozenset({partner})))
    assert scope.opportunities == {named, registered, by_portal, protected}


def test_a_partner_that_stops_being_one_re_decides_whatever_names_it() -> None:
    partner, customer, other, portal = PARTNERS[0], ACCOUNTS[0], ACCOUNTS[1], USERS[2]
    named, registered, beside, by_portal = (make_id("006", n) for n in range(4))
    before = Snapshot(
        {
            partner: Account(partner, is_partner=True),
            customer: Account(customer, incumbent_partner_id=partner),
            other: Account(other),
        },
        {
            named: Opportunity(named, account_id=other, partner_id=partner),
            registered: Opportunity(
                registered, account_id=other, registration=Registration(partner, "Approved", True)
            ),
            beside: Opportunity(beside, account_id=other),  # its conflict group changes
            by_portal: Opportunity(by_portal, account_id=other, owner_id=portal),
        },
        {portal: User(portal, role=Role.PARTNER_USER, partner_account_id=partner)},
    )
    demoted = dataclasses.replace(before.accounts[partner], is_partner=False)
    after = dataclasses.replace(before, accounts={**before.accounts, partner: demoted})
    scope = affected(before, after, Changes(accounts=frozenset({partner})))
    assert scope.accounts == {partner, customer}  # the customer whose incumbent it was
    assert scope.opportunities == {named, registered, beside, by_portal}


def test_a_manager_change_re_decides_nothing() -> None:
    # Enforcement reads the manager (who receives a Task); no decision does.
    rep, manager = USERS[0], USERS[1]
    deal = make_id("006", 1)
    before = Snapshot(
        {ACCOUNTS[0]: Account(ACCOUNTS[0])},
        {deal: Opportunity(deal, account_id=ACCOUNTS[0], owner_id=rep)},
        {rep: User(rep, manager_id=manager), manager: User(manager)},
    )
    after = dataclasses.replace(
        before, users={**before.users, manager: User(manager, is_active=False)}
    )
    assert affected(before, after, Changes(users=frozenset({manager}))).empty
