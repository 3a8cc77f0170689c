"""Apply the Alembic migrations shipped inside the package (works from a wheel and any cwd).

`upgrade_async(db)` runs inside an event loop (on a connection via `run_sync`); `upgrade(url)`
is the synchronous wrapper for use before a loop starts (it calls `asyncio.run`).
On PostgreSQL concurrent upgrades from several replicas are serialised with an advisory lock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage import pglocks
from storage.engine import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade_on(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _current_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_async(db: Database, revision: str = "head") -> str | None:
    """Migrate `db` to `revision` in one transaction; returns the revision reached."""
    async with db.write_engine.begin() as conn:
        if db.is_postgres:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                {"ns": pglocks.NAMESPACE, "key": pglocks.MIGRATIONS},
            )
        await conn.run_sync(_upgrade_on, revision)
    return await current_revision(db)


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current_on)


def upgrade(url: str | None = None, revision: str = "head") -> str | None:
    """Synchronous upgrade (do not call from inside a running event loop)."""

    async def _run() -> str | None:
        db = Database(url)
        try:
            return await upgrade_async(db, revision)
        finally:
            await db.close()

    return asyncio.run(_run())
