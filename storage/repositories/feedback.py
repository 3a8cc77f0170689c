"""Thumbs up/down (and optional comment) on an investigation. Every click is kept."""

from __future__ import annotations

from sqlalchemy import select

from storage.engine import Database
from storage.models import FEEDBACK_VALUES, FeedbackRow, utcnow


async def add_feedback(
    db: Database,
    session_id: str,
    value: str,
    *,
    user: str | None = None,
    comment: str | None = None,
) -> FeedbackRow:
    if value not in FEEDBACK_VALUES:
        raise ValueError(f"feedback must be one of {FEEDBACK_VALUES}, got {value!r}")
    row = FeedbackRow(session_id=session_id, value=value, user=user, comment=comment, at=utcnow())
    async with db.write() as s:
        s.add(row)
    return row


async def list_feedback(db: Database, session_id: str) -> list[FeedbackRow]:
    async with db.read() as s:
        return list(
            await s.scalars(
                select(FeedbackRow)
                .where(FeedbackRow.session_id == session_id)
                .order_by(FeedbackRow.at, FeedbackRow.id)
            )
        )
