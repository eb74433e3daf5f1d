"""The outbox table's statements (SQLAlchemy Core), and a small reader/writer around them.

``save`` runs inside the cycle's commit transaction (``Store.commit_cycle``): a message
is inserted only when its key is new, so a rerun of a cycle adds nothing twice. Delivery
reads due rows and records each outcome in a short transaction of its own, never holding
one across a network call: a process killed mid-delivery re-sends at most the message in
flight (at least once), and never one already recorded as sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from syncd.notify.message import EVENT_TARGET, Kind, OutboxChange, OutboxMessage, State
from syncd.store.tables import notify_outbox as table

if TYPE_CHECKING:
    from syncd.store.store import Store

BATCH = 500
EVENT_ATTEMPTS = 20  # cycles a platform event is retried before it is marked failed


def save(conn: Connection, change: OutboxChange, at: datetime) -> None:
    rows = list({m.key: m for m in change.add}.values())
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        keys = [m.key for m in chunk]
        known = set(conn.scalars(select(table.c.key).where(table.c.key.in_(keys))))
        fresh = [_row(m) for m in chunk if m.key not in known]
        if fresh:
            conn.execute(insert(table), fresh)
    for key in change.sent:
        mark_sent(conn, key, at)
    for key, error in change.failed.items():
        attempts = (conn.scalar(select(table.c.attempts).where(table.c.key == key)) or 0) + 1
        state = State.FAILED if attempts >= EVENT_ATTEMPTS else State.PENDING
        conn.execute(
            update(table)
            .where(table.c.key == key, table.c.state == State.PENDING.value)
            .values(attempts=attempts, last_error=error, state=state.value)
        )


def mark_sent(conn: Connection, key: str, at: datetime, state: State = State.SENT) -> None:
    conn.execute(
        update(table)
        .where(table.c.key == key)
        .values(state=state.value, delivered_at=at, last_error=None)
    )


def mark_failed(
    conn: Connection, message: OutboxMessage, error: str, retry_at: datetime | None
) -> None:
    """One more failed attempt: try again at ``retry_at``, or give up (None)."""
    values: dict[str, Any] = {"attempts": message.attempts + 1, "last_error": error[:500]}
    if retry_at is None:
        values["state"] = State.FAILED.value
    else:
        values["not_before"] = retry_at
    conn.execute(update(table).where(table.c.key == message.key).values(**values))


def _row(message: OutboxMessage) -> dict[str, Any]:
    return {
        "key": message.key,
        "kind": message.kind.value,
        "target": message.target,
        "state": message.state.value,
        "title": message.title,
        "body": message.body,
        "summary": message.summary,
        "opportunity_id": message.opportunity_id,
        "created_at": message.created_at,
        "not_before": message.not_before,
        "attempts": message.attempts,
        "delivered_at": message.delivered_at,
        "last_error": message.last_error,
    }


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        key=row.key,
        kind=Kind(row.kind),
        target=row.target,
        title=row.title,
        body=row.body,
        summary=row.summary,
        created_at=_aware(row.created_at),
        not_before=_aware(row.not_before),
        state=State(row.state),
        opportunity_id=row.opportunity_id,
        attempts=row.attempts,
        delivered_at=_aware(row.delivered_at) if row.delivered_at else None,
        last_error=row.last_error,
    )


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # SQLite drops it


class Outbox:
    """Reads and single-message updates, each in a short transaction of its own."""

    def __init__(self, store: Store):
        self.store = store

    def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Messages to send now (platform events excepted: the cycle publishes those)."""
        query = (
            select(table)
            .where(
                table.c.state == State.PENDING.value,
                table.c.not_before <= now,
                table.c.target != EVENT_TARGET,
            )
            .order_by(table.c.created_at, table.c.key)
            .limit(limit)
        )
        return self._select(query)

    def waiting_events(self, limit: int) -> list[OutboxMessage]:
        query = (
            select(table)
            .where(table.c.state == State.PENDING.value, table.c.target == EVENT_TARGET)
            .order_by(table.c.created_at, table.c.key)
            .limit(limit)
        )
        return self._select(query)

    def held_due(self, now: datetime) -> list[OutboxMessage]:
        query = (
            select(table)
            .where(table.c.state == State.HELD.value, table.c.not_before <= now)
            .order_by(table.c.created_at, table.c.key)
        )
        return self._select(query)

    def messages(self, keys: Iterable[str] | None = None) -> list[OutboxMessage]:
        query = select(table).order_by(table.c.created_at, table.c.key)
        if keys is not None:
            query = query.where(table.c.key.in_(list(keys)))
        return self._select(query)

    def counts(self) -> Counter[str]:
        query = select(table.c.state, func.count()).group_by(table.c.state)
        with self.store.begin() as conn:
            return Counter({state: n for state, n in conn.execute(query)})

    def sent(self, message: OutboxMessage, at: datetime, state: State = State.SENT) -> None:
        with self.store.begin() as conn:
            mark_sent(conn, message.key, at, state)

    def failed(self, message: OutboxMessage, error: str, retry_at: datetime | None) -> None:
        with self.store.begin() as conn:
            mark_failed(conn, message, error, retry_at)

    def fold(self, digest: OutboxMessage, members: Sequence[OutboxMessage], at: datetime) -> None:
        """Replace held messages by their digest, in one transaction."""
        with self.store.begin() as conn:
            save(conn, OutboxChange(add=[digest]), at)
            for member in members:
                mark_sent(conn, member.key, at, State.DIGESTED)

    def _select(self, query: Any) -> list[OutboxMessage]:
        with self.store.begin() as conn:
            return [_message(row) for row in conn.execute(query)]
