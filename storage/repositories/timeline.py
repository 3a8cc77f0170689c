"""The full audit trail of one session, read in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

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

        async def rows(model, *order):  # noqa: ANN001, ANN202
            return list(
                await s.scalars(
                    select(model).where(model.session_id == session_id).order_by(*order)
                )
            )

        return Timeline(
            session=session,
            alerts=await rows(AlertRow, AlertRow.received_at, AlertRow.id),
            stages=await rows(
                StageExecutionRow, StageExecutionRow.started_at, StageExecutionRow.index
            ),
            llm_interactions=await rows(
                LlmInteractionRow, LlmInteractionRow.created_at, LlmInteractionRow.id
            ),
            tool_calls=await rows(ToolCallRow, ToolCallRow.created_at, ToolCallRow.id),
            events=await rows(SessionEventRow, SessionEventRow.at, SessionEventRow.id),
            followups=await rows(FollowupRow, FollowupRow.asked_at, FollowupRow.id),
            feedback=await rows(FeedbackRow, FeedbackRow.at, FeedbackRow.id),
            slack_messages=await rows(
                SlackMessageRow, SlackMessageRow.created_at, SlackMessageRow.id
            ),
        )
