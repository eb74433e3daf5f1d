"""The state store: runs, the typed cycle state, the violation ledger, the mirror, resyncs.

SQLAlchemy Core, SQLite in the state directory by default, any SQLAlchemy URL by setting
(PostgreSQL with the ``syncd[postgres]`` extra). Opening a store upgrades its schema in
place (``syncd.store.schema``). A cycle's results are committed by ``commit_cycle`` in one
transaction; the other methods are short transactions of their own (the run start, the
mirror staging a full read streams into, the resync queue). Secrets never reach it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    Table,
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

from syncd.engine.enforcement import VIOLATION, LedgerEntry, LedgerNeeds
from syncd.errors import ConfigError
from syncd.notify import outbox
from syncd.store.batches import batches, chunks
from syncd.store.commit import CycleCommit, MirrorChange, RunFinish
from syncd.store.history import save_history
from syncd.store.links import clear_links, save_links
from syncd.store.schema import upgrade
from syncd.store.state import CycleState
from syncd.store.tables import (
    cycle_state,
    ledger,
    mirror,
    mirror_stage,
    mirror_written,
    resyncs,
    runs,
    scorecard_publications,
    watermarks,
)

STATE_ROW = 1

# Called inside the commit transaction before anything is written; raising aborts the
# commit (the daemon's lock check: a store whose lock was lost must not be written).
CommitGuard = Callable[[Connection], None]


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
    api_used: int | None = None
    api_max: int | None = None
    budget_hold: bool = False


def default_url(state_dir: Path) -> str:
    return f"sqlite:///{(state_dir / 'syncd.db').resolve()}"


def _aware(value: datetime | None) -> datetime | None:
    # SQLite drops the zone; everything syncd stores is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Store:
    """A thin writer around the tables."""

    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = _engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.guard: CommitGuard | None = None
        try:
            upgrade(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ConfigError(
                f"cannot open the state database {self.location}: {_why(exc)}"
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

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite store (None for other databases, or in memory)."""
        database = self.engine.url.database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database)

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
                    budget_hold=False,
                )
            )

    def finish_run(self, finish: RunFinish) -> None:
        """Record how a run ended outside a cycle commit (a failure, an interrupt)."""
        with self.begin() as conn:
            _finish_run(conn, finish)

    def recent_runs(self, limit: int = 10) -> list[RunRecord]:
        with self.begin() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit))
            return [
                RunRecord(
                    **{
                        **row._mapping,
                        "started_at": _aware(row.started_at),
                        "finished_at": _aware(row.finished_at),
                        "budget_hold": bool(row.budget_hold),
                    }
                )
                for row in rows
            ]

    # -- the typed cycle state ----------------------------------------------------------

    def cycle_state(self) -> CycleState:
        with self.begin() as conn:
            return _read_state(conn)

    def watermarks(self) -> dict[str, datetime]:
        return dict(self.cycle_state().watermarks)

    def bind_org(self, org_id: str) -> None:
        """Record which org this store belongs to (the first cycle against it)."""
        with self.begin() as conn:
            if conn.execute(select(cycle_state.c.id)).first() is None:
                conn.execute(insert(cycle_state).values(id=STATE_ROW, org_id=org_id))
            else:
                conn.execute(update(cycle_state).values(org_id=org_id))

    # -- violation ledger ---------------------------------------------------------------

    def ledger(
        self,
        *,
        open_only: bool = False,
        rep_id: str | None = None,
        partner_id: str | None = None,
        since: datetime | None = None,
        keys: Iterable[str] | None = None,
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
            if keys is None:
                return [_entry(row._mapping) for row in conn.execute(query)]
            wanted = sorted(set(keys))
            found: list[LedgerEntry] = []
            for chunk in chunks(wanted):
                found.extend(map(_entry, _mappings(conn, query.where(ledger.c.key.in_(chunk)))))
            return found

    def ledger_about(self, needs: LedgerNeeds, keys: Iterable[str]) -> list[LedgerEntry]:
        """What reconciling a scope reads (``LedgerNeeds``) and the entries keyed ``keys``,
        in ledger order, each once."""
        c = ledger.c
        found: dict[str, LedgerEntry] = {}
        with self.begin() as conn:
            for column, values in ((c.opportunity_id, needs.deals), (c.key, keys)):
                for chunk in chunks(sorted(set(values))):
                    query = select(ledger).where(column.in_(chunk))
                    found.update((e.key, e) for e in map(_entry, _mappings(conn, query)))
            for chunk in chunks(sorted(needs.reps)):
                found.update((e.key, e) for e in _top_notices(conn, chunk, needs))
        return sorted(found.values(), key=lambda e: (e.first_seen, e.key))

    # -- mirror -------------------------------------------------------------------------

    def replace_mirror(self, records: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """Replace the mirrored records of each given object (tests and tools seed with it)."""
        with self.begin() as conn:
            for sobject, rows in records.items():
                conn.execute(delete(mirror).where(mirror.c.sobject == sobject))
                _insert_rows(conn, mirror, sobject, rows)
            clear_links(conn)  # whose links these are, the next whole-org cycle says
            conn.execute(update(cycle_state).values(links_complete=False))

    def clear_mirror_stage(self) -> None:
        with self.begin() as conn:
            conn.execute(delete(mirror_stage))

    def stage_mirror(self, sobject: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Keep one page of a read aside until the cycle commits (or is abandoned)."""
        with self.begin() as conn:
            _insert_rows(conn, mirror_stage, sobject, records)

    def mirror_records(self, sobject: str) -> Iterator[dict[str, Any]]:
        with self.begin() as conn:
            rows = conn.execute(
                select(mirror.c.data).where(mirror.c.sobject == sobject).order_by(mirror.c.id)
            )
            for (data,) in rows:
                yield json.loads(data)

    def mirror_written(self, sobject: str) -> dict[str, dict[str, Any]]:
        """Record Id -> what syncd's landed writes set, where the echo is not read yet."""
        with self.begin() as conn:
            query = select(mirror_written.c.id, mirror_written.c.data).where(
                mirror_written.c.sobject == sobject
            )
            return {rid: json.loads(data) for rid, data in conn.execute(query)}

    def mirror_holds(self, sobjects: Iterable[str]) -> bool:
        """Whether any record of these objects is mirrored (without counting them)."""
        query = select(mirror.c.id).where(mirror.c.sobject.in_(list(sobjects))).limit(1)
        with self.begin() as conn:
            return conn.execute(query).first() is not None

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

    # -- scorecard publications -------------------------------------------------------

    def last_publication(self) -> date | None:
        """The last day scorecards were published into Salesforce (None: never)."""
        query = select(func.max(scorecard_publications.c.day))
        with self.begin() as conn:
            return _day(conn.execute(query).scalar())

    def record_publication(
        self, day: date, at: datetime, *, rows: int, failed: int, api_calls: int
    ) -> None:
        with self.begin() as conn:
            conn.execute(delete(scorecard_publications).where(scorecard_publications.c.day == day))
            conn.execute(
                insert(scorecard_publications).values(
                    day=day, published_at=at, rows=rows, failed=failed, api_calls=api_calls
                )
            )

    # -- the unit of work ---------------------------------------------------------------

    def commit_cycle(self, commit: CycleCommit) -> None:
        """Everything a cycle leaves behind, in ONE transaction (see syncd.store.commit)."""
        with self.begin() as conn:
            if self.guard is not None:
                self.guard(conn)
            save_history(conn, commit.history)
            if commit.ledger:
                _save_ledger(conn, commit.ledger)
            if commit.mirror is not None:
                _move_mirror(conn, commit.mirror)
            if commit.state is not None:
                _write_state(conn, _links_known(commit), commit.run.finished_at)
            if commit.resyncs_done:
                conn.execute(
                    update(resyncs)
                    .where(resyncs.c.id.in_(list(commit.resyncs_done)))
                    .values(done_at=commit.run.finished_at)
                )
            if commit.outbox:
                outbox.save(conn, commit.outbox, commit.run.finished_at)
            _finish_run(conn, commit.run)


# -- statements -------------------------------------------------------------------------


def _finish_run(conn: Connection, finish: RunFinish) -> None:
    values = {f.name: getattr(finish, f.name) for f in fields(finish) if f.name != "run_id"}
    conn.execute(update(runs).where(runs.c.run_id == finish.run_id).values(**values))


def _links_known(commit: CycleCommit) -> CycleState:
    """The state to write, saying whether the links table now holds every record's."""
    assert commit.state is not None
    links = commit.mirror.links if commit.mirror is not None else None
    if commit.mirror is None:  # the mirror did not move: nor did its links
        return commit.state
    complete = links is not None and (links.complete or commit.state.links_complete)
    return replace(commit.state, links_complete=complete)


def _read_state(conn: Connection) -> CycleState:
    marks = {
        row.sobject: _aware(row.value)
        for row in conn.execute(select(watermarks.c.sobject, watermarks.c.value))
    }
    row = conn.execute(select(cycle_state).where(cycle_state.c.id == STATE_ROW)).first()
    if row is None:
        return CycleState(watermarks=MappingProxyType(marks))  # type: ignore[arg-type]
    return CycleState(
        org_id=row.org_id,
        watermarks=MappingProxyType(marks),  # type: ignore[arg-type]
        rules_fingerprint=row.rules_fingerprint,
        policy_fingerprint=row.policy_fingerprint,
        mapping_fingerprint=row.mapping_fingerprint,
        named_accounts=frozenset(json.loads(row.named_accounts or "[]")),
        evaluated_on=_day(row.evaluated_on),
        retry_ids=frozenset(json.loads(row.retry_ids or "[]")),
        state_run=row.state_run,
        links_complete=bool(row.links_complete),
    )


def _write_state(conn: Connection, state: CycleState, at: datetime) -> None:
    values = {
        "org_id": state.org_id,
        "rules_fingerprint": state.rules_fingerprint,
        "policy_fingerprint": state.policy_fingerprint,
        "mapping_fingerprint": state.mapping_fingerprint,
        "named_accounts": json.dumps(sorted(state.named_accounts)),
        "evaluated_on": state.evaluated_on,
        "retry_ids": json.dumps(sorted(state.retry_ids)),
        "state_run": state.state_run,
        "links_complete": state.links_complete,
        "updated_at": at,
    }
    conn.execute(delete(cycle_state))
    conn.execute(insert(cycle_state).values(id=STATE_ROW, **values))
    conn.execute(delete(watermarks))
    if state.watermarks:
        conn.execute(
            insert(watermarks),
            [{"sobject": s, "value": v, "updated_at": at} for s, v in state.watermarks.items()],
        )


def _save_ledger(conn: Connection, entries: Sequence[LedgerEntry]) -> None:
    """Insert or replace entries by key: set-based, a delete and an insert per batch."""
    rows = {e.key: _row(e) for e in entries}  # the last word on a key wins
    for chunk in chunks(list(rows)):
        conn.execute(delete(ledger).where(ledger.c.key.in_(chunk)))
        conn.execute(insert(ledger), [rows[k] for k in chunk])


def _move_mirror(conn: Connection, change: MirrorChange) -> None:
    if change.links is None:
        clear_links(conn)
    else:
        save_links(conn, change.links)
    if change.promote:
        names = list(change.promote)
        conn.execute(delete(mirror).where(mirror.c.sobject.in_(names)))
        conn.execute(delete(mirror_written).where(mirror_written.c.sobject.in_(names)))
        _copy_stage(conn, mirror_stage.c.sobject.in_(names))
    if change.merge_stage:
        staged = select(mirror_stage.c.sobject, mirror_stage.c.id)
        for table in (mirror, mirror_written):
            conn.execute(delete(table).where(tuple_(table.c.sobject, table.c.id).in_(staged)))
        _copy_stage(conn, None)
    for sobject, ids in change.deletes.items():
        for table in (mirror, mirror_written):
            _delete_ids(conn, table, sobject, list(ids))
    for sobject, records in change.upserts.items():
        rows = list(records)
        _delete_ids(conn, mirror, sobject, [r["Id"] for r in rows])
        _insert_rows(conn, mirror, sobject, rows)
    for sobject, written in change.written.items():
        _save_written(conn, sobject, written)
    conn.execute(delete(mirror_stage))


def _save_written(
    conn: Connection, sobject: str, pairs: Iterable[tuple[str, Mapping[str, Any]]]
) -> None:
    """Replace the overlay rows of the records syncd wrote, BATCH at a time: the values
    are made as they are saved (a first full cycle writes a million), never held at once."""
    for batch in batches(pairs):
        _replace_written(conn, sobject, batch)


def _replace_written(
    conn: Connection, sobject: str, batch: list[tuple[str, Mapping[str, Any]]]
) -> None:
    ids = [rid for rid, _ in batch]
    where = (mirror_written.c.sobject == sobject, mirror_written.c.id.in_(ids))
    conn.execute(delete(mirror_written).where(*where))
    rows = [
        {"sobject": sobject, "id": rid, "data": json.dumps({"Id": rid, **values})}
        for rid, values in batch
    ]
    conn.execute(insert(mirror_written), rows)


def _copy_stage(conn: Connection, where: Any) -> None:
    columns = [mirror_stage.c.sobject, mirror_stage.c.id, mirror_stage.c.data]
    query = select(*columns) if where is None else select(*columns).where(where)
    conn.execute(insert(mirror).from_select(["sobject", "id", "data"], query))


def _insert_rows(
    conn: Connection, table: Table, sobject: str, records: Iterable[Mapping[str, Any]]
) -> None:
    rows = ({"sobject": sobject, "id": r["Id"], "data": json.dumps(r)} for r in records)
    for batch in batches(rows):
        conn.execute(insert(table), batch)


def _delete_ids(conn: Connection, table: Table, sobject: str, ids: list[str]) -> None:
    for chunk in chunks(ids):
        conn.execute(delete(table).where(table.c.sobject == sobject, table.c.id.in_(chunk)))


def _top_notices(
    conn: Connection, reps: Sequence[str], needs: LedgerNeeds
) -> Iterator[LedgerEntry]:
    """Per rep, one notice of the highest level delivered in the window (all the
    escalation ladder reads of a rep's other deals; see ``LedgerNeeds``)."""
    c = ledger.c
    rank = func.row_number().over(partition_by=c.rep_id, order_by=(c.level.desc(), c.key))
    notices = (
        select(c.key, rank.label("rank"))
        .where(c.rep_id.in_(reps), c.kind == VIOLATION, c.first_seen >= needs.since)
        .where(c.task_opened_at.is_not(None), c.task_opened_at < needs.until)
        .subquery()
    )
    top = select(notices.c.key).where(notices.c.rank == 1)
    return map(_entry, _mappings(conn, select(ledger).where(c.key.in_(top))))


def _mappings(conn: Connection, query: Any) -> Iterator[Any]:
    return (row._mapping for row in conn.execute(query))


def _row(entry: LedgerEntry) -> dict[str, Any]:
    return {f.name: getattr(entry, f.name) for f in fields(entry)}


def _entry(row: Any) -> LedgerEntry:
    values = dict(row)
    for name in ("first_seen", "last_seen", "resolved_at", "task_opened_at"):
        values[name] = _aware(values[name])
    values["due"] = _day(values["due"])
    values["task_closed"] = bool(values["task_closed"])
    return LedgerEntry(**values)


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):  # SQLite hands back what a raw SQL migration wrote
        return date.fromisoformat(value[:10])
    return value if isinstance(value, date) else None


def _engine(url: str) -> Engine:
    """An engine for ``url``; the URL itself is never echoed (it may hold a password)."""
    try:
        return create_engine(url)
    except ImportError as exc:
        raise ConfigError(
            f"database_url needs a driver that is not installed ({exc.name or exc}); for "
            "PostgreSQL install syncd with its extra: pip install 'syncd[postgres]'"
        ) from None
    except (SQLAlchemyError, ValueError):
        raise ConfigError(
            "database_url is not a usable SQLAlchemy URL (expected e.g. "
            "sqlite:////var/lib/syncd/syncd.db or postgresql+psycopg://syncd@db/syncd)"
        ) from None


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets `syncd violations`-style readers look while a cycle writes.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # The sqlite3 module opens a transaction only before INSERT/UPDATE/DELETE, so a
    # migration's CREATE TABLE would run outside one: syncd begins every transaction
    # itself (``_sqlite_begin``), which makes DDL transactional too.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    # A migration takes the write lock up front (another process migrating waits for it).
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())
