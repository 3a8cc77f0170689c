"""Typed events an investigation emits. Sinks (audit recorder, Slack presenter, terminal,
metrics) consume them; the agent loop knows nothing about who listens.

Every event carries `session_id` / `stage_id` when it belongs to one (set by the runner via
`EventContext`); agents fill the rest.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EventContext:
    session_id: str | None = None
    stage_id: str | None = None
    stage_index: int | None = None
    stage_name: str | None = None
    agent: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    ctx: EventContext = field(default_factory=EventContext)
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmTurnStarted(Event):
    interaction_id: str
    provider: str
    model: str
    iteration: int
    purpose: str = "investigate"  # investigate | conclude | summarize | chat | synthesize


@dataclass(frozen=True, slots=True, kw_only=True)
class TextDelta(Event):
    interaction_id: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ThoughtDelta(Event):
    interaction_id: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmTurnFinished(Event):
    interaction_id: str
    provider: str
    model: str
    purpose: str
    request: dict[str, Any]  # masked request as sent (system prompt, contents, tool names)
    response_text: str
    thinking_text: str
    function_calls: list[dict[str, Any]]
    input_tokens: int | None
    output_tokens: int | None
    thinking_tokens: int | None
    latency_ms: float
    finish_reason: str | None
    error: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallStarted(Event):
    call_id: str
    server: str
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallFinished(Event):
    call_id: str
    server: str
    tool: str
    arguments: dict[str, Any]
    result: str  # full masked result (audit trail)
    result_for_model: str  # what the model saw (maybe summarised / cut)
    duration_ms: float
    error: str | None = None
    denied: bool = False
    summarized: bool = False
    original_tokens: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentWarning(Event):
    code: str  # e.g. mcp_unhealthy, summarization_failed, max_iterations, masking_failed
    message: str
    server: str | None = None  # the MCP server it is about, for mcp_* and masking warnings


EventSink = Callable[[Event], Awaitable[None]]
"""An async callable receiving every event. Must not block for long (queue and return)."""
