"""Notices from a cycle's reconciliation, routing by settings, messages people read: pure."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from syncd.engine.domain import (
    Account,
    Decisions,
    Lead,
    Opportunity,
    OpportunityDecision,
    Severity,
    Snapshot,
    Status,
    User,
    Violation,
)
from syncd.engine.enforcement import (
    Enforcement,
    EnforcementRules,
    LedgerEntry,
    OrgTask,
    Rung,
    adopt,
    reconcile,
)
from syncd.notify.events import CycleFacts, notices
from syncd.notify.message import EVENT_TARGET, Kind, Notice, State
from syncd.notify.routing import next_digest, route, targets
from syncd.notify.settings import NotificationSettings
from syncd.sfid import make_id

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
INSTANCE = "https://acme.my.salesforce.com"
CUSTOMER, PARTNER = make_id("001", 1), make_id("001", 2)
REP, MGR, OPS, LONER = (make_id("005", n) for n in range(1, 5))
DEAL, OTHER = make_id("006", 1), make_id("006", 2)
DISPLACED = "PARTNER_DISPLACED"
RULES = EnforcementRules(
    window_days=365,
    ladder=(
        Rung(1, "warning", "manager", "Normal"),
        Rung(2, "compensation_review", "manager", "High"),
    ),
    sticky_codes=frozenset({DISPLACED}),
    channel_ops_user_id=OPS,
    channel_chief_user_id=OPS,
    due_days={"Normal": 7, "High": 3},
)
HOOKS = {
    "ops": {"kind": "webhook", "url": "https://hooks.example/ops"},
    "vp": {"kind": "webhook", "url": "https://hooks.example/vp"},
    "mgrs": {"kind": "webhook", "url": "https://hooks.example/mgrs"},
}


def world(*, won: bool = False, owner: str = REP, requested: bool = False) -> Snapshot:
    users = {
        REP: User(REP, "Sven Larsen", manager_id=MGR),
        MGR: User(MGR, "Victoria Hale", extra={"email": "Victoria.Hale@acme.example"}),
        LONER: User(LONER, "Dan Okoye"),
        OPS: User(OPS, "Priya Raman"),
    }
    deal = Opportunity(
        DEAL,
        "Wayne — Batcave DC",
        account_id=CUSTOMER,
        owner_id=owner,
        is_closed=won,
        is_won=won,
        amount=Decimal("480000"),
        exception_requested=requested,
        exception_reason="the CIO asked for us" if requested else None,
    )
    other = Opportunity(OTHER, "Wayne — Other", account_id=CUSTOMER, owner_id=owner)
    accounts = {
        CUSTOMER: Account(CUSTOMER, "Wayne Enterprises"),
        PARTNER: Account(PARTNER, "Northwind Solutions", is_partner=True),
    }
    return Snapshot(accounts, {DEAL: deal, OTHER: other}, users)


def decision(opp: str, *, remedy: str | None = None, review: bool = False) -> OpportunityDecision:
    reasons = (DISPLACED, "EXCEPTION_REQUESTED") if review else (DISPLACED,)
    return OpportunityDecision(
        opportunity_id=opp,
        account_id=CUSTOMER,
        expected_lead=Lead.PARTNER,
        protected_partner_id=PARTNER,
        status=Status.REVIEW if review else Status.VIOLATION,
        reasons=reasons,
        reason_text="protected partner missing or replaced on the deal",
        violations=(Violation(DISPLACED, Severity.HIGH, "partner displaced", REP, PARTNER),),
        enforced=True,
        comp_eligible=False,
        remedy=remedy,
        policy_version="v1",
    )


def decisions(*found: OpportunityDecision) -> Decisions:
    return Decisions({}, {d.opportunity_id: d for d in found}, "v1")


def cycle(
    snap: Snapshot,
    decided: Decisions,
    stored: Sequence[LedgerEntry] = (),
    tasks: Sequence[OrgTask] = (),
    *,
    fresh: bool = False,
) -> tuple[CycleFacts, Enforcement]:
    history, adopted = adopt(stored, tasks, snap, NOW)
    enforcement = reconcile(history, decided, snap, RULES, NOW)
    facts = CycleFacts(
        snapshot=snap,
        decisions=decided,
        enforcement=enforcement,
        stored={e.key: e for e in stored},
        adopted=adopted,
        fresh_store=fresh,
        instance_url=INSTANCE,
        currency="USD",
        actions={r.level: r.action for r in RULES.ladder},
    )
    return facts, enforcement


def committed(enforcement: Enforcement, task: bool = True) -> list[LedgerEntry]:
    """The ledger as the cycle commits it (its Tasks landed)."""
    return [replace(e, task_id="00T000000000000001" if task else None) for e in enforcement.opened]


def settings(**overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "targets": HOOKS,
        "new_violation": {"to": ["ops"], "managers": {MGR: "vp"}, "manager_default": "mgrs"},
        "remedy_owed": {"to": ["ops"]},
        "exception_request": {"to": ["ops"]},
    }
    values.update(overrides)
    return NotificationSettings.model_validate(values)


def test_a_new_violation_is_one_notice_naming_everything_people_act_on() -> None:
    facts, _ = cycle(world(), decisions(decision(DEAL)))
    [notice] = notices(facts)
    assert (notice.kind, notice.key, notice.deal, notice.account) == (
        Kind.VIOLATION,
        f"{DEAL}:{DISPLACED}:1",
        "Wayne — Batcave DC",
        "Wayne Enterprises",
    )
    assert (notice.rep, notice.partner, notice.amount, notice.currency) == (
        "Sven Larsen",
        "Northwind Solutions",
        Decimal("480000"),
        "USD",
    )
    assert notice.link == f"{INSTANCE}/lightning/r/Opportunity/{DEAL}/view"
    assert (notice.level, notice.action, notice.manager_id) == (1, "warning", MGR)
    assert notice.manager_email == "victoria.hale@acme.example"


def test_the_next_cycles_and_a_retried_task_announce_nothing_again() -> None:
    facts, enforcement = cycle(world(), decisions(decision(DEAL)))
    assert len(notices(facts)) == 1
    again, _ = cycle(world(), decisions(decision(DEAL)), committed(enforcement))
    assert notices(again) == []
    refused = committed(enforcement, task=False)  # its Task was refused: retried now
    retry, retried = cycle(world(), decisions(decision(DEAL)), refused)
    assert [e.key for e in retried.opened] == [refused[0].key] and notices(retry) == []


def test_a_task_adopted_after_a_crash_is_announced_but_not_by_a_fresh_store() -> None:
    task = OrgTask("00T000000000000009", f"{DEAL}:{DISPLACED}:1", closed=False, owner_id=MGR)
    crashed, _ = cycle(world(), decisions(decision(DEAL)), tasks=[task])
    assert [n.kind for n in notices(crashed)] == [Kind.VIOLATION]  # never announced before
    won = decisions(decision(DEAL, remedy="fee"))
    lost, _ = cycle(world(won=True), won, tasks=[task], fresh=True)
    assert notices(lost) == []  # a lost store adopts old Tasks (and remedies) silently


def test_a_remedy_is_announced_once_when_it_first_appears() -> None:
    facts, enforcement = cycle(world(), decisions(decision(DEAL)))
    stored = committed(enforcement)
    won = decisions(decision(DEAL, remedy="referral fee 48000.00 to Northwind Solutions"))
    facts, enforcement = cycle(world(won=True), won, stored)
    [notice] = notices(facts)
    assert (notice.kind, notice.remedy, notice.closed_won) == (
        Kind.REMEDY,
        "referral fee 48000.00 to Northwind Solutions",
        True,
    )
    kept = [replace(e, task_id="00T000000000000001") for e in enforcement.seen]
    later, _ = cycle(world(won=True), won, kept)
    assert notices(later) == []


def test_an_exception_request_is_a_notice_of_its_own() -> None:
    stored = committed(cycle(world(), decisions(decision(DEAL)))[1])
    facts, _ = cycle(world(requested=True), decisions(decision(DEAL, review=True)), stored)
    [notice] = notices(facts)
    assert (notice.kind, notice.exception_reason) == (Kind.EXCEPTION, "the CIO asked for us")
    assert notice.rule == f"the rep asked for an exception to {DISPLACED}"


def test_routes_manager_by_id_then_email_then_default_and_ops_once() -> None:
    facts, _ = cycle(world(), decisions(decision(DEAL)))
    [notice] = notices(facts)
    assert targets(notice, settings()) == ["target:ops", "target:vp"]
    mail = {"victoria.hale@acme.example": "vp"}
    by_mail = settings(new_violation={"to": ["ops"], "managers": mail})
    assert targets(notice, by_mail) == ["target:ops", "target:vp"]
    orphan = replace(notice, manager_id=None, manager_email=None)
    assert targets(orphan, settings()) == ["target:ops", "target:mgrs"]
    same = settings(new_violation={"to": ["ops"], "manager_default": "ops"})
    assert targets(orphan, same) == ["target:ops"]
    direct = settings(
        new_violation={"to": ["ops"], "managers": {MGR: "vh@acme.example"}},
        smtp={"host": "smtp.acme.example", "from": "syncd@acme.example"},
    )
    assert targets(notice, direct) == ["target:ops", "email:vh@acme.example"]


def remedy_notice() -> Notice:
    _, enforcement = cycle(world(), decisions(decision(DEAL)))
    won = decisions(decision(DEAL, remedy="referral fee 48000.00 to Northwind Solutions"))
    [notice] = notices(cycle(world(won=True), won, committed(enforcement))[0])
    return notice


def test_the_partners_contact_gets_its_own_message_and_never_a_digest() -> None:
    contacts = settings(
        remedy_owed={
            "to": ["ops"],
            "partner_contacts": {PARTNER: "alliances@northwind.example"},
            "digest": True,
        },
        smtp={"host": "smtp.acme.example", "from": "syncd@acme.example"},
    )
    ops, partner = route([remedy_notice()], contacts, NOW)
    assert (ops.target, ops.state) == ("target:ops", State.HELD)
    assert (partner.target, partner.state) == ("partner:alliances@northwind.example", State.PENDING)
    assert "Sven Larsen" in ops.body and "Sven Larsen" not in partner.body
    assert "lightning" not in partner.body and "referral fee 48000.00" in partner.body
    assert partner.key == f"{DEAL}:{DISPLACED}:1|remedy|partner:alliances@northwind.example"


def test_messages_name_deal_rep_partner_reason_amount_and_link() -> None:
    facts, _ = cycle(world(), decisions(decision(DEAL)))
    by_target = {m.target: m for m in route(notices(facts), settings(), NOW)}
    message = by_target["target:vp"]
    assert message.title == f"[RoE] Violation {DISPLACED}: Wayne — Batcave DC"
    link = f"{INSTANCE}/lightning/r/Opportunity/{DEAL}/view"
    for text in (
        "Wayne — Batcave DC",
        "Sven Larsen",
        "Northwind Solutions",
        link,
        "protected partner missing or replaced",
        "480,000.00 USD",
        "escalation level 1: warning",
    ):
        assert text in message.body, text
    assert message.key == f"{DEAL}:{DISPLACED}:1|violation|target:vp"


def test_volume_over_the_threshold_and_digest_routes_are_held_for_the_digest() -> None:
    many = [replace(remedy_notice(), kind=Kind.VIOLATION, key=f"k{n}") for n in range(3)]
    routed = route(many, settings(digest_threshold=2), NOW)
    states = Counter((m.target, m.state) for m in routed)
    assert states == {("target:ops", State.HELD): 3, ("target:vp", State.HELD): 3}
    assert {m.not_before for m in routed} == {datetime(2026, 12, 2, 7, 0, tzinfo=UTC)}
    few = route(many[:2], settings(digest_threshold=2), NOW)
    assert {m.state for m in few} == {State.PENDING}
    held = route(many[:1], settings(exception_request={"to": ["ops"], "digest": True}), NOW)
    assert {m.state for m in held} == {State.PENDING}  # another route's digest flag


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 1, 6, 59, tzinfo=UTC), datetime(2026, 12, 1, 7, tzinfo=UTC)),
        (datetime(2026, 12, 1, 7, 0, tzinfo=UTC), datetime(2026, 12, 2, 7, tzinfo=UTC)),
    ],
)
def test_the_digest_is_the_next_digest_hour(now: datetime, expected: datetime) -> None:
    assert next_digest(now, 7) == expected


def test_platform_events_carry_the_agreed_fields_per_new_violation() -> None:
    facts, _ = cycle(world(), decisions(decision(DEAL)))
    routed = route(notices(facts), settings(platform_events=True), NOW)
    [event] = [m for m in routed if m.target == EVENT_TARGET]
    fields = json.loads(event.body)
    assert fields["Occurrence_Key__c"] == f"{DEAL}:{DISPLACED}:1"
    assert (fields["Amount__c"], fields["Currency__c"], fields["Level__c"]) == (480000.0, "USD", 1)
    assert fields["Link__c"] == f"{INSTANCE}/lightning/r/Opportunity/{DEAL}/view"
    assert fields["Partner_Name__c"] == "Northwind Solutions" and fields["Rep_Id__c"] == REP


def test_a_deal_in_another_currency_says_so() -> None:
    snap = world()
    euro = replace(snap.opportunities[DEAL], currency="EUR", amount=Decimal("25000"))
    snap = Snapshot(snap.accounts, {**snap.opportunities, DEAL: euro}, snap.users)
    [notice] = notices(cycle(snap, decisions(decision(DEAL)))[0])
    [message, *_] = route([notice], settings(), NOW)
    assert "25,000.00 EUR" in message.body and notice.currency == "EUR"
