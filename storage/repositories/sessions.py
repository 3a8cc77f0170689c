"""Reads and non-queue writes on sessions (incidents). Queue transitions live in storage.queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from storage.engine import Database
from storage.models import (
    CANCELLED,
    QUEUED,
    SESSION_STATUSES,
    SessionEventRow,
    SessionRow,
    SlackMessageRow,
    utcnow,
)


async def get_session(db: Database, session_id: str) -> SessionRow | None:
    async with db.read() as s:
        return await s.get(SessionRow, session_id)


async def resolve_session_id(db: Database, prefix: str) -> str | None:
    """Full id for an id or unique id prefix (for the CLI); None if unknown or ambiguous."""
    if not prefix:
        return None
    async with db.read() as s:
        ids = list(
            await s.scalars(
                select(SessionRow.id)
                .where(SessionRow.id.startswith(prefix, autoescape=True))
                .limit(2)
            )
        )
    return ids[0] if len(ids) == 1 else None


async def list_sessions(
    db: Database,
    *,
    status: str | Sequence[str] | None = None,
    since: datetime | None = None,
    fingerprint: str | None = None,
    limit: int = 50,
) -> list[SessionRow]:
    """Newest first."""
    q = select(SessionRow)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        unknown = set(statuses) - set(SESSION_STATUSES)
        if unknown:
            raise ValueError(
                f"unknown session status {sorted(unknown)}; "
                f"use one of {', '.join(SESSION_STATUSES)}"
            )
        q = q.where(SessionRow.status.in_(statuses))
    if since is not None:
        q = q.where(SessionRow.created_at >= since)
    if fingerprint is not None:
        q = q.where(SessionRow.fingerprint == fingerprint)
    q = q.order_by(SessionRow.created_at.desc(), SessionRow.id).limit(limit)
    async with db.read() as s:
        return list(await s.scalars(q))


async def count_by_status(db: Database) -> dict[str, int]:
    async with db.read() as s:
        rows = await s.execute(select(SessionRow.status, func.count()).group_by(SessionRow.status))
        return {status: n for status, n in rows}


async def find_session_by_slack_thread(
    db: Database, channel: str, thread_ts: str
) -> SessionRow | None:
    """The session owning a Slack thread: by its thread root, or by any message we posted."""
    async with db.read() as s:
        row = await s.scalar(
            select(SessionRow)
            .where(SessionRow.slack_channel == channel, SessionRow.slack_thread_ts == thread_ts)
            .order_by(SessionRow.created_at.desc())
            .limit(1)
        )
        if row is not None:
            return row
        return await s.scalar(
            select(SessionRow)
            .join(SlackMessageRow, SlackMessageRow.session_id == SessionRow.id)
            .where(SlackMessageRow.channel == channel, SlackMessageRow.ts == thread_ts)
            .limit(1)
        )


async def update_session_slack(
    db: Database,
    session_id: str,
    *,
    channel: str | None = None,
    thread_ts: str | None = None,
    status_ts: str | None = None,
    user: str | None = None,
) -> None:
    """Set the given Slack fields (None leaves a field unchanged)."""
    values: dict[str, Any] = {
        k: v
        for k, v in {
            "slack_channel": channel,
            "slack_thread_ts": thread_ts,
            "slack_status_ts": status_ts,
            "slack_user": user,
        }.items()
        if v is not None
    }
    if not values:
        return
    async with db.write() as s:
        await s.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(**values, updated_at=utcnow())
        )


async def set_chain(
    db: Database, session_id: str, chain_name: str, chain_snapshot: dict[str, Any]
) -> None:
    """Record which chain runs the session and the exact config it ran with."""
    async with db.write() as s:
        await s.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(chain_name=chain_name, chain_snapshot=chain_snapshot, updated_at=utcnow())
        )


async def request_cancel(db: Database, session_id: str, *, by: str | None = None) -> str | None:
    """Cancel a session: a queued one is cancelled at once, a running one is flagged for its
    worker (which sees it on the next heartbeat). Returns the status afterwards, None if unknown.
    """
    now = utcnow()
    async with db.write() as s:
        row = await s.get(SessionRow, session_id, with_for_update=db.is_postgres)
        if row is None:
            return None
        who = f" by {by}" if by else ""
        if row.status == QUEUED:
            row.status = CANCELLED
            row.finished_at = now
            row.error = f"cancelled{who} before it started"
            message = f"cancelled{who} while queued"
        elif row.status == "running":
            row.cancel_requested = True
            message = f"cancel requested{who}"
        else:
            return row.status
        row.updated_at = now
        s.add(SessionEventRow(session_id=session_id, type="cancel", message=message, at=now))
        return row.status
