"""Applying a change read to the org state: real changes, echoes, the overlap, deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.engine.inputs import CONFLICT_GROUP
from syncd.sfid import make_id
from syncd.store.store import Store
from syncd.sync.mapping import FieldMapping, load_mapping
from syncd.sync.orgstate import Applied, OrgState
from syncd.sync.partial import MirrorLoader

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = make_id("001", 1)
DEAL, OTHER = make_id("006", 1), make_id("006", 2)
REP = make_id("005", 1)


@pytest.fixture(scope="module")
def mapping() -> FieldMapping:
    return load_mapping(ROOT / "mappings" / "default.yaml")


def deal(record_id: str, **fields: object) -> dict[str, object]:
    return {
        "Id": record_id,
        "Name": "Deal",
        "AccountId": ACCOUNT,
        "OwnerId": REP,
        "IsClosed": False,
        "IsWon": False,
        "RoE_Status__c": None,
        "SystemModstamp": "2026-12-01T09:00:00.000+0000",
        **fields,
    }


def state_of(store: Store, mapping: FieldMapping) -> OrgState:
    store.replace_mirror(
        {
            "User": [{"Id": REP, "Name": "Rep", "IsActive": True}],
            "Account": [{"Id": ACCOUNT, "Name": "Acme"}],
            "Opportunity": [deal(DEAL), deal(OTHER)],
        }
    )
    return OrgState.from_store(store, mapping)


def apply(
    state: OrgState,
    mapping: FieldMapping,
    *deals: dict[str, object],
    deleted: dict[str, str | None] | None = None,
    staged: list[str] | None = None,
) -> Applied:
    """Hand one page of deal changes to the state, as a change read does."""
    stage = (
        (lambda sobject, records: staged.extend(r["Id"] for r in records))
        if staged is not None
        else None
    )
    applier = state.applier(mapping, stage=stage)
    applier.page("Opportunity", list(deals), deleted or {})
    return applier.finish({})


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(None, tmp_path)
    yield s
    s.close()


def test_the_state_rebuilds_from_the_mirror(store: Store, mapping: FieldMapping) -> None:
    state = state_of(store, mapping)
    assert set(state.snapshot.opportunities) == {DEAL, OTHER}
    assert state.snapshot.users[REP].name == "Rep"
    assert state.current[DEAL]["RoE_Status__c"] is None


def test_a_real_change_cascades_and_is_kept_for_the_mirror(
    store: Store, mapping: FieldMapping
) -> None:
    staged: list[str] = []
    applied = apply(state_of(store, mapping), mapping, deal(DEAL, Name="Bigger"), staged=staged)
    assert applied.changes.opportunities == {DEAL}
    assert not applied.replan
    assert applied.state.snapshot.opportunities[DEAL].name == "Bigger"
    assert staged == [DEAL]


def test_a_record_seen_again_in_the_overlap_is_nothing(store: Store, mapping: FieldMapping) -> None:
    staged: list[str] = []
    applied = apply(state_of(store, mapping), mapping, deal(DEAL), staged=staged)
    assert applied.changes.empty and not applied.replan and not staged


def test_an_echo_or_a_hand_edit_of_the_roe_fields_is_replanned_not_cascaded(
    store: Store, mapping: FieldMapping
) -> None:
    echo = deal(DEAL, RoE_Status__c="Compliant", SystemModstamp="2026-12-01T09:01:00.000+0000")
    applied = apply(state_of(store, mapping), mapping, echo)
    assert applied.changes.empty and applied.replan == {DEAL}
    assert applied.state.current[DEAL]["RoE_Status__c"] == "Compliant"
    # once syncd remembers what it wrote, the echo is nothing at all
    written = state_of(store, mapping)
    written.record_written([(DEAL, {"RoE_Status__c": "Compliant"})])
    assert not apply(written, mapping, echo).replan


def test_a_deleted_deal_leaves_the_state_and_is_reported(
    store: Store, mapping: FieldMapping
) -> None:
    applied = apply(state_of(store, mapping), mapping, deleted={DEAL: None})
    assert DEAL not in applied.state.snapshot.opportunities
    assert applied.changes.opportunities == {DEAL}
    assert applied.deleted_deals == {DEAL: "deleted"}
    assert applied.mirror_deletes == {"Opportunity": [DEAL]}


def test_the_state_moves_in_place_keeping_what_it_was(store: Store, mapping: FieldMapping) -> None:
    """No copy of a large org's dictionaries: the state itself moves on; ``before`` shows
    it as it was, and ``undo`` (a cycle that did not commit) puts it back, links too."""
    state = state_of(store, mapping)
    moved = make_id("001", 2)
    links = state.links
    applied = apply(state, mapping, deal(DEAL, AccountId=moved), deleted={OTHER: None})
    assert applied.state is state and state.snapshot.opportunities[DEAL].account_id == moved
    before = applied.before.snapshot.opportunities
    assert before[DEAL].account_id == ACCOUNT and OTHER in before and len(before) == 2
    assert links.sources(CONFLICT_GROUP, {moved}) == {DEAL}
    applied.undo()
    assert state.snapshot.opportunities[DEAL].account_id == ACCOUNT and OTHER in state.current
    assert links.sources(CONFLICT_GROUP, {ACCOUNT}) == {DEAL, OTHER}
    assert links.sources(CONFLICT_GROUP, {moved}) == set()


def test_a_partial_state_loads_what_it_is_asked_as_the_whole_one_holds_it(
    store: Store, mapping: FieldMapping
) -> None:
    whole = state_of(store, mapping)
    part = MirrorLoader(store, mapping).state
    assert part.empty
    part.loader.ensure("Opportunity", [DEAL, make_id("006", 9)])  # type: ignore[union-attr]
    assert part.snapshot.opportunities == {DEAL: whole.snapshot.opportunities[DEAL]}
    assert part.current == {DEAL: whole.current[DEAL]}
    # a change read compares with the mirror's version: an echo is nothing, as for the whole
    applied = apply(MirrorLoader(store, mapping).state, mapping, deal(DEAL))
    assert applied.changes.empty and not applied.replan
