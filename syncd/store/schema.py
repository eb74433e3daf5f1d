"""Bring a state database to the newest schema revision, in place (Alembic).

Opening a store upgrades it: an empty database gets every revision, one written by
syncd 0.1.0 (which had no migrations) is stamped as revision 0001 first. On PostgreSQL a
transaction-scoped advisory lock keeps two processes from migrating at once.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST_RELEASE = "0001"  # syncd 0.1.0's schema
MIGRATION_LOCK = 0x5E4CD0  # advisory lock id for migrations (not the daemon's lock)


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, attempts: int = 5) -> None:
    """Apply every migration the database lacks (nothing when it is at the head).

    Two processes opening a new SQLite store at once (a daemon and `syncd violations`)
    may both start migrating; the second's statements then fail because the first
    created the tables. It looks again: the first one's migration is what it wanted.
    """
    for attempt in range(attempts):
        try:
            _upgrade(engine)
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def _upgrade(engine: Engine) -> None:
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        revision = current_revision(conn)
        if revision == head_revision():
            return
        config = _config(conn)
        if revision is None and inspect(conn).has_table("runs"):
            command.stamp(config, FIRST_RELEASE)
        command.upgrade(config, "head")
