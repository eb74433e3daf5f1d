"""Enforcement reconciliation (E01–E15, S19, S26, S31–S33) on hand-built decisions: pure."""

from __future__ import annotations

from collections.abc import Sequence
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
    OrgTask,
    Rung,
    adopt,
    occurrence_key,
    reconcile,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
C, P1 = "001000000000000001", "001000000000000P01"
FIELD, MGR, CHIEF, OPS, ORPHAN = (f"0050000000000000{n:02d}" for n in range(1, 6))
OPPS = [f"0060000000000000{n:02d}" for n in range(1, 8)]
DISPLACED, DIRECT = "PARTNER_DISPLACED", "DIRECT_ON_PARTNER_ACCOUNT"

RULES = EnforcementRules(
    window_days=365,
    ladder=(
        Rung(1, "warning", "manager", "Normal"),
        Rung(2, "compensation_review", "manager", "High"),
        Rung(3, "termination_review", "channel_chief", "High"),
    ),
    sticky_codes=frozenset({DISPLACED}),
    channel_ops_user_id=OPS,
    channel_chief_user_id=CHIEF,
    due_days={"Normal": 7, "High": 3},
)


def snapshot(owner: str = FIELD, manager_active: bool = True, **deal: object) -> Snapshot:
    users = {
        FIELD: User(FIELD, "Field Rep", manager_id=MGR),
        MGR: User(MGR, "Manager", is_active=manager_active),
        ORPHAN: User(ORPHAN, "No Manager"),
        OPS: User(OPS, "Priya (Channel Ops)"),
    }
    opps = {
        o: Opportunity(o, f"Deal {o[-2:]}", account_id=C, owner_id=owner, **deal)  # type: ignore[arg-type]
        for o in OPPS
    }
    return Snapshot({C: Account(C, "Customer")}, opps, users)


def violation_decision(
    opp: str, code: str = DISPLACED, status: Status = Status.VIOLATION, reasons: Sequence[str] = ()
) -> OpportunityDecision:
    return OpportunityDecision(
        opportunity_id=opp,
        account_id=C,
        expected_lead=Lead.PARTNER,
        protected_partner_id=P1,
        status=status,
        reasons=(*reasons, code),
        reason_text=f"{code} on {opp}",
        violations=(Violation(code, Severity.HIGH, "partner displaced", FIELD, P1),),
        enforced=status is not Status.ADVISORY,
        comp_eligible=status is Status.ADVISORY,
        remedy="referral fee 100.00 to P1" if code == DISPLACED else None,
        policy_version="v1",
    )


def decided(opp: str, status: Status = Status.COMPLIANT, reasons=("OK",)) -> OpportunityDecision:
    return replace(
        violation_decision(opp),
        status=status,
        violations=(),
        reasons=tuple(reasons),
        enforced=False,
        comp_eligible=True,
        remedy=None,
    )


def decisions(*items: OpportunityDecision) -> Decisions:
    return Decisions({}, {d.opportunity_id: d for d in items}, "v1")


def delivered(entry: LedgerEntry, at: datetime = NOW) -> LedgerEntry:
    """The entry after its Task landed (the cycle's push), at ``at``."""
    return replace(entry, task_id=f"00T{entry.opportunity_id[-15:]}", task_opened_at=at)


def cycle(history: list[LedgerEntry], *items: OpportunityDecision, at: datetime = NOW,
          snap: Snapshot | None = None) -> tuple[list[LedgerEntry], object]:  # fmt: skip
    """One reconciliation whose Tasks all land: the ledger after it, and the result."""
    result = reconcile(history, decisions(*items), snap or snapshot(), RULES, at)
    changed = {e.key: e for e in result.seen}
    changed.update({e.key: delivered(e, at) for e in result.opened})
    changed.update({c.entry.key: replace(c.entry, task_closed=True) for c in result.closed})
    merged = {e.key: e for e in history}
    merged.update(changed)
    return list(merged.values()), result


