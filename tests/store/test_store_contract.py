"""One contract for the state store, run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from syncd.engine.enforcement import LedgerEntry, LedgerNeeds
from syncd.engine.inputs import CONFLICT_GROUP, DEAL_OWNER
from syncd.errors import ConfigError
from syncd.store.commit import CycleCommit, LinkChange, MirrorChange, RunFinish
from syncd.store.links import StoreLinks
from syncd.store.schema import head_revision
from syncd.store.state import CycleState, Fingerprints, advanced
from syncd.store.store import Store

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DEAL, OTHER_DEAL = "006000000000001AAA", "006000000000002AAA"
THIRD_DEAL, FOURTH_DEAL = "006000000000003AAA", "006000000000004AAA"
REP = REP_ID = "005000000000001AAA"
PRINTS = Fingerprints("r" * 64, "p" * 64, "m" * 64, frozenset({"001000000000001AAA"}))


def entry(key: str = "0060000000000001AAA:CODE:1", **changes: object) -> LedgerEntry:
    base = LedgerEntry(
        key=key,
        kind="violation",
        opportunity_id=key[:18],
        code="CODE",
        occurrence=1,
        rep_id="005000000000001AAA",
        partner_id=None,
        level=1,
        owner_id="005000000000002AAA",
        first_seen=T0,
        last_seen=T0,
        description="why",
        subject="[RoE] CODE: Deal",
        priority="High",
        due=date(2026, 12, 4),
        remedy="referral fee 10.00 to P",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def finish(run_id: str = "r1", outcome: str = "success", **counts: object) -> RunFinish:
    return RunFinish(run_id=run_id, outcome=outcome, finished_at=T0 + timedelta(seconds=3),
                     **counts)  # type: ignore[arg-type]  # fmt: skip


def test_a_new_store_is_empty_and_at_the_newest_schema(store: Store) -> None:
    assert store.cycle_state() == CycleState()
    assert store.cycle_state().empty
    assert store.ledger() == [] and store.recent_runs() == [] and store.mirror_counts() == {}


def test_run_history_round_trips_with_the_api_budget(store: Store) -> None:
    store.start_run("r1", "full", T0, "v1")
    (running,) = store.recent_runs()
    assert running.outcome == "running"
    store.finish_run(finish(records_read=10, records_written=4, api_calls=3, api_used=7,
                            api_max=100, budget_hold=True))  # fmt: skip
    (run,) = store.recent_runs()
    assert (run.outcome, run.records_written, run.api_calls) == ("success", 4, 3)
    assert (run.api_used, run.api_max, run.budget_hold) == (7, 100, True)
    assert run.finished_at == T0 + timedelta(seconds=3) and run.finished_at.tzinfo is not None


def test_a_cycle_commit_writes_state_ledger_mirror_and_run_together(store: Store) -> None:
    store.start_run("r1", "full", T0, "v1")
    store.queue_resync("account", ["001000000000001AAA"], source="cli", at=T0)
    (resync,) = store.pending_resyncs()
    store.clear_mirror_stage()
    store.stage_mirror("Account", [{"Id": "001000000000001AAA", "Name": "a"}])
    state = advanced(
        CycleState(), run_id="r1", watermarks={"Account": T0}, fingerprints=PRINTS, now=T0,
        retry_ids=["006000000000009AAA"], org_id="00D000000000001AAA",
    )  # fmt: skip
    store.commit_cycle(
        CycleCommit(
            run=finish(),
            state=state,
            ledger=[entry()],
            mirror=MirrorChange(
                promote=("Account",),
                written={"Account": [("001000000000001AAA", {"RoE_Reason__c": "x"})]},
            ),
            resyncs_done=[resync.id],
        )
    )
    assert store.cycle_state() == state
    assert store.ledger() == [entry()]
    assert list(store.mirror_records("Account")) == [{"Id": "001000000000001AAA", "Name": "a"}]
    assert store.mirror_written("Account") == {
        "001000000000001AAA": {"Id": "001000000000001AAA", "RoE_Reason__c": "x"}
    }
    assert store.pending_resyncs() == [] and store.recent_runs()[0].outcome == "success"


def test_a_commit_that_fails_part_way_leaves_the_previous_state_whole(store: Store) -> None:
    store.start_run("r1", "full", T0, "v1")
    before = store.cycle_state()

    def refuse(conn: object) -> None:
        raise RuntimeError("the lock is gone")

    state = advanced(CycleState(), run_id="r1", watermarks={"Account": T0}, fingerprints=PRINTS,
                     now=T0, retry_ids=[])  # fmt: skip
    store.guard = refuse
    with pytest.raises(RuntimeError):
        store.commit_cycle(CycleCommit(run=finish(), state=state, ledger=[entry()]))
    store.guard = None
    assert store.cycle_state() == before and store.ledger() == []
    assert store.recent_runs()[0].outcome == "running"


def test_watermarks_only_move_forward(store: Store) -> None:
    first = advanced(CycleState(), run_id="r1", watermarks={"Account": T0, "User": T0},
                     fingerprints=PRINTS, now=T0, retry_ids=[])  # fmt: skip
    later = advanced(
        first, run_id="r2", watermarks={"Account": T0 - timedelta(hours=1), "User": T0 +
        timedelta(1)}, fingerprints=PRINTS, now=T0, retry_ids=[],
    )  # fmt: skip
    for run_id, state in (("r1", first), ("r2", later)):
        store.start_run(run_id, "full", T0, "v1")
        store.commit_cycle(CycleCommit(run=finish(run_id), state=state))
    assert store.watermarks() == {"Account": T0, "User": T0 + timedelta(1)}


def test_ledger_entries_are_replaced_by_key_and_queried(store: Store) -> None:
    other = "0060000000000002AAA:CODE:1"
    store.start_run("r1", "full", T0, "v1")
    store.commit_cycle(CycleCommit(run=finish(), ledger=[entry(), entry(other, rep_id=None)]))
    resolved = entry(resolved_at=T0 + timedelta(hours=1), task_id="00T000000000001AAA",
                     task_opened_at=T0, task_closed=True, resolution="Resolved: fixed")  # fmt: skip
    store.start_run("r2", "incremental", T0, "v1")
    store.commit_cycle(CycleCommit(run=finish("r2"), ledger=[resolved]))
    assert store.ledger(keys=[entry().key]) == [resolved]
    assert [e.key for e in store.ledger(open_only=True)] == [other]
    assert [e.key for e in store.ledger(rep_id="005000000000001AAA")] == [entry().key]
    assert store.ledger(since=T0 + timedelta(days=1)) == []


def test_many_ledger_entries_are_saved_in_batches(store: Store) -> None:
    entries = [entry(f"{n:015d}AAA:CODE:1") for n in range(12_001)]
    store.start_run("r1", "full", T0, "v1")
    store.commit_cycle(CycleCommit(run=finish(), ledger=entries))
    assert len(store.ledger()) == 12_001


def test_a_change_read_merges_into_the_mirror_and_drops_its_written_overlay(store: Store) -> None:
    store.replace_mirror({"Account": [{"Id": "001A", "Name": "a"}, {"Id": "001B"}]})
    store.start_run("r1", "incremental", T0, "v1")
    store.commit_cycle(CycleCommit(run=finish(), mirror=MirrorChange(
        written={"Account": [("001A", {"F": 1}), ("001B", {"F": 2})]})))  # fmt: skip
    store.clear_mirror_stage()
    store.stage_mirror("Account", [{"Id": "001A", "Name": "a2"}, {"Id": "001C"}])
    store.start_run("r2", "incremental", T0, "v1")
    store.commit_cycle(
        CycleCommit(
            run=finish("r2"),
            mirror=MirrorChange(merge_stage=True, deletes={"Account": ["001X"]}),
        )
    )
    assert list(store.mirror_records("Account")) == [
        {"Id": "001A", "Name": "a2"},
        {"Id": "001B"},
        {"Id": "001C"},
    ]
    assert set(store.mirror_written("Account")) == {"001B"}  # 001A's echo was read


def test_a_full_read_replaces_the_mirror_of_its_objects(store: Store) -> None:
    store.replace_mirror({"Account": [{"Id": "001A"}], "User": [{"Id": "005A"}]})
    store.clear_mirror_stage()
    store.stage_mirror("Account", [{"Id": "001C", "Name": "new"}])
    assert [r["Id"] for r in store.mirror_records("Account")] == ["001A"]  # not yet
    store.start_run("r1", "full", T0, "v1")
    store.commit_cycle(CycleCommit(run=finish(), mirror=MirrorChange(promote=("Account", "User"))))
    assert [r["Id"] for r in store.mirror_records("Account")] == ["001C"]
    assert store.mirror_counts() == {"Account": 1}


def test_resync_queue_is_first_in_first_out(store: Store) -> None:
    assert store.queue_resync("full", [], source="cli", at=T0) == 1
    assert store.queue_resync("account", ["001A", "001B"], source="http", at=T0) == 2
    assert [(r.scope, r.record_id) for r in store.pending_resyncs()] == [
        ("full", None),
        ("account", "001A"),
        ("account", "001B"),
    ]


def test_the_store_remembers_its_org(store: Store) -> None:
    store.bind_org("00D000000000001AAA")
    assert store.cycle_state().org_id == "00D000000000001AAA"


def test_opening_twice_migrates_once(store_url: str) -> None:
    Store(store_url).close()
    again = Store(store_url)
    with again.begin() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    again.close()
    assert versions == [head_revision()]


def test_a_database_that_cannot_be_reached_is_a_config_error(store_url: str) -> None:
    if store_url.startswith("sqlite"):
        unreachable = "sqlite:////nonexistent-dir/sub/syncd.db"
    else:
        unreachable = store_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(ConfigError, match="cannot open the state database"):
        Store(unreachable)


def test_the_default_store_is_sqlite_in_the_state_dir(tmp_path: Path) -> None:
    store = Store.open(None, tmp_path / "state")
    store.close()
    assert (tmp_path / "state" / "syncd.db").exists()
    assert store.location.startswith("sqlite:///")


def test_a_reading_command_refuses_a_state_dir_without_a_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no state database at"):
        Store.open_existing(None, tmp_path / "nothing-here")
    assert not (tmp_path / "nothing-here").exists()  # and creates nothing


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense://", "not a usable SQLAlchemy URL"),
        ("postgresql+nodriver://u:hunter2@db/x", "not a usable SQLAlchemy URL"),
    ],
)
def test_a_bad_database_url_is_a_config_error_that_never_echoes_it(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as raised:
        Store(url)
    assert "hunter2" not in str(raised.value)


def test_a_scorecard_publication_is_remembered_by_day(store: Store) -> None:
    assert store.last_publication() is None
    at = datetime(2026, 12, 1, 6, 15, tzinfo=UTC)
    store.record_publication(at.date(), at, rows=412, failed=0, api_calls=3)
    store.record_publication(date(2026, 11, 30), at, rows=400, failed=1, api_calls=2)
    assert store.last_publication() == date(2026, 12, 1)


def test_the_links_table_is_complete_only_once_a_whole_org_wrote_it(store: Store) -> None:
    a1, a2, deal, other = "001000000000001AAA", "001000000000002AAA", DEAL, OTHER_DEAL
    state = advanced(CycleState(), run_id="r1", watermarks={"Account": T0}, fingerprints=PRINTS,
                     now=T0, retry_ids=[])  # fmt: skip
    rows = [("account", deal, a1), ("account", other, a1), ("owner", deal, REP)]
    whole = MirrorChange(promote=("Account",), links=LinkChange(complete=True, rows=iter(rows)))
    store.commit_cycle(CycleCommit(run=finish(), state=state, mirror=whole))
    assert store.cycle_state().links_complete
    links = StoreLinks(store)
    assert links.sources(CONFLICT_GROUP, {a1}) == {deal, other}
    assert links.targets(DEAL_OWNER, {deal, other}) == {REP}
    moved = LinkChange(sources=[deal], rows=[("account", deal, a2)])  # its owner link is gone
    state = replace(store.cycle_state(), state_run="r2")
    store.commit_cycle(CycleCommit(run=finish("r2"), state=state,
                                   mirror=MirrorChange(merge_stage=True, links=moved)))  # fmt: skip
    assert store.cycle_state().links_complete
    assert links.sources(CONFLICT_GROUP, {a1}) == {other}
    assert links.sources(CONFLICT_GROUP, {a2}) == {deal}
    assert links.targets(DEAL_OWNER, {deal}) == set()
    # a mirror moved without its links (or seeded by hand) is no longer complete
    store.commit_cycle(CycleCommit(run=finish("r3"), state=state,
                                   mirror=MirrorChange(merge_stage=True)))  # fmt: skip
    assert not store.cycle_state().links_complete
    assert links.sources(CONFLICT_GROUP, {a2}) == set()


def test_the_ledger_of_a_scope_is_its_deals_its_reps_top_notice_and_read_tasks(
    store: Store,
) -> None:
    recent, too_old = T0 - timedelta(days=10), T0 - timedelta(days=400)
    entries = [
        entry(f"{DEAL}:CODE:1", resolved_at=T0),  # the deal's closed entries count
        entry(f"{OTHER_DEAL}:CODE:1", first_seen=recent, task_opened_at=recent, level=2),
        entry(f"{OTHER_DEAL}:CODE:2", first_seen=recent, task_opened_at=recent, level=1),
        entry(f"{OTHER_DEAL}:CODE:3", first_seen=too_old, task_opened_at=too_old, level=3),
        entry(f"{OTHER_DEAL}:CODE:4", first_seen=recent, level=3),  # its Task never opened
        entry(f"{THIRD_DEAL}:CODE:1", rep_id=None),  # a Task read from the org
        entry(f"{FOURTH_DEAL}:CODE:1", rep_id=None),  # nothing to do with the scope
    ]
    store.commit_cycle(CycleCommit(run=finish(), ledger=entries))
    needs = LedgerNeeds(frozenset({DEAL}), frozenset({REP_ID}), T0 - timedelta(days=90), T0)
    found = store.ledger_about(needs, [f"{THIRD_DEAL}:CODE:1"])
    wanted = {entries[i].key for i in (0, 1, 5)}
    assert [e.key for e in found] == [e.key for e in store.ledger() if e.key in wanted]
