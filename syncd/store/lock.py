"""One active `syncd run` per state store.

SQLite: an exclusive ``flock`` on a file beside the database (released by the kernel if
the process dies). PostgreSQL: a session advisory lock held on a dedicated connection.
"""

from __future__ import annotations

import fcntl
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from syncd.errors import SyncdError
from syncd.store.store import Store

LOCK_KEY = zlib.crc32(b"syncd-daemon")  # advisory lock id, stable across versions


class AlreadyRunning(SyncdError):
    """Another syncd daemon holds the lock on this state store."""


class InstanceLock:
    def __init__(self, store: Store, state_dir: Path):
        self.store = store
        self.path = state_dir / "syncd.lock"
        self._file: IO[str] | None = None
        self._conn: Any = None

    def acquire(self) -> None:
        if not self.try_acquire():
            raise AlreadyRunning(
                f"another `syncd run` is active on {self.store.location} (lock: "
                f"{self._where()}); stop it first, or start this one with --standby to "
                "take over when it stops"
            )

    def wait(self, should_stop: Callable[[], bool], poll_seconds: float = 2.0) -> bool:
        """Block until the lock is ours (True) or ``should_stop`` says give up (False)."""
        while not self.try_acquire():
            if should_stop():
                return False
            time.sleep(poll_seconds)
        return True

    def try_acquire(self) -> bool:
        if self.store.engine.dialect.name == "postgresql":
            return self._try_advisory()
        return self._try_flock()

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._conn.close()
            self._conn = None

    def _where(self) -> str:
        if self.store.engine.dialect.name == "postgresql":
            return f"PostgreSQL advisory lock {LOCK_KEY}"
        return str(self.path)

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
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True
