"""Alembic migrations of the state database (applied by ``syncd.store.schema.upgrade``)."""
