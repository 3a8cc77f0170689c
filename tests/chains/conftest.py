"""Fixtures for the chains tests: fresh migrated databases (`db` on both backends, `sqlite_db`)."""

from __future__ import annotations

from tests.helpers.db import db, sqlite_db

__all__ = ["db", "sqlite_db"]
