"""Alembic environment for TARSy.

Migrations normally run through `storage.migrate`, which hands us an open connection in
`config.attributes["connection"]` (so SQLite's BEGIN handling and PostgreSQL's migration lock
apply). Running the `alembic` CLI directly also works: we open our own engine from the URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def do_run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    from storage.engine import Database

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(do_run_migrations)
    finally:
        await db.close()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (conn := config.attributes.get("connection")) is not None:
    do_run_migrations(conn)
else:
    asyncio.run(_run_with_own_engine(config.get_main_option("sqlalchemy.url")))
