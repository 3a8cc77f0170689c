"""`tarsy db upgrade|current|heads` - apply or inspect the database migrations."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["upgrade", "current", "heads"],
        help="upgrade: migrate to the newest schema; current: show the database's revision; "
        "heads: show the newest revision this build ships",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="database URL (default: $DATABASE_URL, else sqlite+aiosqlite:///./tarsy.db)",
    )
    parser.add_argument("--revision", default="head", help="target revision for upgrade")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from storage.engine import Database, DatabaseUrlError, database_url_from_env, redact_url
    from storage.migrate import current_revision, head_revision, upgrade_async

    if args.action == "heads":
        print(head_revision())
        return 0
    url = database_url_from_env(args.database_url)
    shown = redact_url(url)

    async def _go() -> str | None:
        db = Database(url)
        try:
            if args.action == "upgrade":
                return await upgrade_async(db, args.revision)
            return await current_revision(db)
        finally:
            await db.close()

    try:
        revision = asyncio.run(_go())
    except DatabaseUrlError as e:
        print(f"tarsy db {args.action}: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - say what failed and where, not a traceback
        print(
            f"tarsy db {args.action}: failed on {shown}: {type(e).__name__}: {e}\n"
            "Check that the database is reachable and that the URL (--database-url or "
            "DATABASE_URL) is right.",
            file=sys.stderr,
        )
        return 1
    if args.action == "upgrade":
        print(f"database {shown} is at revision {revision} (newest: {head_revision()})")
    else:
        print(revision or "none (no migrations applied; run `tarsy db upgrade`)")
    return 0
