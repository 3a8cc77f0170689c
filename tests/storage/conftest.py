"""`db`: a fresh migrated database, once on SQLite and once on PostgreSQL (skipped when
TARSY_TEST_POSTGRES_URL is unset). `sqlite_db` for SQLite-only tests."""

from __future__ import annotations

from tests.helpers.db import db, sqlite_db

__all__ = ["db", "sqlite_db"]
