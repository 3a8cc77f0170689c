"""The provider-neutral LLM interface: one streamed turn with retries.

Retry and streaming: text/thought deltas are passed to the caller live. When an attempt fails
after it already streamed something, the caller is told through `on_retry(..., streamed=True)`
before the next attempt starts; the investigator turns that into a *reset*: it closes the
failed attempt's interaction with `LlmTurnFinished(error=...)` and streams the retry under a
new `interaction_id`, so sinks drop (or mark) the partial text instead of showing it twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.mcp.tools import ToolSpec
from config.models import LlmProviderConfig

log = logging.getLogger(__name__)

DeltaFn = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class FunctionCall:
    id: str | None
    name: str
    args: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "args": self.args}


@dataclass(slots=True)
class ToolResultMessage:
    call_id: str | None
    name: str
    content: str
    is_error: bool = False


@dataclass(slots=True)
class Message:
    role: Literal["user", "model", "tool"]
    text: str = ""
    function_calls: list[FunctionCall] = field(default_factory=list)
    tool_results: list[ToolResultMessage] = field(default_factory=list)
    native: Any = None
    """Provider-native form of a model turn (Gemini parts), echoed back unchanged so
    `thoughtSignature`s survive; only the provider that produced it reads it."""
    provider: str | None = None


@dataclass(slots=True)
class LlmRequest:
    system: str
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    max_output_tokens: int | None = None

    def describe(self) -> dict[str, Any]:
        """A compact, JSON-friendly view for the audit trail (already masked text)."""
        return {
            "system": self.system,
            "contents": [_describe_message(m) for m in self.messages],
            "tools": [t.name for t in self.tools],
        }


def _describe_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role}
    if m.text:
        out["text"] = m.text
    if m.function_calls:
        out["function_calls"] = [c.to_dict() for c in m.function_calls]
    if m.tool_results:
        out["tool_results"] = [
            {"name": r.name, "id": r.call_id, "content": r.content} for r in m.tool_results
        ]
    return out


@dataclass(slots=True)
class TurnOutput:
    text: str = ""
    thinking: str = ""
    function_calls: list[FunctionCall] = field(default_factory=list)
    native: Any = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    thinking_tokens: int | None = None
    finish_reason: str | None = None
    attempts: int = 1
    latency_ms: float = 0.0

    def as_message(self, provider: str) -> Message:
        return Message(
            role="model",
            text=self.text,
            function_calls=list(self.function_calls),
            native=self.native,
            provider=provider,
        )


class RetryableError(Exception):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FatalError(Exception):
    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class LlmError(RuntimeError):
    """An LLM call failed for good. The message names provider, model, status, attempts and
    what to do about it."""

    def __init__(
        self, *, provider: str, model: str, status: int | None, attempts: int, detail: str
    ) -> None:
        self.provider, self.model, self.status, self.attempts = provider, model, status, attempts
        self.detail = detail
        super().__init__(
            f"LLM provider '{provider}' (model {model}) failed after {attempts} attempt(s)"
            f"{f' with HTTP {status}' if status else ''}: {detail}. {_advice(status)}"
        )


def _advice(status: int | None) -> str:
    if status in (401, 403):
        return "Check the provider's api_key (llm_providers.<name>.api_key) and its permissions."
    if status == 404:
        return "Check the model name and base_url/api_version in llm_providers.<name>."
    if status == 400:
        return "The request was rejected; check model limits and the tool schemas offered."
    if status == 429:
        return "The quota or rate limit is exhausted; wait, raise the quota, or raise max_retries."
    if status and status >= 500:
        return "The provider is failing; retry later or switch llm_provider for this agent."
    return "Check network access to the provider (base_url) and timeout_seconds."


RetryFn = Callable[[int, Exception, bool, float], Awaitable[None]]


async def _noop_delta(_text: str) -> None:
    return None


async def _noop_retry(_attempt: int, _err: Exception, _streamed: bool, _delay: float) -> None:
    return None


class LlmProvider(ABC):
    """One configured provider. Subclasses implement `_attempt` (one streamed call)."""

    def __init__(self, name: str, cfg: LlmProviderConfig, *, call_timeout_s: float | None = None):
        self.name = name
        self.cfg = cfg
        self.model = cfg.model
        limits = [cfg.timeout_seconds] + ([call_timeout_s] if call_timeout_s else [])
        self.timeout_s = min(limits)

    @abstractmethod
    async def _attempt(
        self, req: LlmRequest, on_text: DeltaFn, on_thought: DeltaFn
    ) -> TurnOutput: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        return None

    async def generate(
        self,
        req: LlmRequest,
        *,
        on_text: DeltaFn = _noop_delta,
        on_thought: DeltaFn = _noop_delta,
        on_retry: RetryFn = _noop_retry,
    ) -> TurnOutput:
        start = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            streamed = False

            async def text(delta: str) -> None:
                nonlocal streamed
                streamed = True
                await on_text(delta)

            async def thought(delta: str) -> None:
                nonlocal streamed
                streamed = True
                await on_thought(delta)

            try:
                async with asyncio.timeout(self.timeout_s):
                    out = await self._attempt(req, text, thought)
                out.attempts = attempt
                out.latency_ms = (time.perf_counter() - start) * 1000
                return out
            except TimeoutError:
                err: RetryableError = RetryableError(
                    f"no complete answer within {self.timeout_s:g}s"
                )
            except RetryableError as e:
                err = e
            except FatalError as e:
                raise self._give_up(e, attempt) from e
            if attempt > self.cfg.max_retries:
                raise self._give_up(err, attempt) from err
            delay = self.backoff(attempt, err.retry_after)
            log.info(
                "LLM %s attempt %d failed (%s); retrying in %.2fs", self.name, attempt, err, delay
            )
            await on_retry(attempt, err, streamed, delay)
            await asyncio.sleep(delay)

    def _give_up(self, err: RetryableError | FatalError, attempts: int) -> LlmError:
        return LlmError(
            provider=self.name,
            model=self.model,
            status=err.status,
            attempts=attempts,
            detail=str(err),
        )

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; a server retry hint wins (capped)."""
        cap = self.cfg.retry_max_seconds
        if retry_after is not None:
            return min(max(retry_after, 0.0), cap)
        exp = self.cfg.retry_base_seconds * (2 ** (attempt - 1))
        return min(cap, exp * (0.5 + random.random() / 2))


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` header (seconds) or a google.rpc `retryDelay` like "1.5s"."""
    if not value:
        return None
    value = value.strip().removesuffix("s")
    try:
        return float(value)
    except ValueError:
        return None


def is_retryable_status(status: int | None) -> bool:
    return status is not None and (status in (408, 429) or status >= 500)
