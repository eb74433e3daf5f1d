"""Delivery from the outbox on a real SQLite store, with a recording sender: pure timing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.notify.delivery import Delivery, backoff
from syncd.notify.message import Kind, OutboxChange, OutboxMessage, State
from syncd.notify.notifier import Notifier
from syncd.notify.outbox import Outbox, save
from syncd.notify.settings import NotificationSettings
from syncd.store.store import Store

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = NotificationSettings.model_validate(
    {
        "targets": {
            "ops": {"kind": "webhook", "url": "https://hooks.example/ops"},
            "vp": {"kind": "webhook", "url": "https://hooks.example/vp"},
        },
        "retry_base_seconds": 30,
        "max_attempts": 3,
    }
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Sender:
    """Records sends; answers with the next scripted error for a target (None = accepted)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.errors: dict[str, list[str | None]] = {}

    def __call__(self, plugin: Any, title: str, body: str, timeout: float) -> str | None:
        target = plugin.fullpath.strip("/")  # the webhook's path names the target here
        scripted = self.errors.get(target) or [None]
        error = scripted.pop(0) if len(scripted) > 1 else scripted[0]
        if error is None:
            self.sent.append((target, title))
        return error


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(None, tmp_path)
    yield opened
    opened.close()


def message(key: str, target: str = "target:ops", **changes: Any) -> OutboxMessage:
    base = OutboxMessage(
        key=f"{key}|violation|{target}",
        kind=Kind.VIOLATION,
        target=target,
        title=key,
        body=f"body of {key}",
        summary=f"summary of {key}",
        created_at=T0,
        not_before=T0,
    )
    return replace(base, **changes)


def commit(store: Store, *messages: OutboxMessage) -> None:
    with store.begin() as conn:
        save(conn, OutboxChange(add=messages), T0)


def delivery(store: Store, clock: Clock, sender: Sender, settings: Any = SETTINGS) -> Delivery:
    return Delivery(settings, Outbox(store), clock=clock, sender=sender)


def states(store: Store) -> dict[str, State]:
    return {m.key.split("|")[0]: m.state for m in Outbox(store).messages()}


def test_each_message_is_sent_once(store: Store) -> None:
    clock, sender = Clock(), Sender()
    commit(store, message("a"), message("b", "target:vp"))
    report = delivery(store, clock, sender).run()
    assert report.total_sent == 2 and sorted(sender.sent) == [("ops", "a"), ("vp", "b")]
    commit(store, message("a"), message("b", "target:vp"))  # a rerun adds nothing twice
    assert delivery(store, clock, sender).run().total_sent == 0
    assert states(store) == {"a": State.SENT, "b": State.SENT}


def test_a_target_that_is_down_is_retried_later_with_backoff_and_skipped_meanwhile(
    store: Store,
) -> None:
    clock, sender = Clock(), Sender()
    sender.errors["ops"] = ["500 Internal Server Error", None]
    commit(store, message("a"), message("b"), message("c", "target:vp"))
    first = delivery(store, clock, sender).run()
    assert (first.retrying, first.deferred, dict(first.sent)) == (1, 1, {"target:vp": 1})
    [waiting] = [m for m in Outbox(store).messages() if m.key.startswith("a|")]
    assert (waiting.attempts, waiting.not_before, waiting.last_error) == (
        1,
        T0 + timedelta(seconds=30),
        "500 Internal Server Error",
    )
    clock.now = T0 + timedelta(seconds=10)  # "a" waits; "b" was never tried: it goes now
    assert delivery(store, clock, sender).run().total_sent == 1
    clock.now = T0 + timedelta(seconds=30)
    assert delivery(store, clock, sender).run().total_sent == 1
    assert sorted(t for t in sender.sent) == [("ops", "a"), ("ops", "b"), ("vp", "c")]


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n, 30).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_after_max_attempts_a_message_is_marked_failed(store: Store) -> None:
    clock, sender = Clock(), Sender()
    sender.errors["ops"] = ["timed out"]
    commit(store, message("a"))
    for _ in range(3):
        delivery(store, clock, sender).run()
        clock.now += timedelta(hours=2)
    assert states(store) == {"a": State.FAILED} and sender.sent == []


def test_a_target_removed_from_the_settings_drops_its_messages(store: Store) -> None:
    commit(store, message("a", "target:gone"))
    report = delivery(store, Clock(), Sender()).run()
    assert report.dropped == 1 and states(store) == {"a": State.DROPPED}


def test_held_messages_go_out_as_one_digest_per_target_once_its_time_comes(store: Store) -> None:
    clock, sender = Clock(), Sender()
    digest_at = T0 + timedelta(hours=22)
    held = [message(k, state=State.HELD, not_before=digest_at) for k in ("a", "b", "c")]
    commit(store, *held, message("d", "target:vp", state=State.HELD, not_before=digest_at))
    assert delivery(store, clock, sender).run().total_sent == 0
    clock.now = digest_at
    report = delivery(store, clock, sender).run()
    assert (report.digests, report.total_sent) == (2, 2)
    titles = sorted(title for _, title in sender.sent)
    assert titles == [
        "[RoE] Daily digest 2026-12-02: 1 notifications",
        "[RoE] Daily digest 2026-12-02: 3 notifications",
    ]
    assert {states(store)[k] for k in "abcd"} == {State.DIGESTED}
    assert delivery(store, clock, sender).run().total_sent == 0


def test_digest_lists_every_held_message(store: Store) -> None:
    clock, bodies = Clock(), []

    def keep(plugin: Any, title: str, body: str, timeout: float) -> None:
        bodies.append(body)

    commit(store, *(message(k, state=State.HELD, not_before=T0) for k in ("a", "b")))
    Delivery(SETTINGS, Outbox(store), clock=clock, sender=keep).run()
    [body] = bodies
    assert "**New violations (2)**" in body
    assert "- summary of a" in body and "- summary of b" in body


def test_runs_never_overlap(store: Store) -> None:
    commit(store, message("a"))
    runner = delivery(store, Clock(), Sender())
    with runner._running:  # another run is delivering
        assert runner.run().total_sent == 0
    assert runner.run().total_sent == 1


def test_a_broken_delivery_is_logged_and_the_messages_stay(store: Store) -> None:
    notifier = Notifier(SETTINGS, store, clock=Clock())

    def broken(*_: Any) -> None:
        raise RuntimeError("a bug")

    notifier._delivery = Delivery(SETTINGS, notifier.outbox, clock=Clock(), sender=broken)
    commit(store, message("a"))
    assert notifier.deliver() is None
    assert states(store) == {"a": State.PENDING}
