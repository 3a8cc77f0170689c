"""Slack bookkeeping: event-id dedupe and the messages TARSy posted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.engine import Database
from storage.models import SlackEventSeenRow, SlackMessageRow, utcnow
from storage.repositories.session_rows import list_session_rows

SLACK_MESSAGE_PURPOSES = ("root", "status", "stage", "final", "note", "answer", "warning")


def _insert(db: Database):
    return pg_insert if db.is_postgres else sqlite_insert


async def mark_event_seen(db: Database, event_id: str) -> bool:
    """True the first time `event_id` is seen, False on every redelivery (race-safe)."""
    if not event_id:
        raise ValueError("mark_event_seen needs a non-empty Slack event_id")
    stmt = (
        _insert(db)(SlackEventSeenRow)
        .values(event_id=event_id, seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(SlackEventSeenRow.event_id)
    )
    async with db.write() as s:
        return (await s.scalar(stmt)) is not None


async def purge_events_seen(db: Database, older_than: timedelta) -> int:
    """Forget event ids older than `older_than` (Slack retries stop after minutes)."""
    async with db.write() as s:
        res = await s.execute(
            delete(SlackEventSeenRow).where(SlackEventSeenRow.seen_at < utcnow() - older_than)
        )
        return res.rowcount or 0


async def record_slack_message(
    db: Database,
    *,
    channel: str,
    ts: str,
    purpose: str,
    session_id: str | None = None,
    thread_ts: str | None = None,
    created_at: datetime | None = None,
) -> bool:
    """Remember a message we posted; False if (channel, ts) was already recorded."""
    if purpose not in SLACK_MESSAGE_PURPOSES:
        raise ValueError(
            f"unknown Slack message purpose {purpose!r}; use one of {SLACK_MESSAGE_PURPOSES}"
        )
    stmt = (
        _insert(db)(SlackMessageRow)
        .values(
            session_id=session_id,
            channel=channel,
            ts=ts,
            thread_ts=thread_ts,
            purpose=purpose,
            created_at=created_at or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["channel", "ts"])
        .returning(SlackMessageRow.id)
    )
    async with db.write() as s:
        return (await s.scalar(stmt)) is not None


async def list_slack_messages(db: Database, session_id: str) -> list[SlackMessageRow]:
    return await list_session_rows(db, SlackMessageRow, session_id)
