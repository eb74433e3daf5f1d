"""One syncd per store: the lock on SQLite (flock) and PostgreSQL (advisory), and its loss."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.store.commit import CycleCommit, RunFinish
from syncd.store.lock import AlreadyRunning, InstanceLock, LockLost
from syncd.store.store import Store
from tests.pgcluster import PostgresCluster

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_a_second_holder_is_refused_with_a_clear_message(store_url: str) -> None:
    first, second = Store(store_url), Store(store_url)
    held = InstanceLock(first)
    held.acquire()
    try:
        with pytest.raises(AlreadyRunning, match="another syncd is working on"):
            InstanceLock(second).acquire()
    finally:
        held.release()
    with InstanceLock(second).held():  # free again once released
        pass
    first.close()
    second.close()


def test_a_standby_takes_over_when_the_holder_stops(store_url: str) -> None:
    first, second = Store(store_url), Store(store_url)
    holder, standby = InstanceLock(first), InstanceLock(second)
    holder.acquire()
    took_over = threading.Event()

    def wait() -> None:
        if standby.wait(lambda: False, poll_seconds=0.05):
            took_over.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert not took_over.wait(0.3)  # still held: the standby waits
    holder.release()
    waiter.join(timeout=10)
    assert took_over.is_set()
    standby.release()
    first.close()
    second.close()


def test_the_sqlite_lock_sits_beside_the_database_file(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    store = Store(f"sqlite:///{tmp_path / 'db' / 'state.db'}")
    lock = InstanceLock(store, fallback_dir=tmp_path / "elsewhere")
    assert lock.path == tmp_path / "db" / "state.db.lock"
    store.close()


def _holder_pid(lock: InstanceLock) -> int:
    assert lock._pid is not None
    return lock._pid


def test_a_lost_postgresql_lock_is_noticed_and_taken_back_when_free(pg: PostgresCluster) -> None:
    store = Store(pg.create_database())
    lock = InstanceLock(store)
    lock.acquire()
    pg.terminate(_holder_pid(lock))  # the lock's backend dies, and the lock with it
    lock.verify()  # re-acquired on a new connection
    other_store = Store(store.url)
    assert not InstanceLock(other_store).try_acquire()
    other_store.close()
    lock.release()
    store.close()


def test_a_lost_lock_held_by_another_syncd_stops_the_holder(pg: PostgresCluster) -> None:
    url = pg.create_database()
    store, rival_store = Store(url), Store(url)
    lock = InstanceLock(store)
    lock.acquire()
    store.start_run("r1", "full", T0, "v1")
    pg.terminate(_holder_pid(lock))
    rival = InstanceLock(rival_store)
    assert rival.try_acquire()  # a standby took over meanwhile
    # The cycle in flight may not commit any more...
    with pytest.raises(LockLost, match="nothing of it was committed"):
        store.commit_cycle(CycleCommit(run=RunFinish("r1", "success", T0)))
    assert store.recent_runs()[0].outcome == "running"
    # ...and the next one steps down.
    with pytest.raises(LockLost, match="steps down"):
        lock.verify()
    rival.release()
    lock.release()
    store.close()
    rival_store.close()
