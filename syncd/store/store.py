"""The state store: run history, watermarks, the violation ledger, the mirror, small facts.

SQLAlchemy Core, SQLite in the state directory by default, any SQLAlchemy URL by setting.
Secrets never reach it: nothing here stores credentials or tokens. The mirror keeps the
rule-relevant fields of each record as last read (only fields the mapping names), so
``syncd explain --offline`` can answer without the org.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from syncd.engine.enforcement import LedgerEntry
from syncd.errors import ConfigError

MIRROR_BATCH = 5000

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("mode", String(20), nullable=False),  # full / incremental / dry-run
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(20), nullable=False),  # running / success / partial / failed / ...
    Column("records_read", Integer, nullable=False, default=0),
    Column("records_written", Integer, nullable=False, default=0),
    Column("write_failures", Integer, nullable=False, default=0),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("policy_version", String(80)),
    Column("error", Text),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("sobject", String(80), primary_key=True),
    Column("value", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ledger = Table(
    "ledger",
    metadata,
    Column("key", String(80), primary_key=True),  # = Task.RoE_Key__c
    Column("kind", String(20), nullable=False),  # violation / review
    Column("opportunity_id", String(18), nullable=False, index=True),
    Column("code", String(80), nullable=False),
    Column("occurrence", Integer, nullable=False),
    Column("rep_id", String(18), index=True),
    Column("partner_id", String(18)),
    Column("level", Integer, nullable=False),
    Column("owner_id", String(18)),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("task_id", String(18)),
    Column("description", Text, nullable=False, default=""),
)

mirror = Table(
    "mirror",
    metadata,
    Column("sobject", String(80), primary_key=True),
    Column("id", String(18), primary_key=True),
    Column("data", Text, nullable=False),  # JSON of the record's mapped fields
)

# A full cycle streams the org here page by page; it replaces the mirror only once the
# cycle's writes are done, so a cycle that dies half way leaves the old mirror intact.
mirror_stage = Table(
    "mirror_stage",
    metadata,
    Column("sobject", String(80), primary_key=True),
    Column("id", String(18), primary_key=True),
    Column("data", Text, nullable=False),
)

resyncs = Table(
    "resync_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(20), nullable=False),  # full / account / opportunity
    Column("record_id", String(18)),
    Column("source", String(20), nullable=False),  # cli / http / salesforce
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
)

facts = Table(
    "facts",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True, slots=True)
class ResyncRequest:
    id: int
    scope: str
    record_id: str | None
    source: str
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    mode: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    records_read: int
    records_written: int
    write_failures: int
    api_calls: int
    policy_version: str | None
    error: str | None


def default_url(state_dir: Path) -> str:
    return f"sqlite:///{(state_dir / 'syncd.db').resolve()}"


def _aware(value: datetime | None) -> datetime | None:
    # SQLite drops the zone; everything syncd stores is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Store:
    """A thin writer around the tables; every method is one short transaction."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (SQLAlchemyError, ValueError) as exc:
            raise ConfigError(f"database_url is not a usable SQLAlchemy URL: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ConfigError(
                f"cannot open the state database {self.location}: {type(exc).__name__}: "
                f"{getattr(exc, 'orig', exc)}"
            ) from None

    @classmethod
    def open(cls, url: str | None, state_dir: Path) -> Store:
        if url is None:
            state_dir.mkdir(parents=True, exist_ok=True)
            url = default_url(state_dir)
        return cls(url)

    @classmethod
    def open_existing(cls, url: str | None, state_dir: Path) -> Store:
        """For commands that only read: no state yet is an error, not an empty database."""
        if url is None:
            path = state_dir / "syncd.db"
            if not path.is_file():
                raise ConfigError(
                    f"no state database at {path}: run a cycle first (`syncd sync`), or point "
                    "SYNCD_STATE_DIR (or database_url) at the state of a running syncd"
                )
            url = default_url(state_dir)
        return cls(url)

    @property
    def location(self) -> str:
        """Where the state lives, for people (the URL without any password)."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- runs -------------------------------------------------------------------------

    def start_run(self, run_id: str, mode: str, started_at: datetime, policy_version: str) -> None:
        with self.begin() as conn:
            conn.execute(
                insert(runs).values(
                    run_id=run_id,
                    mode=mode,
                    started_at=started_at,
                    outcome="running",
                    records_read=0,
                    records_written=0,
                    write_failures=0,
                    api_calls=0,
                    policy_version=policy_version,
                )
            )

    def finish_run(
        self, run_id: str, *, outcome: str, finished_at: datetime, **counts: Any
    ) -> None:
        allowed = {"records_read", "records_written", "write_failures", "api_calls", "error"}
        unknown = set(counts) - allowed
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        with self.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(outcome=outcome, finished_at=finished_at, **counts)
            )

    def recent_runs(self, limit: int = 10) -> list[RunRecord]:
        with self.begin() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit))
            return [
                RunRecord(
                    **{
                        **row._mapping,
                        "started_at": _aware(row.started_at),
                        "finished_at": _aware(row.finished_at),
                    }
                )
                for row in rows
            ]

    # -- watermarks ---------------------------------------------------------------------

    def watermarks(self) -> dict[str, datetime]:
        with self.begin() as conn:
            rows = conn.execute(select(watermarks.c.sobject, watermarks.c.value))
            return {row.sobject: _aware(row.value) for row in rows}  # type: ignore[misc]

    def set_watermarks(self, values: Mapping[str, datetime], at: datetime) -> None:
        """Move watermarks forward only; called after the cycle's writes are committed."""
        current = self.watermarks()
        with self.begin() as conn:
            for sobject, value in values.items():
                before = current.get(sobject)
                if before is None:
                    conn.execute(
                        insert(watermarks).values(sobject=sobject, value=value, updated_at=at)
                    )
                elif value > before:
                    conn.execute(
                        update(watermarks)
                        .where(watermarks.c.sobject == sobject)
                        .values(value=value, updated_at=at)
                    )

    # -- violation ledger ---------------------------------------------------------------

    def ledger(
        self,
        *,
        open_only: bool = False,
        rep_id: str | None = None,
        partner_id: str | None = None,
        since: datetime | None = None,
    ) -> list[LedgerEntry]:
        query = select(ledger).order_by(ledger.c.first_seen, ledger.c.key)
        if open_only:
            query = query.where(ledger.c.resolved_at.is_(None))
        if rep_id:
            query = query.where(ledger.c.rep_id == rep_id)
        if partner_id:
            query = query.where(ledger.c.partner_id == partner_id)
        if since:
            query = query.where(ledger.c.first_seen >= since)
        with self.begin() as conn:
            return [_entry(dict(row._mapping)) for row in conn.execute(query)]

    def save_ledger(self, entries: Iterable[LedgerEntry]) -> None:
        """Insert or replace entries by key, in one transaction."""
        rows = [_row(e) for e in entries]
        if not rows:
            return
        with self.begin() as conn:
            existing = set(
                conn.execute(
                    select(ledger.c.key).where(ledger.c.key.in_([r["key"] for r in rows]))
                ).scalars()
            )
            for row in rows:
                if row["key"] in existing:
                    conn.execute(update(ledger).where(ledger.c.key == row["key"]).values(**row))
                else:
                    conn.execute(insert(ledger).values(**row))

    # -- mirror -------------------------------------------------------------------------

    def replace_mirror(self, records: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """Replace the mirrored records of each given object, in one transaction."""
        with self.begin() as conn:
            for sobject, rows in records.items():
                conn.execute(delete(mirror).where(mirror.c.sobject == sobject))
                _insert_rows(conn, mirror, sobject, rows)

    def clear_mirror_stage(self) -> None:
        with self.begin() as conn:
            conn.execute(delete(mirror_stage))

    def stage_mirror(self, sobject: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Keep one page of a full read aside until ``promote_mirror``."""
        with self.begin() as conn:
            _insert_rows(conn, mirror_stage, sobject, records)

    def promote_mirror(self, sobjects: Iterable[str]) -> None:
        """The staged records become the mirror of these objects (one transaction)."""
        names = list(sobjects)
        with self.begin() as conn:
            conn.execute(delete(mirror).where(mirror.c.sobject.in_(names)))
            columns = [mirror_stage.c.sobject, mirror_stage.c.id, mirror_stage.c.data]
            conn.execute(
                insert(mirror).from_select(
                    ["sobject", "id", "data"],
                    select(*columns).where(mirror_stage.c.sobject.in_(names)),
                )
            )
            conn.execute(delete(mirror_stage))

    def merge_mirror_stage(self) -> None:
        """Staged records replace their mirrored versions or join them (one transaction)."""
        staged = select(mirror_stage.c.sobject, mirror_stage.c.id)
        with self.begin() as conn:
            conn.execute(delete(mirror).where(tuple_(mirror.c.sobject, mirror.c.id).in_(staged)))
            columns = [mirror_stage.c.sobject, mirror_stage.c.id, mirror_stage.c.data]
            conn.execute(insert(mirror).from_select(["sobject", "id", "data"], select(*columns)))
            conn.execute(delete(mirror_stage))

    def update_mirror(
        self,
        upserts: Mapping[str, Iterable[Mapping[str, Any]]],
        deletes: Mapping[str, Iterable[str]],
    ) -> None:
        """Replace or add some records and drop others, in one transaction."""
        with self.begin() as conn:
            for sobject, ids in deletes.items():
                _delete_ids(conn, sobject, list(ids))
            for sobject, rows in upserts.items():
                records = list(rows)
                _delete_ids(conn, sobject, [r["Id"] for r in records])
                _insert_rows(conn, mirror, sobject, records)

    def mirror_records(self, sobject: str) -> Iterator[dict[str, Any]]:
        with self.begin() as conn:
            rows = conn.execute(
                select(mirror.c.data).where(mirror.c.sobject == sobject).order_by(mirror.c.id)
            )
            for (data,) in rows:
                yield json.loads(data)

    def mirror_counts(self) -> dict[str, int]:
        """Records mirrored per object (how big the org was at the last cycle)."""
        query = select(mirror.c.sobject, func.count()).group_by(mirror.c.sobject)
        with self.begin() as conn:
            return {sobject: count for sobject, count in conn.execute(query)}

    # -- resync queue -------------------------------------------------------------------

    def queue_resync(
        self, scope: str, record_ids: Iterable[str], *, source: str, at: datetime
    ) -> int:
        """Queue a resync (the running daemon picks it up at its next tick)."""
        targets: list[str | None] = list(record_ids) or [None]  # None: the whole org
        rows = [
            {"scope": scope, "record_id": rid, "source": source, "requested_at": at}
            for rid in targets
        ]
        with self.begin() as conn:
            conn.execute(insert(resyncs), rows)
        return len(rows)

    def pending_resyncs(self) -> list[ResyncRequest]:
        query = select(resyncs).where(resyncs.c.done_at.is_(None)).order_by(resyncs.c.id)
        with self.begin() as conn:
            return [
                ResyncRequest(
                    id=row.id,
                    scope=row.scope,
                    record_id=row.record_id,
                    source=row.source,
                    requested_at=_aware(row.requested_at),  # type: ignore[arg-type]
                )
                for row in conn.execute(query)
            ]

    def complete_resyncs(self, ids: Iterable[int], at: datetime) -> None:
        wanted = list(ids)
        if wanted:
            with self.begin() as conn:
                conn.execute(update(resyncs).where(resyncs.c.id.in_(wanted)).values(done_at=at))

    # -- facts --------------------------------------------------------------------------

    def get_fact(self, key: str) -> str | None:
        with self.begin() as conn:
            return conn.execute(select(facts.c.value).where(facts.c.key == key)).scalar()

    def set_fact(self, key: str, value: str) -> None:
        with self.begin() as conn:
            done = conn.execute(update(facts).where(facts.c.key == key).values(value=value))
            if done.rowcount == 0:
                conn.execute(insert(facts).values(key=key, value=value))


def _insert_rows(
    conn: Connection, table: Table, sobject: str, records: Iterable[Mapping[str, Any]]
) -> None:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append({"sobject": sobject, "id": record["Id"], "data": json.dumps(record)})
        if len(batch) >= MIRROR_BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


def _delete_ids(conn: Connection, sobject: str, ids: list[str]) -> None:
    for start in range(0, len(ids), MIRROR_BATCH):
        chunk = ids[start : start + MIRROR_BATCH]
        conn.execute(delete(mirror).where(mirror.c.sobject == sobject, mirror.c.id.in_(chunk)))


def _row(entry: LedgerEntry) -> dict[str, Any]:
    return {f: getattr(entry, f) for f in LedgerEntry.__dataclass_fields__}


def _entry(row: Mapping[str, Any]) -> LedgerEntry:
    values = dict(row)
    for name in ("first_seen", "last_seen", "resolved_at"):
        values[name] = _aware(values[name])
    return LedgerEntry(**values)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets `syncd status`-style readers look while a cycle writes.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
