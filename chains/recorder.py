"""Audit recorder: a bus sink writing every event of a session to storage, batched.

Events are buffered and flushed every `batch_size` events or `flush_interval` seconds, in one
transaction per batch; a failed write is retried with backoff and logged. The runner is never
blocked (it only appends to a list). Stage rows and the session outcome are NOT written here:
the runner/worker write those synchronously because resume and the outcome depend on them.
TextDelta/ThoughtDelta are not stored one by one (the full text is in LlmTurnFinished).
Follow-up LLM/tool rows are linked to their follow-up: between FollowupStarted and
FollowupFinished of a session, events without a stage belong to that follow-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any

from agents.events import (
    AgentWarning,
    Event,
    LlmTurnFinished,
    LlmTurnStarted,
    TextDelta,
    ThoughtDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from chains.events import FollowupFinished, FollowupStarted, RunbookLoaded
from storage.models import LlmInteractionRow, SessionEventRow, ToolCallRow
from storage.repositories.records import add_many

log = logging.getLogger(__name__)

# RunbookLoaded is written synchronously by the worker (follow-ups depend on it).
_SKIPPED = (TextDelta, ThoughtDelta, ToolCallStarted, RunbookLoaded)


def _at(event: Event) -> datetime:
    return datetime.fromtimestamp(event.at, UTC)


def event_data(event: Event) -> dict[str, Any]:
    """The event's own fields (not ctx/at) as JSON-able data."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        if f.name in ("ctx", "at"):
            continue
        out[f.name] = getattr(event, f.name)
    return out


def event_message(event: Event) -> str:
    for name in ("message", "error", "question", "title", "status", "name"):
        value = getattr(event, name, None)
        if isinstance(value, str) and value:
            return value[:2000]
    return ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class AuditRecorder:
    def __init__(
        self, db: Any, *, batch_size: int = 100, flush_interval: float = 0.2, max_retries: int = 5
    ) -> None:
        self.db = db
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self._buf: list[Any] = []
        self._iterations: dict[str, int] = {}
        self._followup: dict[str, str] = {}  # session id -> follow-up being answered
        self._has_data = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.lost_rows = 0

    async def __call__(self, event: Event) -> None:
        self.add(event)

    def add(self, event: Event) -> None:
        sid = event.ctx.session_id
        if sid is None or isinstance(event, _SKIPPED):
            return
        if isinstance(event, LlmTurnStarted):
            self._iterations[event.interaction_id] = event.iteration
            return
        if isinstance(event, FollowupStarted):
            self._followup[sid] = event.followup_id
        followup_id = self._followup.get(sid) if event.ctx.stage_id is None else None
        if isinstance(event, FollowupFinished):
            self._followup.pop(sid, None)
        base = {"session_id": sid, "stage_id": event.ctx.stage_id, "created_at": _at(event)}
        if isinstance(event, LlmTurnFinished):
            self._buf.append(
                LlmInteractionRow(
                    **{
                        **base,
                        "followup_id": followup_id,
                        "agent": event.ctx.agent,
                        "provider": event.provider,
                        "model": event.model,
                        "purpose": event.purpose,
                        "iteration": self._iterations.pop(event.interaction_id, None),
                        "request": event.request,
                        "response_text": event.response_text,
                        "thinking_text": event.thinking_text,
                        "function_calls": event.function_calls,
                        "input_tokens": event.input_tokens,
                        "output_tokens": event.output_tokens,
                        "thinking_tokens": event.thinking_tokens,
                        "latency_ms": event.latency_ms,
                        "finish_reason": event.finish_reason,
                        "error": event.error,
                        "attempts": event.attempts,
                    }
                )
            )
        elif isinstance(event, ToolCallFinished):
            self._buf.append(
                ToolCallRow(
                    **{
                        **base,
                        "followup_id": followup_id,
                        "agent": event.ctx.agent,
                        "server": event.server,
                        "tool": event.tool,
                        "arguments": event.arguments,
                        "result": event.result,
                        "result_for_model": event.result_for_model,
                        "duration_ms": event.duration_ms,
                        "error": event.error,
                        "denied": event.denied,
                        "summarized": event.summarized,
                        "original_tokens": event.original_tokens,
                    }
                )
            )
        else:
            kind = type(event).__name__
            if isinstance(event, AgentWarning):
                kind = f"warning:{event.code}"
            data = event_data(event)
            if followup_id:
                data["followup_id"] = followup_id
            self._buf.append(
                SessionEventRow(
                    **{
                        "session_id": sid,
                        "stage_id": event.ctx.stage_id,
                        "type": kind,
                        "message": event_message(event),
                        "data": _jsonable(data),
                        "at": _at(event),
                    }
                )
            )
        self._idle.clear()
        self._ensure_task()
        if len(self._buf) >= self.batch_size:
            self._flush_now.set()

    def _ensure_task(self) -> None:
        self._has_data.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="audit-recorder")

    async def _run(self) -> None:
        while True:
            await self._has_data.wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await self._flush_now.wait()
            self._flush_now.clear()
            self._has_data.clear()
            await self._flush_once()
            if not self._buf:
                self._idle.set()

    async def _flush_once(self) -> None:
        batch, self._buf = self._buf, []
        if not batch:
            return
        delay = 0.1
        for attempt in range(1, self.max_retries + 1):
            try:
                await add_many(self.db, batch)
                return
            except asyncio.CancelledError:
                self._buf = batch + self._buf
                raise
            except Exception as e:
                if attempt == self.max_retries:
                    self.lost_rows += len(batch)
                    log.error(
                        "audit recorder: giving up on %d rows after %d attempts: %s",
                        len(batch),
                        attempt,
                        e,
                    )
                    return
                log.warning(
                    "audit recorder: write failed (attempt %d/%d), retrying: %s",
                    attempt,
                    self.max_retries,
                    e,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def flush(self, wait_s: float = 10.0) -> bool:
        """Wait until everything added so far is written. False on timeout."""
        if not self._buf and self._idle.is_set():
            return True
        self._ensure_task()
        self._flush_now.set()
        try:
            async with asyncio.timeout(wait_s):
                await self._idle.wait()
            return True
        except TimeoutError:
            return False

    async def aclose(self, wait_s: float = 10.0) -> None:
        await self.flush(wait_s)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
