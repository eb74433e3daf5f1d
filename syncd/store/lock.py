"""One cycle at a time per state store: `syncd run`, `syncd sync` and `resync --now` alike.

SQLite: an exclusive ``flock`` on a file beside the database file (the kernel releases it
when the process dies). PostgreSQL: a session advisory lock held on a dedicated
connection. That connection can die (a terminated backend, a server restart) and with it
the lock, while the holder runs on; so the holder checks before each cycle
(``verify``: re-acquire if the lock is free, step down if another syncd took it) and
inside every commit (``guard``: the commit aborts unless the lock is still held).
"""

from __future__ import annotations

import fcntl
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from syncd.errors import FatalSyncError, SyncdError
from syncd.store.store import Store

log = structlog.get_logger("syncd.lock")
LOCK_KEY = zlib.crc32(b"syncd-daemon")  # advisory lock id, stable across versions
_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 "
    "AND objid = :k AND objsubid = 1 AND pid = :pid AND granted"
)


class AlreadyRunning(SyncdError):
    """Another syncd (a daemon or a one-off cycle) holds the lock on this state store."""


class LockLost(FatalSyncError):
    """The store's lock was lost and another syncd holds it now: stop writing."""


class InstanceLock:
    def __init__(self, store: Store, fallback_dir: Path | None = None):
        self.store = store
        db_file = store.sqlite_path
        self.path = (
            db_file.with_name(db_file.name + ".lock")
            if db_file is not None
            else (fallback_dir or Path(".")) / "syncd.lock"
        )
        self._file: IO[str] | None = None
        self._conn: Connection | None = None
        self._pid: int | None = None

    @property
    def postgres(self) -> bool:
        return self.store.dialect == "postgresql"

    def acquire(self) -> None:
        if not self.try_acquire():
            raise AlreadyRunning(
                f"another syncd is working on {self.store.location} (lock: {self.where}): "
                "a `syncd run` daemon or a one-off `syncd sync`. Stop it first, or start "
                "this daemon with --standby to take over when it stops"
            )

    @contextmanager
    def held(self) -> Iterator[None]:
        """The lock for the duration of a block (a one-off cycle)."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def wait(self, should_stop: Callable[[], bool], poll_seconds: float = 2.0) -> bool:
        """Block until the lock is ours (True) or ``should_stop`` says give up (False)."""
        while not self.try_acquire():
            if should_stop():
                return False
            time.sleep(poll_seconds)
        return True

    def try_acquire(self) -> bool:
        acquired = self._try_advisory() if self.postgres else self._try_flock()
        if acquired:
            self.store.guard = self.guard
        return acquired

    def release(self) -> None:
        self.store.guard = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            with suppress(SQLAlchemyError):  # a dead connection took the lock along
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._drop_connection()

    @property
    def where(self) -> str:
        return f"PostgreSQL advisory lock {LOCK_KEY}" if self.postgres else str(self.path)

    # -- holding on -------------------------------------------------------------------

    def verify(self) -> None:
        """Before a cycle: still ours? Re-acquire a lost but free lock; else LockLost."""
        if not self.postgres or self._still_held():
            return
        log.warning("lock.lost", lock=self.where)
        self._drop_connection()
        if not self._try_advisory():
            raise LockLost(
                f"the lock on {self.store.location} ({self.where}) was lost and another "
                "syncd holds it now; this one stops writing and steps down"
            )
        log.info("lock.reacquired", lock=self.where)

    def guard(self, conn: Connection) -> None:
        """Inside a commit: abort unless the lock is still held by our lock connection."""
        if not self.postgres:
            return
        held = conn.execute(_HELD, {"k": LOCK_KEY, "pid": self._pid}).scalar()
        if not held:
            raise LockLost(
                f"the lock on {self.store.location} ({self.where}) was lost during the cycle; "
                "nothing of it was committed"
            )

    def _still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            held = bool(self._conn.execute(_HELD, {"k": LOCK_KEY, "pid": self._pid}).scalar())
            self._conn.commit()
        except SQLAlchemyError:
            return False
        return held

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with suppress(SQLAlchemyError):
                self._conn.close()
        self._conn = self._pid = None

    # -- the two kinds ------------------------------------------------------------------

    def _try_flock(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _try_advisory(self) -> bool:
        conn = self.store.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.commit()  # end the implicit transaction; the session lock stays
        except SQLAlchemyError:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn, self._pid = conn, int(pid or 0)
        return True
