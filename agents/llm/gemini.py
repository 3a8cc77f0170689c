"""Gemini on google-genai: async streaming, native function calling, thinking.

Model turns are echoed back as the exact `Part`s the model streamed, which keeps any
`thoughtSignature` intact across turns (Gemini rejects or degrades multi-turn tool use
without them).
"""

from __future__ import annotations

import os
from typing import Any

from agents.llm.base import (
    DeltaFn,
    FatalError,
    FunctionCall,
    LlmProvider,
    LlmRequest,
    Message,
    RetryableError,
    TurnOutput,
    is_retryable_status,
    parse_retry_after,
)
from config.models import LlmProviderConfig

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


class GeminiProvider(LlmProvider):
    def __init__(self, name: str, cfg: LlmProviderConfig, *, call_timeout_s: float | None = None):
        super().__init__(name, cfg, call_timeout_s=call_timeout_s)
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            from google import genai
            from google.genai import types

            key = (
                (self.cfg.api_key.get_secret_value() if self.cfg.api_key else None)
                or os.environ.get("GEMINI_API_KEY")
                or os.environ.get("GOOGLE_API_KEY")
            )
            if not key:
                raise FatalError(
                    "no API key: set llm_providers."
                    f"{self.name}.api_key (e.g. api_key: ${{GEMINI_API_KEY}}) or GEMINI_API_KEY"
                )
            options = types.HttpOptions(
                base_url=self.cfg.base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or None,
                api_version=self.cfg.api_version or "v1beta",
                timeout=int(self.timeout_s * 1000),
                # One attempt per call: our LlmProvider retry policy is the only one. Without
                # retry_options google-genai retries refused connections itself (1-10 s sleeps).
                retry_options=types.HttpRetryOptions(attempts=1),
            )
            self._client = genai.Client(api_key=key, http_options=options)
        return self._client

    def prepare(self) -> None:
        """Build the client now (imports, TLS context) so the first call does not stall the
        event loop; a missing key is reported by the first call instead."""
        try:
            self._get_client()
        except FatalError:
            pass

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.aio.aclose()
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass

    def _config(self, req: LlmRequest) -> Any:
        from google.genai import types

        kwargs: dict[str, Any] = {
            "system_instruction": req.system,
            "automatic_function_calling": types.AutomaticFunctionCallingConfig(disable=True),
        }
        if req.tools:
            kwargs["tools"] = [types.Tool(function_declarations=[t.to_gemini() for t in req.tools])]
        if self.cfg.temperature is not None:
            kwargs["temperature"] = self.cfg.temperature
        max_out = req.max_output_tokens or self.cfg.max_output_tokens
        if max_out:
            kwargs["max_output_tokens"] = max_out
        if self.cfg.thinking_budget is not None or self.cfg.include_thoughts:
            kwargs["thinking_config"] = types.ThinkingConfig(
                thinking_budget=self.cfg.thinking_budget,
                include_thoughts=self.cfg.include_thoughts or None,
            )
        return types.GenerateContentConfig(**kwargs)

    def _contents(self, messages: list[Message]) -> list[Any]:
        from google.genai import types

        contents: list[Any] = []
        for m in messages:
            if m.role == "user":
                contents.append(types.Content(role="user", parts=[types.Part(text=m.text)]))
            elif m.role == "model":
                if m.native is not None and m.provider == self.name:
                    parts = list(m.native)
                else:
                    parts = ([types.Part(text=m.text)] if m.text else []) + [
                        types.Part(
                            function_call=types.FunctionCall(id=c.id, name=c.name, args=c.args)
                        )
                        for c in m.function_calls
                    ]
                contents.append(types.Content(role="model", parts=parts or [types.Part(text="")]))
            else:
                contents.append(
                    types.Content(
                        role="user",
                        parts=[
                            types.Part(
                                function_response=types.FunctionResponse(
                                    id=r.call_id,
                                    name=r.name,
                                    response={"error" if r.is_error else "result": r.content},
                                )
                            )
                            for r in m.tool_results
                        ],
                    )
                )
        return contents

    async def _attempt(self, req: LlmRequest, on_text: DeltaFn, on_thought: DeltaFn) -> TurnOutput:
        from google.genai import errors

        client = self._get_client()
        out = TurnOutput()
        parts: list[Any] = []
        text: list[str] = []
        thinking: list[str] = []
        try:
            stream = await client.aio.models.generate_content_stream(
                model=self.model, contents=self._contents(req.messages), config=self._config(req)
            )
            async for chunk in stream:
                usage = chunk.usage_metadata
                if usage is not None:
                    out.input_tokens = usage.prompt_token_count or out.input_tokens
                    out.output_tokens = usage.candidates_token_count or out.output_tokens
                    out.thinking_tokens = usage.thoughts_token_count or out.thinking_tokens
                for cand in chunk.candidates or []:
                    if cand.finish_reason is not None:
                        fr = cand.finish_reason
                        out.finish_reason = str(getattr(fr, "value", fr))
                    content = cand.content
                    for part in (content.parts if content else None) or []:
                        parts.append(part)
                        if part.function_call is not None:
                            fc = part.function_call
                            out.function_calls.append(
                                FunctionCall(id=fc.id, name=fc.name or "", args=dict(fc.args or {}))
                            )
                        elif part.text:
                            if part.thought:
                                thinking.append(part.text)
                                await on_thought(part.text)
                            else:
                                text.append(part.text)
                                await on_text(part.text)
        except errors.APIError as e:
            status = e.code if isinstance(e.code, int) else None
            detail = f"{e.status or ''} {e.message or ''}".strip() or str(e)
            if is_retryable_status(status):
                raise RetryableError(detail, status=status, retry_after=_retry_hint(e)) from e
            raise FatalError(detail, status=status) from e
        except (OSError, ConnectionError) as e:
            raise RetryableError(f"connection failed: {e}") from e
        except Exception as e:
            if _is_transport_error(e):
                raise RetryableError(f"connection failed: {type(e).__name__}: {e}") from e
            raise
        out.text = "".join(text)
        out.thinking = "".join(thinking)
        out.native = parts
        return out


def _is_transport_error(e: Exception) -> bool:
    mod = type(e).__module__
    return mod.startswith(("aiohttp", "httpx", "httpx2", "anyio"))


def _retry_hint(e: Any) -> float | None:
    details = e.details if isinstance(e.details, dict) else {}
    error = details.get("error", details)
    for d in (error.get("details") if isinstance(error, dict) else None) or []:
        if isinstance(d, dict) and d.get("@type") == RETRY_INFO:
            hint = parse_retry_after(str(d.get("retryDelay", "")))
            if hint is not None:
                return hint
    headers = getattr(getattr(e, "response", None), "headers", None)
    if headers is not None:
        try:
            return parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
        except Exception:  # noqa: BLE001
            return None
    return None
