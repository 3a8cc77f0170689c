"""Async engine and session factory for SQLite (default) and PostgreSQL.

SQLite notes: the driver's own implicit BEGIN is disabled and SQLAlchemy emits BEGIN itself, so
write transactions can use `BEGIN IMMEDIATE` (`Database.write()`). That takes the write lock up
front, where `busy_timeout` applies, instead of failing with SQLITE_BUSY when a read transaction
later tries to upgrade to a write.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tarsy.db"
_SQLITE_BEGIN_OPTION = "tarsy_sqlite_begin"


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why and what to use instead."""


def database_url_from_env(explicit: str | None = None) -> str:
    """`explicit`, else `DATABASE_URL`, else the SQLite default."""
    return explicit or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def normalize_url(url: str | URL) -> URL:
    """Pick the async driver for plain `sqlite://` / `postgresql://` / `postgres://` URLs."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception as e:  # noqa: BLE001 - sqlalchemy raises ArgumentError with a terse text
        raise DatabaseUrlError(
            f"cannot parse database URL {redact_url(str(url))!r}: {e}. Expected e.g. "
            f"{DEFAULT_DATABASE_URL!r} or 'postgresql+asyncpg://user:pass@host:5432/tarsy'"
        ) from e
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name()
    if backend == "sqlite":
        if driver not in ("aiosqlite", "pysqlite"):
            raise DatabaseUrlError(f"unsupported SQLite driver {driver!r}: use sqlite+aiosqlite://")
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        if driver not in ("asyncpg", "psycopg2", "psycopg"):
            raise DatabaseUrlError(
                f"unsupported PostgreSQL driver {driver!r}: use postgresql+asyncpg://"
            )
        return parsed.set(drivername="postgresql+asyncpg")
    raise DatabaseUrlError(
        f"unsupported database {backend!r} in {redact_url(str(url))!r}: TARSy supports SQLite "
        f"(sqlite+aiosqlite:///path/tarsy.db) and PostgreSQL (postgresql+asyncpg://...)"
    )


def redact_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<unparseable url>"


def create_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """An `AsyncEngine` tuned for TARSy (WAL + busy timeout on SQLite, a sane pool on PG)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo)
    return _create_async_engine(
        parsed,
        echo=echo,
        pool_size=10,
        max_overflow=10,
        pool_timeout=30,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"timeout": 10, "command_timeout": 60},
    )


def _sqlite_engine(url: URL, echo: bool) -> AsyncEngine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict = {"echo": echo}
    if in_memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(pool_size=5, max_overflow=15, pool_timeout=60)
    engine = _create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        mode = conn.get_execution_options().get(_SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """Engine + session factories. `session()` for reads, `write()` for write transactions."""

    def __init__(self, url: str | URL | None = None, *, echo: bool = False) -> None:
        self.url = normalize_url(database_url_from_env(url) if not isinstance(url, URL) else url)
        self.engine = create_engine(self.url, echo=echo)
        self.dialect: str = self.engine.dialect.name  # "sqlite" | "postgresql"
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.write_engine = (
            self.engine.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            if self.dialect == "sqlite"
            else self.engine
        )
        """Same pool as `engine`; on SQLite its transactions start with `BEGIN IMMEDIATE`."""
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def session(self) -> AsyncSession:
        """A plain session (`async with db.session() as s:`); commit yourself if you write."""
        return self._sessions()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: commits on success, rolls back on error.

        On SQLite it starts with `BEGIN IMMEDIATE`, serialising writers across processes.
        Keep it short: never hold it across an LLM, MCP or Slack call.
        """
        async with self._write_sessions() as s, s.begin():
            yield s

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work (a consistent snapshot for its duration)."""
        async with self._sessions() as s, s.begin():
            yield s

    def describe(self) -> str:
        """The URL with the password hidden, for logs and error messages."""
        return self.url.render_as_string(hide_password=True)

    async def close(self) -> None:
        await self.engine.dispose()
