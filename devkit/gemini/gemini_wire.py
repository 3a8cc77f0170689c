"""Gemini REST wire format (``generateContent`` / ``streamGenerateContent``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from devkit.gemini.script import ErrorSpec, Reply, RequestView, estimate_tokens

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_STATUS_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}


def collect_strings(value: Any, out: list[str]) -> None:
    """Append every string found anywhere in a JSON value (keys excluded)."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            collect_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            collect_strings(v, out)


def _parts_text(parts: list[dict[str, Any]] | None) -> str:
    return "".join(p.get("text", "") for p in parts or [] if isinstance(p, dict))


def view_request(model: str, body: dict[str, Any]) -> RequestView:
    """Reduce a Gemini request body to what scripts match on."""
    system = _parts_text((body.get("systemInstruction") or {}).get("parts"))
    fn_names: list[str] = []
    last_user = ""
    for content in body.get("contents") or []:
        parts = content.get("parts") or []
        for part in parts:
            if "functionResponse" in part:
                fn_names.append(str(part["functionResponse"].get("name", "")))
        text = _parts_text([p for p in parts if not p.get("thought")])
        # The last *human* turn: user-role content that carries text (not only tool results).
        if content.get("role", "user") == "user" and text:
            last_user = text
    tools_offered = any(
        t.get("functionDeclarations") or t.get("function_declarations")
        for t in body.get("tools") or []
    )
    strings: list[str] = []
    collect_strings(body, strings)
    return RequestView(
        model=model,
        system_text=system,
        last_user_text=last_user,
        function_response_names=fn_names,
        tools_offered=bool(tools_offered),
        all_text="\n".join(strings),
    )


def _usage(prompt: int, candidates: int, thoughts: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _function_call_parts(reply: Reply) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for i, call in enumerate(reply.function_calls):
        part: dict[str, Any] = {
            "functionCall": {"id": call.id, "name": call.name, "args": call.args}
        }
        # Like Gemini: the signature rides on the first function call of a turn.
        if i == 0 and reply.thought_signature:
            part["thoughtSignature"] = reply.thought_signature
        parts.append(part)
    return parts


def reply_chunks(reply: Reply, model: str, prompt_tokens: int) -> Iterator[dict[str, Any]]:
    """The streamed response events for a reply, last one with ``finishReason``."""
    response_id = secrets.token_urlsafe(12)
    thoughts = estimate_tokens("".join(reply.thought))
    cand = 0
    groups: list[list[dict[str, Any]]] = [[{"text": t, "thought": True}] for t in reply.thought]
    groups += [[{"text": t}] for t in reply.text]
    if reply.function_calls:
        groups.append(_function_call_parts(reply))
    if not groups:
        groups.append([{"text": ""}])
    for i, parts in enumerate(groups):
        for p in parts:
            if not p.get("thought"):
                cand += estimate_tokens(p.get("text", "") or json.dumps(p.get("functionCall", {})))
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if i == len(groups) - 1:
            candidate["finishReason"] = reply.finish_reason
        yield {
            "candidates": [candidate],
            "usageMetadata": _usage(prompt_tokens, cand, thoughts),
            "modelVersion": model,
            "responseId": response_id,
        }


def whole_response(reply: Reply, model: str, prompt_tokens: int) -> dict[str, Any]:
    """The non-streaming ``generateContent`` response: all chunks merged."""
    chunks = list(reply_chunks(reply, model, prompt_tokens))
    parts: list[dict[str, Any]] = []
    for chunk in chunks:
        for part in chunk["candidates"][0]["content"]["parts"]:
            same_kind = parts and "text" in part and "text" in parts[-1]
            if same_kind and bool(parts[-1].get("thought")) == bool(part.get("thought")):
                parts[-1] = {**parts[-1], "text": parts[-1]["text"] + part["text"]}
            else:
                parts.append(dict(part))
    last = chunks[-1]
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": reply.finish_reason,
                "index": 0,
            }
        ],
        "usageMetadata": last["usageMetadata"],
        "modelVersion": model,
        "responseId": last["responseId"],
    }


def error_body(err: ErrorSpec) -> dict[str, Any]:
    """A JSON error body shaped like Google's (``google.rpc.Status``)."""
    status = err.status
    error: dict[str, Any] = {
        "code": status,
        "message": err.message or _STATUS_MESSAGES.get(status, f"HTTP {status} (devkit injected)"),
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if status == 429:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            },
        ]
        if err.retry_after_s is not None:
            error["details"].append(
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{err.retry_after_s:g}s",
                }
            )
    return {"error": error}


def missing_key_body() -> dict[str, Any]:
    return {
        "error": {
            "code": 401,
            "message": "Request is missing required authentication credential. Expected an API "
            "key in the x-goog-api-key header (set GEMINI_API_KEY / GOOGLE_API_KEY).",
            "status": "UNAUTHENTICATED",
        }
    }