def test_E01_first_violation_warns_the_manager() -> None:
    result = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW)
    (entry,) = result.opened
    assert (entry.level, entry.owner_id, entry.priority) == (1, MGR, "Normal")
    assert entry.key == occurrence_key(OPPS[0], DISPLACED, 1)
    assert entry.subject == "[RoE] PARTNER_DISPLACED: Deal 01"
    assert "warning (escalation level 1)" in entry.description
    assert "To dispute" in entry.description
    assert entry.due == NOW.date() + timedelta(days=7)
    assert entry.remedy == "referral fee 100.00 to P1"
    assert OPPS[0] in result.comp_holds


def test_E02_E03_the_ladder_climbs_one_notice_per_cycle() -> None:
    history: list[LedgerEntry] = []
    seen = []
    for n, opp in enumerate(OPPS[:3]):
        history, result = cycle(history, violation_decision(opp), at=NOW + timedelta(hours=n))
        (entry,) = result.opened  # type: ignore[attr-defined]
        seen.append((entry.level, entry.owner_id, entry.priority))
        # later cycles decide only the new deal; the earlier ones stand
    assert seen == [(1, MGR, "Normal"), (2, MGR, "High"), (3, CHIEF, "High")]


def test_E10_three_violations_first_seen_in_one_cycle_are_three_warnings() -> None:
    three = [violation_decision(o) for o in OPPS[:3]]
    result = reconcile([], decisions(*three), snapshot(), RULES, NOW)
    assert [(e.level, e.owner_id) for e in result.opened] == [(1, MGR)] * 3


def test_E11_level_two_needs_a_new_offence_after_the_warning() -> None:
    history, _ = cycle([], *(violation_decision(o) for o in OPPS[:3]))
    later = NOW + timedelta(days=1)
    history, result = cycle(history, *(violation_decision(o) for o in OPPS[:5]), at=later)
    assert [e.level for e in result.opened] == [2, 2]  # type: ignore[attr-defined]
    last = later + timedelta(days=1)
    _, result = cycle(history, *(violation_decision(o) for o in OPPS[:6]), at=last)
    assert [e.level for e in result.opened] == [3]  # type: ignore[attr-defined]


def test_a_notice_that_never_landed_does_not_count_toward_the_next_level() -> None:
    first = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES, NOW)
    refused = list(first.opened)  # its Task create was refused: saved without a Task
    later = NOW + timedelta(days=1)
    second = reconcile(refused, decisions(violation_decision(OPPS[0]), violation_decision(
        OPPS[1])), snapshot(), RULES, later)  # fmt: skip
    assert [(e.key, e.level) for e in second.opened] == [
        (refused[0].key, 1),  # the retry, as first given
        (occurrence_key(OPPS[1], DISPLACED, 1), 1),  # no notice delivered yet: a warning
    ]


def test_a_retried_task_keeps_its_level_owner_and_priority_through_20_retries() -> None:
    (refused,) = reconcile([], decisions(violation_decision(OPPS[0])), snapshot(), RULES,
                           NOW).opened  # fmt: skip
    history = [refused]
    for n in range(1, 21):
        at = NOW + timedelta(days=n)
        # meanwhile the rep collects later violations that do get their Tasks
        history, _ = cycle(history, violation_decision(OPPS[1 + n % 5]), at=at)
        history = [replace(e, task_id=None, task_opened_at=None) if e.key == refused.key else e
                   for e in history]  # the first one keeps being refused  # fmt: skip
        retried = reconcile(history, decisions(violation_decision(OPPS[0])), snapshot(),
                            RULES, at).opened  # fmt: skip
        assert [(e.key, e.level, e.owner_id, e.priority, e.due) for e in retried] == [
            (refused.key, 1, MGR, "Normal", refused.due)
        ]


