"""The state store (SQLAlchemy Core; SQLite by default, PostgreSQL by URL) and its lock."""
