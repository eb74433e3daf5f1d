"""The state database upgrades in place: from nothing, and from syncd 0.1.0's database."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from syncd.store.schema import head_revision
from syncd.store.store import Store
from syncd.store.tables import metadata

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "state-0.1.0.sql"


def test_the_migrations_build_exactly_the_tables_the_code_uses(store: Store) -> None:
    with store.begin() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_a_database_written_by_0_1_0_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "syncd.db"
    with sqlite3.connect(path) as old:
        old.executescript(FIXTURE.read_text())
        before = {
            table: old.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("runs", "ledger", "mirror", "watermarks")
        }
    store = Store(f"sqlite:///{path}")
    try:
        state = store.cycle_state()
        entries = store.ledger()
        runs = store.recent_runs()
        counts = store.mirror_counts()
    finally:
        store.close()
    # The facts became the typed state; nothing else was lost.
    assert state.evaluated_on == date(2026, 12, 1)
    assert state.state_run == runs[0].run_id and state.org_id is None
    assert sorted(state.watermarks) == ["Account", "Opportunity", "User"]
    assert len(state.rules_fingerprint or "") == 64 and state.retry_ids == frozenset()
    assert (len(runs), len(entries), sum(counts.values()), len(state.watermarks)) == (
        before["runs"],
        before["ledger"],
        before["mirror"],
        before["watermarks"],
    )
    # 0.1.0 saved an entry only once its Task had landed: it counts as a delivered notice.
    assert all(e.task_id and e.task_opened_at == e.first_seen for e in entries)
    with sqlite3.connect(path) as upgraded:
        tables = {r[0] for r in upgraded.execute("SELECT name FROM sqlite_master")}
        (version,) = upgraded.execute("SELECT version_num FROM alembic_version").fetchone()
    assert "facts" not in tables and version == head_revision()


def _open(path: str) -> None:
    Store.open(None, Path(path)).close()


def test_processes_opening_a_new_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    openers = [context.Process(target=_open, args=(str(tmp_path),)) for _ in range(3)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join(timeout=60)
    assert [o.exitcode for o in openers] == [0, 0, 0]
    store = Store.open(None, tmp_path)
    with store.begin() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.close()