def test_E04_violations_older_than_the_window_do_not_count() -> None:
    old = NOW - timedelta(days=400)
    history, _ = cycle([], violation_decision(OPPS[0]), at=old)
    history, _ = cycle(history, decided(OPPS[0]), at=old + timedelta(days=1))
    (entry,) = reconcile(history, decisions(violation_decision(OPPS[1])), snapshot(), RULES,
                         NOW).opened  # fmt: skip
    assert entry.level == 1


def test_E05_resolved_partner_displaced_closes_task_and_hold_is_sticky() -> None:
    history, _ = cycle([], violation_decision(OPPS[0]))
    later = NOW + timedelta(days=1)
    result = reconcile(history, decisions(decided(OPPS[0])), snapshot(), RULES, later)
    (closure,) = result.closed
    assert closure.entry.resolved_at == later and "Compliant" in closure.note
    assert closure.writes_task
    assert OPPS[0] in result.comp_holds


def test_an_admin_override_exempts_and_lifts_the_sticky_hold() -> None:
    history, _ = cycle([], violation_decision(OPPS[0]))
    exempt = decided(OPPS[0], Status.EXEMPT, ("OVERRIDE",))
    result = reconcile(history, decisions(exempt), snapshot(), RULES, NOW)
    assert OPPS[0] not in result.comp_holds
    assert "override" in result.closed[0].note


def test_E06_a_non_sticky_violation_releases_compensation_once_resolved() -> None:
    history, first = cycle([], violation_decision(OPPS[0], DIRECT))
    assert OPPS[0] in first.comp_holds  # type: ignore[attr-defined]
    result = reconcile(history, decisions(decided(OPPS[0])), snapshot(), RULES, NOW)
    assert len(result.closed) == 1 and OPPS[0] not in result.comp_holds


def test_E07_the_same_violation_over_50_cycles_opens_one_task() -> None:
    history: list[LedgerEntry] = []
    opened = 0
    for n in range(50):
        history, result = cycle(history, violation_decision(OPPS[0]),
                                at=NOW + timedelta(minutes=5 * n))  # fmt: skip
        opened += len(result.opened)  # type: ignore[attr-defined]
    assert opened == 1 and history[0].last_seen == NOW + timedelta(minutes=5 * 49)


def test_E08_a_repeat_after_resolution_is_a_new_occurrence() -> None:
    history, _ = cycle([], violation_decision(OPPS[0]))
    history, _ = cycle(history, decided(OPPS[0]), at=NOW + timedelta(hours=1))
    _, again = cycle(history, violation_decision(OPPS[0]), at=NOW + timedelta(hours=2))
    (entry,) = again.opened  # type: ignore[attr-defined]
    assert entry.occurrence == 2 and entry.key.endswith(":2")
    assert entry.level == 2  # the first occurrence was a notice delivered before


@pytest.mark.parametrize(
    ("owner", "manager_active"), [(ORPHAN, True), (FIELD, False)], ids=["no-manager", "inactive"]
)
def test_E09_without_an_active_manager_the_task_goes_to_channel_ops(owner, manager_active) -> None:
    snap = snapshot(owner=owner, manager_active=manager_active)
    (entry,) = reconcile([], decisions(violation_decision(OPPS[0])), snap, RULES, NOW).opened
    assert entry.owner_id == OPS


def test_S26_E15_an_exception_request_adds_a_review_and_the_violation_stands() -> None:
    history, _ = cycle([], violation_decision(OPPS[0], DIRECT))
    request = violation_decision(OPPS[0], DIRECT, Status.REVIEW, ("EXCEPTION_REQUESTED",))
    later = NOW + timedelta(hours=1)
    history, result = cycle(history, request, at=later)
    (review,) = result.opened  # type: ignore[attr-defined]
    assert (review.kind, review.owner_id, review.code) == ("review", OPS, "EXCEPTION_REQUESTED")
    assert result.closed == ()  # type: ignore[attr-defined]
    assert OPPS[0] in result.comp_holds  # type: ignore[attr-defined]
    assert [e.code for e in result.seen] == [DIRECT]  # type: ignore[attr-defined]


