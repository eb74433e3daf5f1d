"""The notification outbox on every database: written with the cycle's commit, each key once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from syncd.notify.message import Kind, OutboxChange, OutboxMessage, State
from syncd.notify.outbox import EVENT_ATTEMPTS, Outbox
from syncd.store.commit import CycleCommit, RunFinish
from syncd.store.store import Store

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def message(key: str, target: str = "target:ops", **changes: object) -> OutboxMessage:
    base = OutboxMessage(
        key=f"{key}|violation|{target}",
        kind=Kind.VIOLATION,
        target=target,
        title=f"title {key}",
        body=f"body {key} — “quoted”",
        summary=f"summary {key}",
        created_at=T0,
        not_before=T0,
        opportunity_id="0065g0000000035AAA",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def commit(store: Store, run_id: str, change: OutboxChange) -> None:
    store.start_run(run_id, "full", T0, "v1")
    finish = RunFinish(run_id=run_id, outcome="success", finished_at=T0 + timedelta(seconds=5))
    store.commit_cycle(CycleCommit(run=finish, outbox=change))


def test_the_outbox_is_committed_with_the_cycle_and_keeps_each_key_once(store: Store) -> None:
    first = [message("a"), message("b", state=State.HELD, not_before=T0 + timedelta(hours=22))]
    commit(store, "r1", OutboxChange(add=first))
    outbox = Outbox(store)
    outbox.sent(outbox.due(T0, 10)[0], T0 + timedelta(seconds=9))
    commit(store, "r2", OutboxChange(add=[replace(m, title="again") for m in first]))
    found = {m.key: m for m in outbox.messages()}
    assert len(found) == 2
    a, b = found["a|violation|target:ops"], found["b|violation|target:ops"]
    assert (a.state, a.title, a.delivered_at) == (State.SENT, "title a", T0 + timedelta(seconds=9))
    assert (b.state, b.not_before, b.body) == (
        State.HELD,
        T0 + timedelta(hours=22),
        "body b — “quoted”",
    )
    assert outbox.held_due(T0 + timedelta(hours=22)) == [b]
    assert outbox.counts() == {"sent": 1, "held": 1}


def test_published_and_failed_events_are_recorded_by_the_next_commits(store: Store) -> None:
    event = message("e", "event:RoE_Violation__e", kind=Kind.EVENT)
    commit(store, "r1", OutboxChange(add=[event]))
    outbox = Outbox(store)
    assert outbox.due(T0, 10) == [] and outbox.waiting_events(10) == [event]
    commit(store, "r2", OutboxChange(failed={event.key: "503 SERVER_UNAVAILABLE"}))
    [waiting] = outbox.waiting_events(10)
    assert (waiting.attempts, waiting.last_error) == (1, "503 SERVER_UNAVAILABLE")
    commit(store, "r3", OutboxChange(sent=[event.key]))
    assert outbox.waiting_events(10) == [] and outbox.counts() == {"sent": 1}


def test_an_event_that_keeps_failing_is_given_up(store: Store) -> None:
    event = message("e", "event:RoE_Violation__e", kind=Kind.EVENT)
    commit(store, "r0", OutboxChange(add=[event]))
    for n in range(EVENT_ATTEMPTS):
        commit(store, f"r{n + 1}", OutboxChange(failed={event.key: "INVALID_TYPE"}))
    assert Outbox(store).counts() == {"failed": 1}
