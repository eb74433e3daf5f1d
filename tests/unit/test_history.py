"""The decision history's events, derived from what a cycle holds: pure, one kind at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from syncd.engine.domain import Opportunity
from syncd.engine.enforcement import LedgerEntry
from syncd.engine.history import (
    ACCOUNT,
    OPPORTUNITY,
    HistoryEvent,
    Kind,
    Seen,
    Stamp,
    deciding,
    flags_at,
    happened,
    record_events,
    same,
)
from syncd.engine.ledger_history import ledger_events

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EDITED = NOW - timedelta(minutes=3)
STAMP = Stamp("run-2", NOW, "2026.11-1")
DEAL, ACME, P1 = "006000000000000001", "001000000000000001", "001000000000000P01"
BOB, OPS = "005000000000000BOB", "005000000000000OPS"
VIOLATION = {
    "expected_lead": "Partner",
    "protected_partner_id": None,
    "status": "Violation",
    "comp_eligible": False,
    "remedy": None,
    "reason": "DIRECT_ON_PARTNER_ACCOUNT: direct rep on a partner-led deal",
}
CODES = ("DIRECT_ON_PARTNER_ACCOUNT", "PARTNER_LED_DEFAULT")


def opp(**changes: Any) -> Opportunity:
    base = Opportunity(DEAL, "Acme — Platform", account_id=ACME, owner_id=BOB,
                       last_modified_by=BOB, last_modified_at=EDITED)  # fmt: skip
    return replace(base, **changes)


def seen(**changes: Any) -> Seen:
    """A deal syncd knew as a violation, read back unchanged, not written."""
    base = Seen(OPPORTUNITY, DEAL, account_id=ACME, codes=CODES, held=VIOLATION,
                known=VIOLATION, before=opp(), after=opp())  # fmt: skip
    return replace(base, **changes)


def kinds(events: list[HistoryEvent]) -> list[Kind]:
    return [e.kind for e in events]


def test_an_unchanged_record_adds_nothing() -> None:
    assert record_events(STAMP, seen()) == []
    # syncd's own echo: it wrote Review, the read brings Review back
    review = {**VIOLATION, "status": "Review"}
    assert record_events(STAMP, seen(held=review, known=review)) == []
    # a write that sets what syncd already knew changes no decision
    assert record_events(STAMP, seen(written={"status": "Violation"})) == []


def test_a_first_decision_records_every_flag_it_sets_with_its_codes() -> None:
    empty = dict.fromkeys(VIOLATION)
    (event,) = record_events(STAMP, seen(known=None, held=empty, written=VIOLATION))
    assert event.kind is Kind.DECIDED and event.codes == CODES
    assert event.changes == {
        "expected_lead": (None, "Partner"),
        "status": (None, "Violation"),
        "comp_eligible": (None, False),
        "reason": (None, VIOLATION["reason"]),
    }
    assert (event.record_id, event.account_id, event.sobject) == (DEAL, ACME, OPPORTUNITY)
    assert (event.at, event.run_id, event.policy_version) == (NOW, "run-2", "2026.11-1")
    assert event.actor_id is None and event.acted_at is None  # syncd decided


def test_a_new_decision_records_before_and_after_of_what_changed() -> None:
    written = {"status": "Review", "reason": "EXCEPTION_REQUESTED: rep asked"}
    (event,) = record_events(STAMP, seen(written=written))
    assert event.kind is Kind.DECIDED
    assert event.changes == {
        "status": ("Violation", "Review"),
        "reason": (VIOLATION["reason"], "EXCEPTION_REQUESTED: rep asked"),
    }


def test_a_flag_edited_by_hand_and_restored_is_two_events_with_who_and_when() -> None:
    hand = {**VIOLATION, "status": "Compliant", "comp_eligible": True}
    events = record_events(
        STAMP, seen(held=hand, written={"status": "Violation", "comp_eligible": False})
    )
    edited, restored = events
    assert edited.kind is Kind.EDITED_BY_HAND
    assert edited.changes == {"status": ("Violation", "Compliant"), "comp_eligible": (False, True)}
    assert (edited.actor_id, edited.acted_at) == (BOB, EDITED)
    assert restored.kind is Kind.RESTORED and restored.actor_id is None
    assert restored.changes == {"status": ("Compliant", "Violation"),
                                "comp_eligible": (True, False)}  # fmt: skip


def test_a_hand_edit_under_a_new_decision_records_the_edit_and_the_decision() -> None:
    hand = {**VIOLATION, "status": "Compliant"}
    events = record_events(STAMP, seen(held=hand, written={"status": "Review"}))
    assert kinds(events) == [Kind.EDITED_BY_HAND, Kind.DECIDED]
    assert events[1].changes == {"status": ("Violation", "Review")}  # from syncd's last


def test_a_hand_edit_whose_restore_did_not_land_is_still_recorded() -> None:
    hand = {**VIOLATION, "remedy": "nothing owed"}
    (event,) = record_events(STAMP, seen(held=hand))
    assert event.kind is Kind.EDITED_BY_HAND and event.changes == {"remedy": (None, "nothing owed")}


def test_an_account_flag_edited_by_hand_has_no_person_to_name() -> None:
    known = {"lead": "Partner", "lead_partner_id": None, "reason": "PARTNER_LED_DEFAULT"}
    held = {**known, "lead": "Direct"}
    events = record_events(
        STAMP, Seen(ACCOUNT, ACME, held=held, known=known, written={"lead": "Partner"})
    )
    assert kinds(events) == [Kind.EDITED_BY_HAND, Kind.RESTORED]
    assert events[0].actor_id is None and events[0].sobject == ACCOUNT


@pytest.mark.parametrize(
    ("before", "after", "kind", "data"),
    [
        ({}, {"override_lead": "Direct", "override_reason": "CEO escalation #42"},
         Kind.OVERRIDE_SET, {"lead": "Direct", "reason": "CEO escalation #42"}),
        ({"override_lead": "Direct"}, {"override_lead": "Direct", "override_reason": "why"},
         Kind.OVERRIDE_SET, {"lead": "Direct", "reason": "why"}),
        ({"override_lead": "Direct", "override_reason": "x"}, {},
         Kind.OVERRIDE_REMOVED, {"lead": "Direct"}),
        ({}, {"exception_requested": True, "exception_reason": "customer asked"},
         Kind.EXCEPTION_REQUESTED, {"reason": "customer asked"}),
        ({"exception_requested": True, "exception_reason": "oops"}, {},
         Kind.EXCEPTION_WITHDRAWN, {"reason": "oops"}),
        ({}, {"exception_decision": "Approved", "exception_decision_reason": "joint deal"},
         Kind.EXCEPTION_DECIDED, {"decision": "Approved", "reason": "joint deal"}),
        ({"exception_decision": "Rejected"}, {},
         Kind.EXCEPTION_DECISION_REMOVED, {"decision": "Rejected"}),
    ],
)  # fmt: skip
def test_people_s_actions_on_a_deal_carry_who_and_when(
    before: dict[str, Any], after: dict[str, Any], kind: Kind, data: dict[str, Any]
) -> None:
    (event,) = record_events(STAMP, seen(before=opp(**before), after=opp(**after)))
    assert (event.kind, dict(event.data)) == (kind, data)
    assert (event.actor_id, event.acted_at) == (BOB, EDITED)
    assert event.at == NOW  # recorded by this cycle; acted_at says when Salesforce saw it


def test_syncd_clearing_a_rejected_request_is_not_the_rep_withdrawing_it() -> None:
    requested = opp(exception_requested=True, exception_decision="Rejected")
    cleared = opp(exception_decision="Rejected")
    known = {**VIOLATION, "exception_requested": False}  # syncd's own write
    assert record_events(STAMP, seen(before=requested, after=cleared, known=known)) == []
    by_rep = {**VIOLATION, "exception_requested": True}
    (event,) = record_events(STAMP, seen(before=requested, after=cleared, known=by_rep))
    assert event.kind is Kind.EXCEPTION_WITHDRAWN


def test_an_action_and_its_decision_come_in_the_order_they_happened() -> None:
    events = record_events(
        STAMP,
        seen(
            after=opp(exception_requested=True),
            written={"status": "Review"},
            codes=("EXCEPTION_REQUESTED", *CODES),
        ),
    )
    assert kinds(events) == [Kind.EXCEPTION_REQUESTED, Kind.DECIDED]
    assert events[1].codes[0] == "EXCEPTION_REQUESTED"


@pytest.mark.parametrize(
    ("was", "now", "equal"),
    [(None, "", True), ("", None, True), ("true", True, True), (False, "false", True),
     (False, None, False), ("Violation", "Violation", True), ("Violation", "Review", False)],
)  # fmt: skip
def test_values_compare_as_salesforce_reads_them_back(was: Any, now: Any, equal: bool) -> None:
    assert same(was, now) is equal


# -- the ledger ---------------------------------------------------------------------------


def entry(code: str = "DIRECT_ON_PARTNER_ACCOUNT", **changes: Any) -> LedgerEntry:
    base = LedgerEntry(
        key=f"{DEAL}:{code}:1",
        kind="violation",
        opportunity_id=DEAL,
        code=code,
        occurrence=1,
        rep_id=BOB,
        partner_id=None,
        level=2,
        owner_id=OPS,
        first_seen=NOW,
        last_seen=NOW,
        task_id="00T000000000000001",
        priority="High",
        due=date(2026, 12, 4),
        task_opened_at=NOW,
    )
    return replace(base, **changes)


def ledger(before: list[LedgerEntry], saved: list[LedgerEntry], adopted: set[str] = set()):  # noqa: B006 - never mutated
    return ledger_events(STAMP, {e.key: e for e in before}, saved, adopted, {DEAL: ACME})


def test_an_occurrence_opened_records_its_level_owner_and_task() -> None:
    (event,) = ledger([], [entry()])
    assert event.kind is Kind.OCCURRENCE_OPENED and event.codes == ("DIRECT_ON_PARTNER_ACCOUNT",)
    assert (event.record_id, event.account_id) == (DEAL, ACME)
    assert {k: event.data[k] for k in ("level", "owner_id", "priority", "due", "task_id")} == {
        "level": 2, "owner_id": OPS, "priority": "High", "due": "2026-12-04",
        "task_id": "00T000000000000001"}  # fmt: skip


def test_an_occurrence_resolved_records_why() -> None:
    earlier = entry(first_seen=NOW - timedelta(days=2), last_seen=NOW - timedelta(days=1))
    why = "Resolved: the deal is now Compliant (PARTNER_LED_DEFAULT)."
    done = replace(earlier, resolved_at=NOW, last_seen=NOW, task_closed=True, resolution=why)
    (event,) = ledger([earlier], [done])
    assert event.kind is Kind.OCCURRENCE_RESOLVED and event.data["resolution"] == why


def test_an_entry_only_seen_again_adds_nothing() -> None:
    earlier = entry(last_seen=NOW - timedelta(minutes=5))
    assert ledger([earlier], [replace(earlier, last_seen=NOW)]) == []


def test_tasks_adopted_created_on_retry_and_closed_by_a_person() -> None:
    (adopted,) = ledger([], [entry()], {entry().key})
    assert adopted.kind is Kind.TASK_ADOPTED and adopted.data["task_closed"] is False
    refused = entry(task_id=None, task_opened_at=None, first_seen=NOW - timedelta(minutes=5))
    (created,) = ledger([refused], [replace(refused, task_id="00T000000000000009")])
    assert created.kind is Kind.TASK_CREATED and created.data["task_id"] == "00T000000000000009"
    standing = entry(first_seen=NOW - timedelta(days=1))
    (closed,) = ledger([standing], [replace(standing, task_closed=True)], {standing.key})
    assert closed.kind is Kind.TASK_CLOSED_IN_ORG


def test_the_last_word_on_a_key_wins_as_in_the_store() -> None:
    first = entry(task_id=None, task_opened_at=None)
    events = ledger([], [first, replace(first, task_id="00T000000000000002")])
    assert kinds(events) == [Kind.OCCURRENCE_OPENED]
    assert events[0].data["task_id"] == "00T000000000000002"


# -- reading it back ----------------------------------------------------------------------


def at(minutes: int, kind: Kind = Kind.DECIDED, **more: Any) -> HistoryEvent:
    return HistoryEvent(OPPORTUNITY, DEAL, kind, NOW + timedelta(minutes=minutes), f"r{minutes}",
                        "v1", **more)  # fmt: skip


STORY = [
    at(0, changes={"status": (None, "Violation")}, codes=("DIRECT_ON_PARTNER_ACCOUNT",)),
    at(10, Kind.EDITED_BY_HAND, changes={"status": ("Violation", "Compliant")},
       actor_id=BOB, acted_at=NOW + timedelta(minutes=7)),
    at(10, Kind.RESTORED, changes={"status": ("Compliant", "Violation")}),
    at(20, changes={"status": ("Violation", "Exempt")}, codes=("OVERRIDE",)),
]  # fmt: skip
NOW_FLAGS = {"status": "Exempt", "remedy": None}


@pytest.mark.parametrize(
    ("minutes", "status"),
    [(-5, None), (0, "Violation"), (8, "Compliant"), (10, "Violation"), (19, "Violation"),
     (20, "Exempt"), (60, "Exempt")],
)  # fmt: skip
def test_the_flags_at_a_moment_undo_every_later_change(minutes: int, status: str | None) -> None:
    moment = NOW + timedelta(minutes=minutes)
    assert flags_at(STORY, moment, NOW_FLAGS) == {"status": status, "remedy": None}


def test_the_deciding_event_is_the_last_decision_by_then() -> None:
    assert deciding(STORY, NOW - timedelta(minutes=1)) is None
    assert deciding(STORY, NOW + timedelta(minutes=15)) == STORY[0]
    assert deciding(STORY, NOW + timedelta(minutes=20)) == STORY[3]
    assert happened(STORY[1]) == NOW + timedelta(minutes=7)  # as Salesforce reported it


def test_syncd_s_own_write_from_a_cycle_that_never_committed_is_its_decision() -> None:
    """The write landed, the commit did not: the next cycle reads it back as a change."""
    syncd = "005000000000000SYN"
    landed = {**VIOLATION, "status": "Review"}
    stamp = replace(STAMP, syncd_user=syncd)
    written_by_syncd = seen(held=landed, after=opp(last_modified_by=syncd), codes=CODES)
    (event,) = record_events(stamp, written_by_syncd)
    assert event.kind is Kind.DECIDED and event.changes == {"status": ("Violation", "Review")}
    assert event.actor_id is None and event.codes == CODES
    (by_hand,) = record_events(stamp, seen(held=landed))  # Bob's edit stays his
    assert by_hand.kind is Kind.EDITED_BY_HAND
