"""Enforcement reconciliation (E01–E09, S26) on hand-built decisions: pure, no org."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

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
    EnforcementRules,
    LedgerEntry,
    Rung,
    occurrence_key,
    reconcile,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
C, P1 = "001000000000000001", "001000000000000P01"
FIELD, MGR, CHIEF, OPS, ORPHAN = (f"0050000000000000{n:02d}" for n in range(1, 6))
OPPS = [f"0060000000000000{n:02d}" for n in range(1, 6)]

RULES = EnforcementRules(
    window_days=365,
    ladder=(
        Rung(1, "warning", "manager", "Normal"),
        Rung(2, "compensation_review", "manager", "High"),
        Rung(3, "termination_review", "channel_chief", "High"),
    ),
    sticky_codes=frozenset({"PARTNER_DISPLACED"}),
    channel_ops_user_id=OPS,
    channel_chief_user_id=CHIEF,
    due_days={"Normal": 7, "High": 3},
)


def snapshot(owner: str = FIELD, manager_active: bool = True) -> Snapshot:
    users = {
        FIELD: User(FIELD, "Field Rep", manager_id=MGR),
        MGR: User(MGR, "Manager", is_active=manager_active),
        ORPHAN: User(ORPHAN, "No Manager"),
    }
    opps = {o: Opportunity(o, f"Deal {o[-2:]}", account_id=C, owner_id=owner) for o in OPPS}
    return Snapshot({C: Account(C, "Customer")}, opps, users)


def violation_decision(opp: str, code: str = "PARTNER_DISPLACED") -> OpportunityDecision:
    return OpportunityDecision(
        opportunity_id=opp,
        account_id=C,
        expected_lead=Lead.PARTNER,
        protected_partner_id=P1,
        status=Status.VIOLATION,
        reasons=(code,),
        reason_text=f"{code} on {opp}",
        violations=(Violation(code, Severity.HIGH, "partner displaced", FIELD, P1),),
        enforced=True,
        comp_eligible=False,
        remedy=None,
        policy_version="v1",
    )


def compliant(opp: str, status: Status = Status.COMPLIANT, reasons=("OK",)) -> OpportunityDecision:
    return replace(
        violation_decision(opp), status=status, violations=(), enforced=False, reasons=reasons
    )


def decisions(*items: OpportunityDecision) -> Decisions:
    return Decisions({}, {d.opportunity_id: d for d in items}, "v1")


def entry_from(opened, first_seen: datetime = NOW) -> LedgerEntry:
    entry, _task = opened
    return replace(entry, first_seen=first_seen, task_id="00T000000000000001")


def test_E01_first_violation_warns_the_manager() -> None:
    result = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW)
    ((entry, task),) = result.opened
    assert (entry.level, task.owner_id, task.priority) == (1, MGR, "Normal")
    assert task.key == occurrence_key(OPPS[0], "PARTNER_DISPLACED", 1)
    assert task.subject == "[RoE] PARTNER_DISPLACED: Deal 01"
    assert "warning" in task.description and "To dispute" in task.description
    assert task.due == NOW.date() + timedelta(days=7)
    assert OPPS[0] in result.comp_holds


def test_E02_E03_escalation_ladder() -> None:
    history: list[LedgerEntry] = []
    seen = []
    for opp in OPPS[:3]:
        result = reconcile(history, decisions(violation_decision(opp)), snapshot(), RULES, NOW)
        (opened,) = result.opened
        history.append(entry_from(opened))
        seen.append((opened[0].level, opened[1].owner_id, opened[1].priority))
    assert seen == [(1, MGR, "Normal"), (2, MGR, "High"), (3, CHIEF, "High")]


def test_two_new_violations_in_one_cycle_escalate_in_order() -> None:
    both = decisions(violation_decision(OPPS[0]), violation_decision(OPPS[1]))
    result = reconcile([], both, snapshot(), RULES, NOW)
    assert [e.level for e, _ in result.opened] == [1, 2]


def test_E04_violations_older_than_the_window_do_not_count() -> None:
    old = NOW - timedelta(days=400)
    history = []
    for opp in OPPS[:2]:
        (opened,) = reconcile(
            history, decisions(violation_decision(opp)), snapshot(), RULES, old
        ).opened
        history.append(replace(entry_from(opened, old), resolved_at=old))
    (opened,) = reconcile(
        history, decisions(violation_decision(OPPS[2])), snapshot(), RULES, NOW
    ).opened
    assert opened[0].level == 1


def test_E05_resolved_partner_displaced_closes_task_and_hold_is_sticky() -> None:
    (opened,) = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW).opened
    later = NOW + timedelta(days=1)
    result = reconcile(
        [entry_from(opened)], decisions(compliant(OPPS[0])), snapshot(), RULES, later
    )
    (closure,) = result.closed
    assert closure.entry.resolved_at == later and "Compliant" in closure.note
    assert OPPS[0] in result.comp_holds


def test_sticky_hold_lifts_when_an_admin_override_exempts_the_deal() -> None:
    (opened,) = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW).opened
    exempt = decisions(compliant(OPPS[0], Status.EXEMPT, ("OVERRIDE",)))
    result = reconcile([entry_from(opened)], exempt, snapshot(), RULES, NOW)
    assert OPPS[0] not in result.comp_holds
    assert "override" in result.closed[0].note


def test_E06_non_sticky_violation_releases_compensation() -> None:
    code = "DIRECT_ON_PARTNER_ACCOUNT"
    first = reconcile([], decisions(violation_decision(OPPS[0], code)), snapshot(), RULES, NOW)
    assert OPPS[0] not in first.comp_holds  # the engine's own flag withholds it meanwhile
    result = reconcile(
        [entry_from(first.opened[0])], decisions(compliant(OPPS[0])), snapshot(), RULES, NOW
    )
    assert len(result.closed) == 1 and OPPS[0] not in result.comp_holds


def test_E07_the_same_violation_over_50_cycles_opens_one_task() -> None:
    history: list[LedgerEntry] = []
    opened_total = 0
    for cycle in range(50):
        now = NOW + timedelta(minutes=5 * cycle)
        result = reconcile(history, decisions(violation_decision(OPPS[0])), snapshot(), RULES, now)
        opened_total += len(result.opened)
        history = [entry_from(o) for o in result.opened] + list(result.seen) or history
    assert opened_total == 1
    assert history[0].last_seen == NOW + timedelta(minutes=5 * 49)


def test_E08_a_repeat_after_resolution_is_a_new_occurrence() -> None:
    (opened,) = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW).opened
    resolved = replace(entry_from(opened), resolved_at=NOW)
    again = reconcile([resolved], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW)
    ((entry, task),) = again.opened
    assert entry.occurrence == 2 and task.key.endswith(":2")
    assert entry.level == 2  # the first occurrence still counts toward escalation


@pytest.mark.parametrize(
    ("owner", "manager_active"), [(ORPHAN, True), (FIELD, False)], ids=["no-manager", "inactive"]
)
def test_E09_without_an_active_manager_the_task_goes_to_channel_ops(owner, manager_active) -> None:
    snap = snapshot(owner=owner, manager_active=manager_active)
    (opened,) = reconcile([], decisions(violation_decision(OPPS[0])), snap, RULES, NOW).opened
    assert opened[1].owner_id == OPS


def test_S26_exception_request_opens_one_review_task_for_channel_ops() -> None:
    review = compliant(OPPS[0], Status.REVIEW, ("EXCEPTION_REQUESTED",))
    result = reconcile([], decisions(review), snapshot(), RULES, NOW)
    ((entry, task),) = result.opened
    assert entry.kind == "review" and task.owner_id == OPS
    assert (
        reconcile([entry_from(result.opened[0])], decisions(review), snapshot(), RULES, NOW).opened
        == ()
    )


def test_advisory_violations_open_no_tasks() -> None:
    advisory = replace(violation_decision(OPPS[0]), status=Status.ADVISORY, enforced=False)
    assert reconcile([], decisions(advisory), snapshot(), RULES, NOW).opened == ()


def test_open_entries_of_deals_outside_the_snapshot_are_left_alone() -> None:
    (opened,) = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW).opened
    empty = Snapshot({}, {}, {})
    assert reconcile([entry_from(opened)], decisions(), empty, RULES, NOW).closed == ()


def test_a_scoped_reconcile_leaves_entries_of_undecided_deals_alone() -> None:
    first = reconcile([], decisions(violation_decision(OPPS[0]), violation_decision(OPPS[1])),
                      snapshot(), RULES, NOW)  # fmt: skip
    history = [e for e, _ in first.opened]
    later = NOW + timedelta(hours=1)
    # An incremental cycle decided only OPPS[1] (now compliant); OPPS[0] was not in scope.
    scoped = reconcile(history, decisions(compliant(OPPS[1])), snapshot(), RULES, later,
                       scope={OPPS[1]})  # fmt: skip
    assert [c.entry.opportunity_id for c in scoped.closed] == [OPPS[1]]
    assert not scoped.opened and not scoped.seen
    # Unscoped, the same call would have closed OPPS[0] too (it has no decision).
    full = reconcile(history, decisions(compliant(OPPS[1])), snapshot(), RULES, later)
    assert {c.entry.opportunity_id for c in full.closed} == {OPPS[0], OPPS[1]}


def test_a_deleted_deal_closes_its_entries_with_a_note() -> None:
    first = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW)
    history = [e for e, _ in first.opened]
    gone = reconcile(history, decisions(), snapshot(), RULES, NOW, scope=set(),
                     gone={OPPS[0]: "merged into 001000000000000009"})  # fmt: skip
    (closure,) = gone.closed
    assert closure.entry.resolved_at == NOW
    assert "merged into 001000000000000009" in closure.note
