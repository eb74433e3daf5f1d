"""Resync requests are validated before queueing; one daemon per state store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.service.resync import InvalidResync, build_resync, queue
from syncd.sfid import make_id
from syncd.store.lock import AlreadyRunning, InstanceLock
from syncd.store.store import Store

ACC, OPP = make_id("001", 3), make_id("006", 4)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(None, tmp_path / "state")
    yield s
    s.close()


def test_ids_are_normalised_to_18_and_deduplicated() -> None:
    resync = build_resync(accounts=[ACC[:15], ACC], opportunities=[OPP])
    assert resync.accounts == (ACC,) and resync.opportunities == (OPP,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"accounts": ["001xyz"]}, "account '001xyz'"),
        ({"accounts": [OPP]}, "start with 001"),
        ({"opportunities": [OPP[:15] + "ZZZ"]}, "checksum"),
        ({}, "at least one"),
    ],
)
def test_bad_requests_name_the_problem(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidResync, match=message):
        build_resync(**kwargs)


def test_queue_writes_one_row_per_record(store: Store) -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    assert queue(store, build_resync(full=True, accounts=[ACC]), source="cli", at=at) == 2
    assert [(r.scope, r.record_id) for r in store.pending_resyncs()] == [
        ("full", None),
        ("account", ACC),
    ]


def test_a_second_daemon_on_the_same_store_is_refused(store: Store, tmp_path: Path) -> None:
    first = InstanceLock(store, tmp_path / "state")
    first.acquire()
    second = InstanceLock(store, tmp_path / "state")
    with pytest.raises(AlreadyRunning, match="--standby"):
        second.acquire()
    assert second.wait(should_stop=lambda: True, poll_seconds=0) is False
    first.release()
    assert second.wait(should_stop=lambda: True, poll_seconds=0) is True
    second.release()
