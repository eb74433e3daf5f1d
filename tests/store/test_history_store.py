"""The decision history in the store, on SQLite and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.engine.history import OPPORTUNITY, HistoryEvent, Kind
from syncd.store.commit import CycleCommit, MirrorChange, RunFinish
from syncd.store.history import (
    current_lookup,
    history_count,
    history_of,
    mirror_lookup,
    prune_history,
)
from syncd.store.store import Store
from syncd.sync.audit import MirrorEarlier
from syncd.sync.mapping import load_mapping

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACME, DEAL, OTHER = "001000000000001AAA", "006000000000001AAA", "006000000000002AAA"
BOB = "005000000000001AAA"
MAPPING = load_mapping(Path(__file__).resolve().parents[2] / "mappings" / "default.yaml")


def event(kind: Kind = Kind.DECIDED, at: datetime = T0, record: str = DEAL, **more: object):
    values: dict[str, object] = {
        "sobject": OPPORTUNITY,
        "record_id": record,
        "kind": kind,
        "at": at,
        "run_id": "r1",
        "policy_version": "2026.11-1",
        "account_id": ACME,
        **more,
    }
    return HistoryEvent(**values)  # type: ignore[arg-type]


def commit(store: Store, run_id: str, events: object = (), **more: object) -> None:
    store.start_run(run_id, "incremental", T0, "v1")
    finish = RunFinish(run_id=run_id, outcome="success", finished_at=T0)
    store.commit_cycle(CycleCommit(run=finish, history=events, **more))  # type: ignore[arg-type]


def test_events_round_trip_in_order_with_their_times_aware(store: Store) -> None:
    decided = event(
        changes={"status": (None, "Violation"), "comp_eligible": (True, False)},
        codes=("DIRECT_ON_PARTNER_ACCOUNT", "PARTNER_LED_DEFAULT"),
    )
    asked = event(Kind.EXCEPTION_REQUESTED, T0 + timedelta(minutes=5), actor_id=BOB,
                  acted_at=T0 + timedelta(minutes=4), data={"reason": "asked"})  # fmt: skip
    commit(store, "r1", [decided])
    commit(store, "r2", iter([asked]))  # a generator, as the cycle hands it
    assert history_of(store, DEAL) == [decided, asked]
    assert history_of(store, DEAL)[1].acted_at.tzinfo is not None  # type: ignore[union-attr]
    assert history_of(store, DEAL, since=T0 + timedelta(minutes=1)) == [asked]


def test_an_account_timeline_holds_its_own_events_and_its_deals(store: Store) -> None:
    own = event(record=ACME, sobject="Account", account_id=None)
    deal, other = event(), event(record=OTHER, account_id="001000000000009AAA")
    commit(store, "r1", [own, deal, other])
    assert history_of(store, ACME) == [own, deal]
    assert history_of(store, ACME, with_deals=False) == [own]


def test_a_commit_without_changes_adds_no_history(store: Store) -> None:
    commit(store, "r1")
    assert history_count(store) == 0


def test_history_is_part_of_the_cycle_s_one_transaction(store: Store) -> None:
    def refuse(conn: object) -> None:
        raise RuntimeError("the lock is gone")

    store.guard = refuse
    with pytest.raises(RuntimeError):
        commit(store, "r1", [event()])
    store.guard = None
    assert history_count(store) == 0


def test_many_events_are_saved_in_batches(store: Store) -> None:
    commit(store, "r1", (event(record=f"006{n:012d}AAA") for n in range(12_001)))
    assert history_count(store) == 12_001


def test_pruning_deletes_what_is_older_than_the_retention(store: Store) -> None:
    old, recent = event(at=T0 - timedelta(days=401)), event(at=T0 - timedelta(days=399))
    commit(store, "r1", [old, recent])
    assert prune_history(store, T0 - timedelta(days=400)) == 1
    assert history_of(store, DEAL) == [recent]


def test_pruning_refuses_when_the_lock_is_lost(store: Store) -> None:
    commit(store, "r1", [event(at=T0 - timedelta(days=500))])

    def refuse(conn: object) -> None:
        raise RuntimeError("the lock is gone")

    store.guard = refuse
    with pytest.raises(RuntimeError):
        prune_history(store, T0)
    store.guard = None
    assert history_count(store) == 1


def test_mirror_lookups_by_id_see_syncd_s_landed_writes(store: Store) -> None:
    store.replace_mirror({"Opportunity": [{"Id": DEAL, "RoE_Status__c": None}, {"Id": OTHER}]})
    commit(store, "r1", mirror=MirrorChange(
        written={"Opportunity": [(DEAL, {"RoE_Status__c": "Violation"})]}))  # fmt: skip
    assert mirror_lookup(store, "Opportunity", [DEAL]) == {
        DEAL: {"Id": DEAL, "RoE_Status__c": None}
    }
    assert current_lookup(store, "Opportunity", [DEAL, "006000000000009AAA"]) == {
        DEAL: {"Id": DEAL, "RoE_Status__c": "Violation"}
    }


def test_a_full_cycle_reads_the_previous_mirror_while_its_commit_replaces_it(store: Store) -> None:
    """A fresh process's full cycle finds what syncd knew in the mirror the commit replaces."""
    store.replace_mirror({"Opportunity": [{"Id": DEAL, "Name": "Old", "RoE_Status__c": "Review"}]})
    store.clear_mirror_stage()
    store.stage_mirror("Opportunity", [{"Id": DEAL, "Name": "New", "RoE_Status__c": "Compliant"}])
    earlier = MirrorEarlier(store, MAPPING)

    def events() -> Iterator[HistoryEvent]:
        earlier.load("Opportunity", [DEAL])
        before = earlier.values(DEAL) or {}
        deal = earlier.deal(DEAL)
        yield event(data={"was": before.get("RoE_Status__c"), "name": deal.name if deal else ""})

    commit(store, "r1", events(), mirror=MirrorChange(promote=("Opportunity",)))
    (saved,) = history_of(store, DEAL)
    assert saved.data == {"was": "Review", "name": "Old"}
    assert [r["Name"] for r in store.mirror_records("Opportunity")] == ["New"]
