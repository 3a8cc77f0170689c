"""Migrations produce exactly the models' schema, on both backends; `tarsy db upgrade` works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.migrate import current_revision, head_revision, upgrade_async
from storage.models import Base

REPO = Path(__file__).resolve().parents[2]


def tarsy_db(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`tarsy db ARGS...` as a subprocess in `cwd`, with `env` on top of this environment."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", *args],
        cwd=cwd,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _diff(connection) -> list:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(ctx, Base.metadata)


async def test_migrations_match_models(db):
    async with db.engine.connect() as conn:
        diffs = await conn.run_sync(_diff)
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert diffs == [], f"migrations and models differ on {db.dialect}: {diffs}"
    assert set(Base.metadata.tables) <= tables
    assert await current_revision(db) == head_revision()


async def test_upgrade_is_idempotent(db):
    assert await upgrade_async(db) == head_revision()
    assert await upgrade_async(db) == head_revision()


async def test_sqlite_pragmas(sqlite_db):
    async with sqlite_db.engine.connect() as conn:
        assert (await conn.scalar(text("PRAGMA journal_mode"))).lower() == "wal"
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert await conn.scalar(text("PRAGMA busy_timeout")) == 30000


def test_cli_db_upgrade_from_any_cwd(tmp_path):
    """The installed command finds its migrations regardless of the working directory."""
    target = tmp_path / "nested" / "dir" / "tarsy.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{target}"}
    proc = tarsy_db("upgrade", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"revision {head_revision()}" in proc.stdout
    assert target.exists()
    current = tarsy_db("current", cwd=tmp_path, env=env)
    assert current.stdout.strip() == head_revision()


def test_cli_db_upgrade_bad_url_says_what_to_use(tmp_path):
    proc = tarsy_db("upgrade", "--database-url", "mysql://h/db", cwd=tmp_path)
    assert proc.returncode == 2
    assert "postgresql+asyncpg://" in proc.stderr and "sqlite+aiosqlite" in proc.stderr


def test_sync_upgrade_before_the_loop_starts(tmp_path):
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'sync.db'}"  # plain sqlite:// gets the async driver
    assert upgrade(url) == head_revision()
    assert upgrade(url) == head_revision()


async def test_naive_datetimes_are_refused(sqlite_db):
    from datetime import datetime

    import pytest
    from sqlalchemy.exc import StatementError

    from storage.repositories.sessions import list_sessions

    with pytest.raises(StatementError, match="naive datetime"):
        await list_sessions(sqlite_db, since=datetime(2026, 1, 1))