def test_S31_approval_closes_the_violation_and_the_review_with_the_decision() -> None:
    history, _ = cycle([], violation_decision(OPPS[0], DIRECT))
    request = violation_decision(OPPS[0], DIRECT, Status.REVIEW, ("EXCEPTION_REQUESTED",))
    history, _ = cycle(history, request, at=NOW + timedelta(hours=1))
    approved = decided(OPPS[0], Status.EXEMPT, ("EXCEPTION_APPROVED",))
    snap = snapshot(last_modified_by=OPS, exception_decision_reason="partner agreed")
    result = reconcile(history, decisions(approved), snap, RULES, NOW + timedelta(hours=2))
    notes = {c.entry.code: c.note for c in result.closed}
    assert set(notes) == {DIRECT, "EXCEPTION_REQUESTED"}
    assert "approved" in notes[DIRECT] and "Priya (Channel Ops)" in notes[DIRECT]
    assert "partner agreed" in notes["EXCEPTION_REQUESTED"]
    assert OPPS[0] not in result.comp_holds


def test_S32_rejection_closes_only_the_review() -> None:
    history, _ = cycle([], violation_decision(OPPS[0], DIRECT))
    request = violation_decision(OPPS[0], DIRECT, Status.REVIEW, ("EXCEPTION_REQUESTED",))
    history, _ = cycle(history, request, at=NOW + timedelta(hours=1))
    rejected = violation_decision(OPPS[0], DIRECT, reasons=("EXCEPTION_REJECTED",))
    result = reconcile(history, decisions(rejected), snapshot(), RULES, NOW + timedelta(hours=2))
    ((closure),) = result.closed
    assert closure.entry.code == "EXCEPTION_REQUESTED" and "rejected" in closure.note
    assert [e.code for e in result.seen] == [DIRECT] and OPPS[0] in result.comp_holds


@pytest.mark.parametrize(
    "review",
    [
        decided(OPPS[0], Status.REVIEW, ("ACCOUNT_MISSING",)),  # the data hides the violation
        decided(OPPS[0], Status.REVIEW, ("DATA_DEFECT",)),
        decided(OPPS[0], Status.ADVISORY, ("NOT_YET_ENFORCED",)),  # a region moved later
    ],
    ids=["account-missing", "data-defect", "advisory"],
)
def test_S19_a_review_or_advisory_never_releases_what_a_violation_holds(review) -> None:
    history, _ = cycle([], violation_decision(OPPS[0]))
    result = reconcile(history, decisions(review), snapshot(), RULES, NOW + timedelta(hours=1))
    assert result.closed == ()
    assert result.holds[OPPS[0]].remedy == "referral fee 100.00 to P1"


def test_closing_lost_resolves_but_moving_onto_a_partner_account_does_not() -> None:
    history, _ = cycle([], violation_decision(OPPS[0]), violation_decision(OPPS[1]))
    snap = snapshot()
    lost = replace(snap.opportunities[OPPS[0]], is_closed=True, is_won=False)
    snap = Snapshot(snap.accounts, {**snap.opportunities, OPPS[0]: lost}, snap.users)
    result = reconcile(history, decisions(), snap, RULES, NOW)  # neither is evaluated now
    assert [c.entry.opportunity_id for c in result.closed] == [OPPS[0]]
    assert "closed lost" in result.closed[0].note
    assert OPPS[1] in result.comp_holds


def test_advisory_violations_open_no_tasks() -> None:
    advisory = violation_decision(OPPS[0], status=Status.ADVISORY)
    assert reconcile([], decisions(advisory), snapshot(), RULES, NOW).opened == ()


