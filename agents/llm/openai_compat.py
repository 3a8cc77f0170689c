"""OpenAI-compatible Chat Completions (OpenAI, vLLM, Ollama, ...) over aiohttp, streaming."""

from __future__ import annotations

import json
import os
from typing import Any

from agents.llm.base import (
    DeltaFn,
    FatalError,
    FunctionCall,
    LlmProvider,
    LlmRequest,
    RetryableError,
    TurnOutput,
    is_retryable_status,
    parse_retry_after,
)
from config.models import LlmProviderConfig

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAICompatProvider(LlmProvider):
    def __init__(self, name: str, cfg: LlmProviderConfig, *, call_timeout_s: float | None = None):
        super().__init__(name, cfg, call_timeout_s=call_timeout_s)
        self._session: Any = None

    def _url(self) -> str:
        base = self.cfg.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        return base.rstrip("/") + "/chat/completions"

    def _http(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _messages(self, req: LlmRequest) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"role": "system", "content": req.system}]
        for m in req.messages:
            if m.role == "user":
                out.append({"role": "user", "content": m.text})
            elif m.role == "model":
                msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
                if m.function_calls:
                    msg["tool_calls"] = [
                        {
                            "id": c.id or f"call_{i}",
                            "type": "function",
                            "function": {"name": c.name, "arguments": json.dumps(c.args)},
                        }
                        for i, c in enumerate(m.function_calls)
                    ]
                out.append(msg)
            else:
                for i, r in enumerate(m.tool_results):
                    out.append(
                        {
                            "role": "tool",
                            "tool_call_id": r.call_id or f"call_{i}",
                            "content": r.content,
                        }
                    )
        return out

    async def _attempt(self, req: LlmRequest, on_text: DeltaFn, on_thought: DeltaFn) -> TurnOutput:
        import aiohttp

        body: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(req),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if req.tools:
            body["tools"] = [t.to_openai() for t in req.tools]
        if self.cfg.temperature is not None:
            body["temperature"] = self.cfg.temperature
        max_out = req.max_output_tokens or self.cfg.max_output_tokens
        if max_out:
            body["max_tokens"] = max_out
        headers = {"Content-Type": "application/json"}
        key = (
            self.cfg.api_key.get_secret_value()
            if self.cfg.api_key
            else os.environ.get("OPENAI_API_KEY")
        )
        if key:
            headers["Authorization"] = f"Bearer {key}"

        out = TurnOutput()
        text: list[str] = []
        thinking: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        try:
            async with self._http().post(self._url(), json=body, headers=headers) as resp:
                if resp.status != 200:
                    detail = (await resp.text())[:500]
                    hint = parse_retry_after(resp.headers.get("Retry-After"))
                    if is_retryable_status(resp.status):
                        raise RetryableError(detail, status=resp.status, retry_after=hint)
                    raise FatalError(detail, status=resp.status)
                async for raw in resp.content:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if usage := chunk.get("usage"):
                        out.input_tokens = usage.get("prompt_tokens")
                        out.output_tokens = usage.get("completion_tokens")
                        details = usage.get("completion_tokens_details") or {}
                        out.thinking_tokens = details.get("reasoning_tokens")
                    for choice in chunk.get("choices") or []:
                        if choice.get("finish_reason"):
                            out.finish_reason = choice["finish_reason"]
                        delta = choice.get("delta") or {}
                        if reasoning := delta.get("reasoning_content") or delta.get("reasoning"):
                            thinking.append(reasoning)
                            await on_thought(reasoning)
                        if content := delta.get("content"):
                            text.append(content)
                            await on_text(content)
                        for tc in delta.get("tool_calls") or []:
                            slot = calls.setdefault(
                                tc.get("index", len(calls)), {"id": None, "name": "", "args": ""}
                            )
                            slot["id"] = tc.get("id") or slot["id"]
                            fn = tc.get("function") or {}
                            slot["name"] += fn.get("name") or ""
                            slot["args"] += fn.get("arguments") or ""
        except (aiohttp.ClientError, OSError) as e:
            raise RetryableError(f"connection failed: {type(e).__name__}: {e}") from e
        except json.JSONDecodeError as e:
            raise RetryableError(f"malformed stream chunk: {e}") from e
        out.text = "".join(text)
        out.thinking = "".join(thinking)
        for _, slot in sorted(calls.items()):
            try:
                args = json.loads(slot["args"]) if slot["args"] else {}
            except json.JSONDecodeError:
                args = {"_raw_arguments": slot["args"]}
            out.function_calls.append(
                FunctionCall(
                    id=slot["id"],
                    name=slot["name"],
                    args=args if isinstance(args, dict) else {"value": args},
                )
            )
        return out
