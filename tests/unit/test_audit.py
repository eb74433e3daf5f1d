"""A cycle's history from its own values: Salesforce fields become flags, nothing is re-read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.engine.domain import Account, Decisions, Opportunity, Snapshot
from syncd.engine.history import ACCOUNT, OPPORTUNITY, Kind, Stamp
from syncd.sync.audit import (
    CycleFacts,
    FlagNames,
    LedgerMoves,
    NothingEarlier,
    StateEarlier,
    cycle_history,
)
from syncd.sync.mapping import FieldMapping, load_mapping
from syncd.sync.orgstate import OrgState
from syncd.sync.plan import RecordWrite

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
ACME, BOB = "001000000000001AAA", "005000000000001AAA"
DEAL, OTHER = "006000000000001AAA", "006000000000002AAA"
HELD = {"RoE_Status__c": "Violation", "RoE_Expected_Lead__c": "Partner", "RoE_Reason__c": "x"}


@pytest.fixture(scope="module")
def mapping() -> FieldMapping:
    return load_mapping(ROOT / "mappings" / "default.yaml")


def facts(after: OrgState, earlier: object, observed: set[str] = set()) -> CycleFacts:  # noqa: B006 - never mutated
    return CycleFacts(
        stamp=Stamp("r1", NOW, "v1"),
        decisions=Decisions({}, {}, "v1"),
        after=after,
        earlier=earlier,  # type: ignore[arg-type]
        observed=observed,
        ledger=LedgerMoves({}, [], ()),
    )


def org(current: dict[str, dict[str, object]]) -> OrgState:
    deals = {i: Opportunity(i, account_id=ACME, last_modified_by=BOB) for i in (DEAL, OTHER)}
    return OrgState(Snapshot({ACME: Account(ACME)}, deals, {}), current)


def test_flag_names_come_from_the_mapping(mapping: FieldMapping) -> None:
    names = FlagNames(mapping)
    values = {"RoE_Status__c": "Review", "RoE_Exception_Requested__c": False, "Name": "n"}
    assert names.flags(OPPORTUNITY, values) == {"status": "Review", "exception_requested": False}
    assert names.flags(ACCOUNT, {"RoE_Engagement_Lead__c": "Direct"}) == {"lead": "Direct"}
    assert names.sobjects == {"Account": ACCOUNT, "Opportunity": OPPORTUNITY}


def test_a_landed_write_becomes_a_decision_in_flag_names(mapping: FieldMapping) -> None:
    write = RecordWrite("Opportunity", DEAL, {"RoE_Status__c": "Review"}, HELD)
    before = org({DEAL: HELD, OTHER: HELD})
    (event,) = cycle_history(facts(before, StateEarlier(before)), mapping, [write])
    assert (event.kind, event.account_id) == (Kind.DECIDED, ACME)
    assert event.changes == {"status": ("Violation", "Review")}


def test_records_seen_changing_but_not_written_still_tell_what_people_did(
    mapping: FieldMapping,
) -> None:
    before = org({DEAL: HELD, OTHER: HELD})
    after = org({DEAL: {**HELD, "RoE_Status__c": "Compliant"}, OTHER: HELD})
    events = list(cycle_history(facts(after, StateEarlier(before), {DEAL, OTHER}), mapping, []))
    (edited,) = events  # OTHER was seen again unchanged: nothing
    assert (edited.kind, edited.record_id, edited.actor_id) == (Kind.EDITED_BY_HAND, DEAL, BOB)


def test_a_first_cycle_knows_nothing_before_it(mapping: FieldMapping) -> None:
    write = RecordWrite("Opportunity", DEAL, {"RoE_Status__c": "Violation"}, {})
    (event,) = cycle_history(facts(org({}), NothingEarlier()), mapping, [write])
    assert event.changes == {"status": (None, "Violation")}


def test_an_idle_cycle_has_no_history(mapping: FieldMapping) -> None:
    state = org({DEAL: HELD, OTHER: HELD})
    assert list(cycle_history(facts(state, StateEarlier(state)), mapping, [])) == []
