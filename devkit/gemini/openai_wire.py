"""OpenAI-compatible Chat Completions wire format, answered from the same script.

Mapping onto the script's conditions: ``system`` messages are the system instruction, ``tool``
messages are function responses (named via the assistant's earlier ``tool_calls``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from devkit.gemini.gemini_wire import collect_strings
from devkit.gemini.script import ErrorSpec, Reply, RequestView, estimate_tokens

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def view_request(body: dict[str, Any]) -> RequestView:
    system: list[str] = []
    last_user = ""
    call_names: dict[str, str] = {}
    fn_names: list[str] = []
    for msg in body.get("messages") or []:
        role = msg.get("role")
        if role in ("system", "developer"):
            system.append(_content_text(msg.get("content")))
        elif role == "user":
            last_user = _content_text(msg.get("content")) or last_user
        elif role == "assistant":
            for call in msg.get("tool_calls") or []:
                call_names[call.get("id", "")] = (call.get("function") or {}).get("name", "")
        elif role == "tool":
            name = msg.get("name") or call_names.get(msg.get("tool_call_id", ""), "")
            fn_names.append(name)
    strings: list[str] = []
    collect_strings(body, strings)
    return RequestView(
        model=str(body.get("model", "")),
        system_text="\n".join(system),
        last_user_text=last_user,
        function_response_names=fn_names,
        tools_offered=bool(body.get("tools")),
        all_text="\n".join(strings),
    )


def _usage(prompt: int, reply: Reply) -> dict[str, Any]:
    completion = estimate_tokens("".join(reply.text)) + sum(
        estimate_tokens(c.name + json.dumps(c.args)) for c in reply.function_calls
    )
    reasoning = estimate_tokens("".join(reply.thought))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion + reasoning,
        "total_tokens": prompt + completion + reasoning,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def _finish(reply: Reply) -> str:
    if reply.function_calls:
        return "tool_calls"
    return "length" if reply.finish_reason == "MAX_TOKENS" else "stop"


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "index": i,
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.args)},
        }
        for i, c in enumerate(reply.function_calls)
    ]


def stream_chunks(
    reply: Reply, model: str, prompt_tokens: int, include_usage: bool
) -> Iterator[dict[str, Any]]:
    """``chat.completion.chunk`` objects (the caller adds ``data: [DONE]``)."""
    base = {
        "id": "chatcmpl-" + secrets.token_hex(8),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    for thought in reply.thought:
        yield chunk({"reasoning_content": thought})
    for text in reply.text:
        yield chunk({"content": text})
    if reply.function_calls:
        yield chunk({"tool_calls": _tool_calls(reply)})
    yield chunk({}, _finish(reply))
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(prompt_tokens, reply)}


def whole_response(reply: Reply, model: str, prompt_tokens: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(reply.text) or None}
    if reply.function_calls:
        message["tool_calls"] = [
            {k: v for k, v in c.items() if k != "index"} for c in _tool_calls(reply)
        ]
    return {
        "id": "chatcmpl-" + secrets.token_hex(8),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply)}],
        "usage": _usage(prompt_tokens, reply),
    }


def error_body(err: ErrorSpec) -> dict[str, Any]:
    return {
        "error": {
            "message": err.message or f"HTTP {err.status} (devkit injected)",
            "type": _ERROR_TYPES.get(err.status, "server_error"),
            "code": err.status,
        }
    }


def missing_key_body() -> dict[str, Any]:
    return {
        "error": {
            "message": "Missing API key: send 'Authorization: Bearer <key>'.",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
