"""Audit-trail tables. The `sessions` table is both the incident record and the work queue.

Relationships are deliberately not mapped: every read is an explicit query in
`storage.repositories`, so no lazy load can fire on a detached row in async code.
Child rows reference `sessions.id` with ON DELETE CASCADE; retention also deletes explicitly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# session states
QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
TIMED_OUT = "timed_out"
SESSION_STATUSES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, TIMED_OUT)
ACTIVE_STATUSES = (QUEUED, RUNNING)
TERMINAL_STATUSES = (COMPLETED, FAILED, CANCELLED, TIMED_OUT)

STAGE_STATUSES = ("running", "completed", "failed", "timed_out", "cancelled", "skipped")
FOLLOWUP_STATUSES = ("queued", "answering", "answered", "failed")
FEEDBACK_VALUES = ("up", "down")

ID = String(64)


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _session_fk() -> ForeignKey:
    return ForeignKey("sessions.id", ondelete="CASCADE")


class SessionRow(Base):
    """One incident / investigation; also one item of the durable work queue."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    fingerprint: Mapped[str] = mapped_column(String(128))
    alert_source: Mapped[str] = mapped_column(String(32), default="")
    alert_kind: Mapped[str] = mapped_column(String(255), default="")
    alert_title: Mapped[str] = mapped_column(Text, default="")
    alert_severity: Mapped[str] = mapped_column(String(16), default="unknown")
    chain_name: Mapped[str | None] = mapped_column(String(255))
    chain_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # queue / lease
    next_stage_index: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # dedupe
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    last_occurrence_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    # Slack
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32))
    slack_status_ts: Mapped[str | None] = mapped_column(String(32))
    slack_user: Mapped[str | None] = mapped_column(String(64))
    slack_team: Mapped[str | None] = mapped_column(String(64))
    # outcome
    final_text: Mapped[str | None] = mapped_column(Text)
    executive_summary: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    thinking_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_sessions_queue", "status", "lease_expires_at"),
        Index("ix_sessions_fingerprint_status", "fingerprint", "status"),
        Index("ix_sessions_created_at", "created_at"),
        Index("ix_sessions_finished_at", "finished_at"),
        Index("ix_sessions_slack_thread", "slack_channel", "slack_thread_ts"),
    )


class AlertRow(Base):
    """Every alert received (firing or resolved); `session_id` links occurrences to an incident."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    session_id: Mapped[str | None] = mapped_column(ID, _session_fk())
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16), default="unknown")
    status: Mapped[str] = mapped_column(String(16), default="firing")
    fingerprint: Mapped[str] = mapped_column(String(128))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)
    runbook_url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # masked raw payload
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_user: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_alerts_session_id", "session_id"),
        Index("ix_alerts_fingerprint", "fingerprint"),
        Index("ix_alerts_received_at", "received_at"),
    )


class StageExecutionRow(Base):
    __tablename__ = "stage_executions"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ID, _session_fk())
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    agents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="running")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    full_text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_stage_executions_session_id", "session_id", "index"),)


class FollowupRow(Base):
    __tablename__ = "followups"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ID, _session_fk())
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str | None] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    answer: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    # while `answering`: which worker answers it, until when (renewed; the reaper requeues)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_followups_session_id", "session_id"),)


class LlmInteractionRow(Base):
    __tablename__ = "llm_interactions"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ID, _session_fk())
    stage_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("stage_executions.id", ondelete="CASCADE")
    )
    followup_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("followups.id", ondelete="CASCADE")
    )
    agent: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(String(32), default="investigate")
    iteration: Mapped[int | None] = mapped_column(Integer)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # masked
    response_text: Mapped[str] = mapped_column(Text, default="")
    thinking_text: Mapped[str] = mapped_column(Text, default="")
    function_calls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    thinking_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_llm_interactions_session_id", "session_id", "created_at"),)


class ToolCallRow(Base):
    __tablename__ = "tool_calls"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ID, _session_fk())
    stage_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("stage_executions.id", ondelete="CASCADE")
    )
    followup_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("followups.id", ondelete="CASCADE")
    )
    agent: Mapped[str | None] = mapped_column(String(255))
    server: Mapped[str] = mapped_column(String(255))
    tool: Mapped[str] = mapped_column(String(255))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # masked
    result: Mapped[str] = mapped_column(Text, default="")  # full masked result
    result_for_model: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    denied: Mapped[bool] = mapped_column(Boolean, default=False)
    summarized: Mapped[bool] = mapped_column(Boolean, default=False)
    original_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_tool_calls_session_id", "session_id", "created_at"),)


class SessionEventRow(Base):
    """Timeline entries: state changes, warnings, notes."""

    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ID, _session_fk())
    stage_id: Mapped[str | None] = mapped_column(ID)
    type: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_session_events_session_id", "session_id", "at"),)


class SlackMessageRow(Base):
    """Messages TARSy posted (root/status/stage/final/note/answer), so threads can be edited."""

    __tablename__ = "slack_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(ID, _session_fk())
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("uq_slack_messages_channel_ts", "channel", "ts", unique=True),
        Index("ix_slack_messages_session_id", "session_id"),
    )


class SlackEventSeenRow(Base):
    __tablename__ = "slack_events_seen"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_slack_events_seen_seen_at", "seen_at"),)


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ID, _session_fk())
    user: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_feedback_session_id", "session_id"),)


ALL_MODELS = (
    SessionRow,
    AlertRow,
    StageExecutionRow,
    FollowupRow,
    LlmInteractionRow,
    ToolCallRow,
    SessionEventRow,
    SlackMessageRow,
    SlackEventSeenRow,
    FeedbackRow,
)