def test_open_entries_of_deals_outside_the_snapshot_are_left_alone() -> None:
    history, _ = cycle([], violation_decision(OPPS[0]))
    assert reconcile(history, decisions(), Snapshot({}, {}, {}), RULES, NOW).closed == ()


def test_a_scoped_reconcile_leaves_entries_of_undecided_deals_alone() -> None:
    history, _ = cycle([], violation_decision(OPPS[0]), violation_decision(OPPS[1]))
    later = NOW + timedelta(hours=1)
    scoped = reconcile(history, decisions(decided(OPPS[1])), snapshot(), RULES, later,
                       scope={OPPS[1]})  # fmt: skip
    assert [c.entry.opportunity_id for c in scoped.closed] == [OPPS[1]]
    assert not scoped.opened and not scoped.seen


def test_a_deleted_deal_closes_its_entries_with_a_note() -> None:
    history, _ = cycle([], violation_decision(OPPS[0]))
    gone = reconcile(history, decisions(), snapshot(), RULES, NOW, scope=set(),
                     gone={OPPS[0]: "merged into 001000000000000009"})  # fmt: skip
    (closure,) = gone.closed
    assert closure.entry.resolved_at == NOW and "merged into 001000000000000009" in closure.note


# -- the org's Tasks are the truth -------------------------------------------------------


def org_task(opp: str, code: str = DIRECT, *, closed: bool = False, level: int = 1) -> OrgTask:
    return OrgTask(
        id=f"00T{opp[-15:]}",
        key=occurrence_key(opp, code, 1),
        closed=closed,
        owner_id=MGR,
        created=NOW - timedelta(days=3),
        description=f"Deal: x\nAction: warning (escalation level {level})\nmanager's note",
        priority="Normal",
        subject="[RoE] x",
    )


def test_E13_a_lost_store_adopts_the_orgs_tasks_and_never_rewrites_a_completed_one() -> None:
    history, adopted = adopt([], [org_task(OPPS[0], closed=True)], snapshot(), NOW)
    (entry,) = adopted
    assert (entry.kind, entry.level, entry.task_closed, entry.rep_id) == ("violation", 1, True,
                                                                          FIELD)  # fmt: skip
    standing = reconcile(history, decisions(violation_decision(OPPS[0], DIRECT)), snapshot(),
                         RULES, NOW)  # fmt: skip
    assert standing.opened == () and OPPS[0] in standing.comp_holds  # no second Task
    fixed = reconcile(history, decisions(decided(OPPS[0])), snapshot(), RULES, NOW)
    (closure,) = fixed.closed
    assert not closure.writes_task  # the manager's Completed Task is left as it is


def test_E14_tasks_created_before_a_crash_are_adopted_and_closed_once_fixed() -> None:
    tasks = [org_task(OPPS[0]), org_task(OPPS[1], level=2)]
    history, adopted = adopt([], tasks, snapshot(), NOW)
    assert [e.level for e in adopted] == [1, 2]
    result = reconcile(history, decisions(decided(OPPS[0]), decided(OPPS[1])), snapshot(),
                       RULES, NOW)  # fmt: skip
    assert [c.writes_task for c in result.closed] == [True, True] and result.opened == ()


def test_a_known_entry_learns_that_a_person_closed_its_task() -> None:
    history, _ = cycle([], violation_decision(OPPS[0], DIRECT))
    task = replace(org_task(OPPS[0]), id=history[0].task_id or "", closed=True)
    merged, changed = adopt(history, [task], snapshot(), NOW)
    assert [e.task_closed for e in changed] == [True] and len(merged) == 1
    assert adopt(merged, [task], snapshot(), NOW)[1] == []  # nothing new the second time


def test_tasks_with_keys_syncd_never_wrote_are_ignored() -> None:
    odd = replace(org_task(OPPS[0]), key="not-a-syncd-key")
    assert adopt([], [odd], snapshot(), NOW) == ([], [])
