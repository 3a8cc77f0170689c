"""One session's rows of a given kind, in the order its audit trail shows them.

Every `list_*(db, session_id)` reader and the one-snapshot timeline share this order table,
so a session's history reads the same whichever way it is fetched.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import Database
from storage.models import (
    AlertRow,
    Base,
    FeedbackRow,
    FollowupRow,
    LlmInteractionRow,
    SessionEventRow,
    SlackMessageRow,
    StageExecutionRow,
    ToolCallRow,
)

RowT = TypeVar("RowT", bound=Base)

SESSION_ORDER: dict[type[Base], tuple[Any, ...]] = {
    AlertRow: (AlertRow.received_at, AlertRow.id),
    StageExecutionRow: (StageExecutionRow.started_at, StageExecutionRow.index),
    LlmInteractionRow: (LlmInteractionRow.created_at, LlmInteractionRow.id),
    ToolCallRow: (ToolCallRow.created_at, ToolCallRow.id),
    SessionEventRow: (SessionEventRow.at, SessionEventRow.id),
    FollowupRow: (FollowupRow.asked_at, FollowupRow.id),
    FeedbackRow: (FeedbackRow.at, FeedbackRow.id),
    SlackMessageRow: (SlackMessageRow.created_at, SlackMessageRow.id),
}


def session_rows_query(model: type[RowT], session_id: str) -> Select[tuple[RowT]]:
    return (
        select(model)
        .where(model.session_id == session_id)  # type: ignore[attr-defined]
        .order_by(*SESSION_ORDER[model])
    )


async def session_rows(s: AsyncSession, model: type[RowT], session_id: str) -> list[RowT]:
    """Inside an open read transaction (for several kinds in one snapshot)."""
    return list(await s.scalars(session_rows_query(model, session_id)))


async def list_session_rows(db: Database, model: type[RowT], session_id: str) -> list[RowT]:
    async with db.read() as s:
        return await session_rows(s, model, session_id)
