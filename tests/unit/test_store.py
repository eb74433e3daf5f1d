from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.errors import ConfigError
from syncd.store.store import Store

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(None, tmp_path / "state")
    yield s
    s.close()


def test_default_store_is_sqlite_in_state_dir(tmp_path: Path, store: Store) -> None:
    assert (tmp_path / "state" / "syncd.db").exists()
    assert store.location.startswith("sqlite:///")


def test_run_history_round_trip(store: Store) -> None:
    store.start_run("r1", "full", T0, "v1")
    store.finish_run(
        "r1",
        outcome="success",
        finished_at=T0 + timedelta(seconds=3),
        records_read=10,
        records_written=4,
        api_calls=3,
    )
    (run,) = store.recent_runs()
    assert run.outcome == "success" and run.records_written == 4 and run.api_calls == 3
    assert run.finished_at == T0 + timedelta(seconds=3)
    assert run.finished_at.tzinfo is not None


def test_unknown_run_field_is_a_programming_error(store: Store) -> None:
    store.start_run("r1", "full", T0, "v1")
    with pytest.raises(ValueError, match="unknown run fields"):
        store.finish_run("r1", outcome="success", finished_at=T0, records_lost=1)


def test_watermarks_only_move_forward(store: Store) -> None:
    store.set_watermarks({"Account": T0, "Opportunity": T0}, T0)
    store.set_watermarks({"Account": T0 - timedelta(hours=1), "Opportunity": T0 + timedelta(1)}, T0)
    marks = store.watermarks()
    assert marks["Account"] == T0
    assert marks["Opportunity"] == T0 + timedelta(1)


def test_facts_upsert(store: Store) -> None:
    assert store.get_fact("policy_fingerprint") is None
    store.set_fact("policy_fingerprint", "a")
    store.set_fact("policy_fingerprint", "b")
    assert store.get_fact("policy_fingerprint") == "b"


def test_bad_database_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="database_url"):
        Store("nonsense://")


def test_mirror_replaces_per_object_and_round_trips(store: Store) -> None:
    store.replace_mirror(
        {"Account": [{"Id": "001B", "Name": "b"}, {"Id": "001A", "Name": "a", "X": None}]}
    )
    store.replace_mirror({"User": [{"Id": "005A", "IsActive": True}]})
    assert list(store.mirror_records("Account")) == [
        {"Id": "001A", "Name": "a", "X": None},
        {"Id": "001B", "Name": "b"},
    ]
    store.replace_mirror({"Account": [{"Id": "001C"}]})
    assert [r["Id"] for r in store.mirror_records("Account")] == ["001C"]
    assert list(store.mirror_records("User")) == [{"Id": "005A", "IsActive": True}]


def test_resync_queue_is_first_in_first_out_and_completes(store: Store) -> None:
    assert store.queue_resync("full", [], source="cli", at=T0) == 1
    assert store.queue_resync("account", ["001A", "001B"], source="http", at=T0) == 2
    pending = store.pending_resyncs()
    assert [(r.scope, r.record_id, r.source) for r in pending] == [
        ("full", None, "cli"),
        ("account", "001A", "http"),
        ("account", "001B", "http"),
    ]
    store.complete_resyncs([pending[0].id, pending[1].id], T0)
    assert [r.record_id for r in store.pending_resyncs()] == ["001B"]


def test_a_staged_full_read_replaces_the_mirror_only_when_promoted(store: Store) -> None:
    store.replace_mirror({"Account": [{"Id": "001A"}, {"Id": "001B"}], "User": [{"Id": "005A"}]})
    store.clear_mirror_stage()
    store.stage_mirror("Account", [{"Id": "001C", "Name": "new"}])
    store.stage_mirror("Account", [{"Id": "001D"}])
    # A cycle dying here leaves the old mirror as it was.
    assert [r["Id"] for r in store.mirror_records("Account")] == ["001A", "001B"]
    store.promote_mirror(["Account", "User"])
    assert [r["Id"] for r in store.mirror_records("Account")] == ["001C", "001D"]
    assert list(store.mirror_records("User")) == []  # staged empty: the org has none
    assert store.mirror_counts() == {"Account": 2}
    store.promote_mirror(["Account"])  # nothing staged any more
    assert store.mirror_counts() == {}


def test_incremental_mirror_updates_replace_add_and_drop(store: Store) -> None:
    store.replace_mirror({"Account": [{"Id": "001A", "Name": "a"}, {"Id": "001B"}]})
    store.update_mirror(
        {"Account": [{"Id": "001A", "Name": "a2"}, {"Id": "001C"}]}, {"Account": ["001B", "001X"]}
    )
    assert list(store.mirror_records("Account")) == [
        {"Id": "001A", "Name": "a2"},
        {"Id": "001C"},
    ]


def test_staged_changes_merge_into_the_mirror(store: Store) -> None:
    store.replace_mirror({"Account": [{"Id": "001A", "Name": "a"}, {"Id": "001B"}]})
    store.clear_mirror_stage()
    store.stage_mirror("Account", [{"Id": "001A", "Name": "a2"}, {"Id": "001C"}])
    store.merge_mirror_stage()
    assert list(store.mirror_records("Account")) == [
        {"Id": "001A", "Name": "a2"},
        {"Id": "001B"},
        {"Id": "001C"},
    ]
    store.merge_mirror_stage()  # nothing staged: nothing changes
    assert store.mirror_counts() == {"Account": 3}
