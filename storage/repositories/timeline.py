"""The full audit trail of one session, read in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.engine import Database
from storage.models import (
    AlertRow,
    FeedbackRow,
    FollowupRow,
    LlmInteractionRow,
    SessionEventRow,
    SessionRow,
    SlackMessageRow,
    StageExecutionRow,
    ToolCallRow,
)
from storage.repositories.session_rows import session_rows


@dataclass(slots=True)
class Timeline:
    session: SessionRow
    alerts: list[AlertRow] = field(default_factory=list)
    stages: list[StageExecutionRow] = field(default_factory=list)
    llm_interactions: list[LlmInteractionRow] = field(default_factory=list)
    tool_calls: list[ToolCallRow] = field(default_factory=list)
    events: list[SessionEventRow] = field(default_factory=list)
    followups: list[FollowupRow] = field(default_factory=list)
    feedback: list[FeedbackRow] = field(default_factory=list)
    slack_messages: list[SlackMessageRow] = field(default_factory=list)


async def get_timeline(db: Database, session_id: str) -> Timeline | None:
    async with db.read() as s:
        session = await s.get(SessionRow, session_id)
        if session is None:
            return None
        return Timeline(
            session=session,
            alerts=await session_rows(s, AlertRow, session_id),
            stages=await session_rows(s, StageExecutionRow, session_id),
            llm_interactions=await session_rows(s, LlmInteractionRow, session_id),
            tool_calls=await session_rows(s, ToolCallRow, session_id),
            events=await session_rows(s, SessionEventRow, session_id),
            followups=await session_rows(s, FollowupRow, session_id),
            feedback=await session_rows(s, FeedbackRow, session_id),
            slack_messages=await session_rows(s, SlackMessageRow, session_id),
        )
