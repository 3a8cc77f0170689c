"""Thumbs up/down (and optional comment) on an investigation. Every click is kept."""

from __future__ import annotations

from storage.engine import Database
from storage.models import FEEDBACK_VALUES, FeedbackRow, utcnow
from storage.repositories.session_rows import list_session_rows


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
    return await list_session_rows(db, FeedbackRow, session_id)
