"""Fresh, migrated test databases for any test area.

    async with sqlite_database(tmp_path) as db: ...        # always available
    async with postgres_database() as db: ...              # needs TARSY_TEST_POSTGRES_URL
    async with fresh_database("postgres", tmp_path) as db: # either, by name

Fixtures `db` (both backends) and `sqlite_db`: re-export them from an area's conftest.

PostgreSQL isolation: every call creates its own database `tarsy_t_<random>` on the server
named by TARSY_TEST_POSTGRES_URL and drops it afterwards, so tests can run in parallel with
other modules using the same server. Use `require_postgres()` to skip with a clear reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.engine import Database
from storage.migrate import upgrade_async

POSTGRES_ENV = "TARSY_TEST_POSTGRES_URL"
SKIP_REASON = (
    f"{POSTGRES_ENV} is not set; set it to a server where this user may CREATE DATABASE, "
    "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def require_postgres() -> str:
    """The PostgreSQL test URL, or skip the calling test with the reason."""
    url = postgres_url()
    if not url:
        pytest.skip(SKIP_REASON)
    return url


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def _opened(url: str, *, migrate: bool) -> AsyncIterator[Database]:
    """A `Database` on `url`, migrated to head unless told not to; closed afterwards."""
    db = Database(url)
    try:
        if migrate:
            await upgrade_async(db)
        yield db
    finally:
        await db.close()


@asynccontextmanager
async def postgres_database_url() -> AsyncIterator[str]:
    """Create an empty database on the test server; yields its SQLAlchemy URL; drops it."""
    import asyncpg

    base = require_postgres()
    name = f"tarsy_t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_asyncpg_dsn(base), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def postgres_database(*, migrate: bool = True) -> AsyncIterator[Database]:
    async with postgres_database_url() as url, _opened(url, migrate=migrate) as db:
        yield db


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{Path(directory) / f'tarsy-{uuid.uuid4().hex[:8]}.db'}"


@asynccontextmanager
async def sqlite_database(directory: Path, *, migrate: bool = True) -> AsyncIterator[Database]:
    async with _opened(sqlite_url(directory), migrate=migrate) as db:
        yield db


@asynccontextmanager
async def fresh_database(kind: str, directory: Path, *, migrate: bool = True):
    """`kind` is "sqlite" or "postgres"."""
    if kind == "sqlite":
        async with sqlite_database(directory, migrate=migrate) as db:
            yield db
    elif kind == "postgres":
        async with postgres_database(migrate=migrate) as db:
            yield db
    else:
        raise ValueError(f"unknown database kind {kind!r}: use 'sqlite' or 'postgres'")


# ---- pytest fixtures: re-export from a conftest (`from tests.helpers.db import db, sqlite_db`)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
async def db(request, tmp_path):
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    async with fresh_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
async def sqlite_db(tmp_path):
    async with fresh_database("sqlite", tmp_path) as database:
        yield database
