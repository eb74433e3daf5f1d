"""The decision history in the store: written inside a cycle's commit, read by the CLI.

``save_history`` runs inside ``Store.commit_cycle``'s transaction and takes the events as
an iterable, in batches: the first full cycle of a large org records a change for nearly
every record, and holding them all at once would cost as much memory as the plan does.
The reading side (``history_of``, ``mirror_lookup``) never calls the org.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.engine import Connection

from syncd.engine.history import HistoryEvent, Kind
from syncd.store.batches import batches, chunks
from syncd.store.tables import history, mirror, mirror_written

if TYPE_CHECKING:  # the store imports this module to save a cycle's events
    from syncd.store.store import Store


def save_history(conn: Connection, events: Iterable[HistoryEvent]) -> int:
    """Insert the events, BATCH rows a statement; the number inserted."""
    count = 0
    for batch in batches(map(_row, events)):
        conn.execute(history.insert(), batch)
        count += len(batch)
    return count


def history_of(
    store: Store, record_id: str, *, since: datetime | None = None, with_deals: bool = True
) -> list[HistoryEvent]:
    """One record's events, oldest first; an account's include its deals' (``with_deals``)."""
    where = history.c.record_id == record_id
    if with_deals:
        where = or_(where, history.c.account_id == record_id)
    query = select(history).where(where).order_by(history.c.at, history.c.id)
    if since is not None:
        query = query.where(history.c.at >= since)
    with store.begin() as conn:
        return [_event(row._mapping) for row in conn.execute(query)]


def history_count(store: Store) -> int:
    with store.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(history)).scalar_one())


def prune_history(store: Store, before: datetime) -> int:
    """Delete the events older than ``before`` (retention); the number deleted."""
    with store.begin() as conn:
        if store.guard is not None:  # a daemon that lost its lock writes nothing
            store.guard(conn)
        result = conn.execute(delete(history).where(history.c.at < before))
        return int(result.rowcount or 0)


def mirror_lookup(store: Store, sobject: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Mirrored records by Id, as the last cycle read them (no API call)."""
    return _lookup(store, mirror, sobject, ids)


def written_lookup(store: Store, sobject: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What syncd's landed writes set on these records, where their echo is not read yet."""
    return _lookup(store, mirror_written, sobject, ids)


def current_lookup(store: Store, sobject: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The records as the org holds them now: the mirror with syncd's landed writes over it."""
    records = mirror_lookup(store, sobject, ids)
    for rid, values in written_lookup(store, sobject, records).items():
        records[rid] = {**records[rid], **values}
    return records


def _lookup(store: Store, table: Any, sobject: str, ids: Iterable[str]) -> dict[str, dict]:
    found: dict[str, dict[str, Any]] = {}
    with store.begin() as conn:
        for chunk in chunks(sorted(set(ids))):
            found.update(_rows(conn, table, sobject, chunk))
    return found


def _rows(conn: Connection, table: Any, sobject: str, ids: Sequence[str]) -> dict[str, dict]:
    query = select(table.c.id, table.c.data).where(table.c.sobject == sobject, table.c.id.in_(ids))
    return {rid: json.loads(data) for rid, data in conn.execute(query)}


# -- rows <-> events ---------------------------------------------------------------------


def _row(event: HistoryEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "run_id": event.run_id,
        "policy_version": event.policy_version,
        "sobject": event.sobject,
        "record_id": event.record_id,
        "account_id": event.account_id,
        "kind": event.kind.value,
        "actor_id": event.actor_id,
        "acted_at": event.acted_at,
        "codes": " ".join(event.codes) or None,
        "changes": _json({k: list(v) for k, v in event.changes.items()}),
        "data": _json(event.data),
    }


def _json(value: Mapping[str, Any]) -> str | None:
    return json.dumps(value, default=_plain, separators=(",", ":")) if value else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} does not belong in the history")


def _event(row: Any) -> HistoryEvent:
    changes = json.loads(row["changes"]) if row["changes"] else {}
    return HistoryEvent(
        sobject=row["sobject"],
        record_id=row["record_id"],
        kind=Kind(row["kind"]),
        at=_aware(row["at"]),
        run_id=row["run_id"],
        policy_version=row["policy_version"] or "",
        account_id=row["account_id"],
        changes={k: (v[0], v[1]) for k, v in changes.items()},
        codes=tuple((row["codes"] or "").split()),
        actor_id=row["actor_id"],
        acted_at=_aware(row["acted_at"]) if row["acted_at"] else None,
        data=json.loads(row["data"]) if row["data"] else {},
    )


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
