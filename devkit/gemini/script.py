"""Scripted answers: which turn matches a request, and what the model replies.

A script is YAML (or a dict) with ``turns`` (tried in order, first match wins) and an optional
``default`` reply. Both wire formats (Gemini and OpenAI-compatible) are first reduced to a
:class:`RequestView`, so one script serves both.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MATCH_KEYS = {
    "system_contains",
    "last_user_contains",
    "has_function_response",
    "lacks_function_response",
    "tools_offered",
    "any_text_contains",
    "model",
}
RESPOND_KEYS = {
    "thought",
    "text",
    "function_calls",
    "thought_signature",
    "chunk_delay_ms",
    "finish_reason",
}
TURN_KEYS = {"id", "match", "times", "respond", "error"}
ERROR_KEYS = {"status", "retry_after", "times", "kind", "delay_s", "message"}
ERROR_KINDS = {"http", "hang", "garbage", "cut"}

DEFAULT_REPLY_TEXT = "I have no scripted answer for this request."


class ScriptError(ValueError):
    """The script file is malformed; the message names the turn and key."""


@dataclass
class RequestView:
    """The parts of a model request that scripts can match on (wire-format independent)."""

    model: str
    system_text: str
    last_user_text: str
    function_response_names: list[str]
    tools_offered: bool
    all_text: str


@dataclass
class FunctionCallSpec:
    name: str
    args: dict[str, Any]
    id: str = ""


@dataclass
class Reply:
    """A fully resolved model answer (ids and signatures already generated)."""

    thought: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    function_calls: list[FunctionCallSpec] = field(default_factory=list)
    thought_signature: str | None = None
    chunk_delay_ms: int = 0
    finish_reason: str = "STOP"

    def to_dict(self) -> dict[str, Any]:
        return {
            "thought": list(self.thought),
            "text": list(self.text),
            "function_calls": [
                {"id": c.id, "name": c.name, "args": c.args} for c in self.function_calls
            ],
            "thought_signature": self.thought_signature,
            "chunk_delay_ms": self.chunk_delay_ms,
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        """Rebuild a recorded reply exactly (used by replay mode)."""
        return cls(
            thought=list(data.get("thought") or []),
            text=list(data.get("text") or []),
            function_calls=[
                FunctionCallSpec(name=c["name"], args=c.get("args") or {}, id=c.get("id") or "")
                for c in data.get("function_calls") or []
            ],
            thought_signature=data.get("thought_signature"),
            chunk_delay_ms=int(data.get("chunk_delay_ms") or 0),
            finish_reason=data.get("finish_reason") or "STOP",
        )


@dataclass
class ErrorSpec:
    """An injected failure. ``kind``: http (status code), hang, garbage (bad SSE), cut."""

    kind: str = "http"
    status: int = 500
    retry_after_s: float | None = None
    delay_s: float = 0.0
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "retry_after_s": self.retry_after_s,
            "delay_s": self.delay_s,
        }


@dataclass
class Turn:
    id: str
    match: dict[str, Any]
    respond: dict[str, Any]
    times: int | None = None
    error: ErrorSpec | None = None
    error_times: int = 0
    used: int = 0
    errors_used: int = 0


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _parse_duration(value: Any) -> float | None:
    """'1s', '1.5s', '500ms' or a number of seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text)


def _reject_unknown_keys(raw: Any, allowed: set[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise ScriptError(f"{where}: unknown key(s) {sorted(unknown)}; allowed {sorted(allowed)}")


def _parse_error(raw: dict[str, Any], where: str) -> tuple[ErrorSpec, int]:
    _reject_unknown_keys(raw, ERROR_KEYS, f"{where}.error")
    kind = raw.get("kind", "http")
    if kind not in ERROR_KINDS:
        raise ScriptError(f"{where}.error.kind: {kind!r} is not one of {sorted(ERROR_KINDS)}")
    spec = ErrorSpec(
        kind=kind,
        status=int(raw.get("status", 500)),
        retry_after_s=_parse_duration(raw.get("retry_after")),
        delay_s=float(raw.get("delay_s", 0) or 0),
        message=raw.get("message"),
    )
    return spec, int(raw.get("times", 1))


def _check_respond(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: expected a mapping, got {type(raw).__name__}")
    _reject_unknown_keys(raw, RESPOND_KEYS, where)
    for i, call in enumerate(raw.get("function_calls") or []):
        if not isinstance(call, dict) or "name" not in call:
            raise ScriptError(f"{where}.function_calls[{i}]: needs a 'name' (and optional 'args')")
    return raw


class Script:
    """Parsed script with per-turn usage counters."""

    def __init__(self, turns: list[Turn], default: dict[str, Any]) -> None:
        self.turns = turns
        self.default = default

    @classmethod
    def load(cls, source: str | os.PathLike[str] | dict[str, Any] | None) -> Script:
        if source is None:
            return cls([], {"text": [DEFAULT_REPLY_TEXT]})
        if isinstance(source, dict):
            data, origin = source, "<script dict>"
        else:
            path = Path(source)
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except FileNotFoundError as exc:
                raise ScriptError(f"script file {path} does not exist; pass --script PATH") from exc
            except yaml.YAMLError as exc:
                raise ScriptError(f"script file {path} is not valid YAML: {exc}") from exc
            origin = str(path)
        if not isinstance(data, dict):
            raise ScriptError(f"{origin}: top level must be a mapping with 'turns' and 'default'")
        turns: list[Turn] = []
        for i, raw in enumerate(data.get("turns") or []):
            where = f"{origin}: turns[{i}]"
            if not isinstance(raw, dict):
                raise ScriptError(f"{where}: expected a mapping")
            _reject_unknown_keys(raw, TURN_KEYS, where)
            match = raw.get("match") or {}
            _reject_unknown_keys(match, MATCH_KEYS, f"{where}.match")
            turn = Turn(
                id=str(raw.get("id") or f"turn-{i + 1}"),
                match=match,
                respond=_check_respond(raw.get("respond"), f"{where}.respond"),
                times=raw.get("times"),
            )
            if raw.get("error"):
                turn.error, turn.error_times = _parse_error(raw["error"], where)
            turns.append(turn)
        default = _check_respond(data.get("default"), f"{origin}: default") or {
            "text": [DEFAULT_REPLY_TEXT]
        }
        return cls(turns, default)

    def pick(self, view: RequestView) -> tuple[str | None, dict[str, Any] | None, ErrorSpec | None]:
        """Return (turn id, respond spec, error) for the first matching turn, else the default."""
        for turn in self.turns:
            if turn.times is not None and turn.used >= turn.times:
                continue
            if not matches(turn.match, view):
                continue
            if turn.error is not None and turn.errors_used < turn.error_times:
                turn.errors_used += 1
                return turn.id, None, turn.error
            turn.used += 1
            return turn.id, turn.respond, None
        return None, self.default, None


def _fn_name_matches(wanted: str, names: list[str]) -> bool:
    return any(n == wanted or n.split("__")[-1] == wanted for n in names)


def matches(cond: dict[str, Any], view: RequestView) -> bool:
    """True when every condition in ``cond`` holds for the request."""
    checks = {
        "system_contains": lambda v: str(v) in view.system_text,
        "last_user_contains": lambda v: str(v) in view.last_user_text,
        "has_function_response": lambda v: _fn_name_matches(str(v), view.function_response_names),
        "lacks_function_response": lambda v: (
            not _fn_name_matches(str(v), view.function_response_names)
        ),
        "tools_offered": lambda v: bool(v) == view.tools_offered,
        "any_text_contains": lambda v: str(v) in view.all_text,
        "model": lambda v: view.model == str(v) or view.model.endswith("/" + str(v)),
    }
    return all(checks[key](value) for key, value in cond.items())


def new_call_id() -> str:
    return "call_" + secrets.token_hex(6)


def new_thought_signature() -> str:
    """Random base64 signature that reads the same in the standard and URL-safe alphabets,
    so an echoed signature compares equal as a string whichever encoder the client used."""
    while True:
        sig = base64.b64encode(secrets.token_bytes(24)).decode("ascii")
        if "+" not in sig and "/" not in sig:
            return sig


def resolve_reply(spec: dict[str, Any]) -> Reply:
    """Turn a ``respond`` spec into a concrete reply, generating call ids and a signature."""
    calls = [
        FunctionCallSpec(name=str(c["name"]), args=dict(c.get("args") or {}), id=new_call_id())
        for c in spec.get("function_calls") or []
    ]
    wants_sig = bool(spec.get("thought_signature"))
    finish = spec.get("finish_reason") or "STOP"
    return Reply(
        thought=_as_list(spec.get("thought")),
        text=_as_list(spec.get("text")),
        function_calls=calls,
        thought_signature=new_thought_signature() if wants_sig and calls else None,
        chunk_delay_ms=int(spec.get("chunk_delay_ms") or 0),
        finish_reason=str(finish),
    )


def estimate_tokens(text: str) -> int:
    """Rough token count (chars / 4), the same rule for requests and replies."""
    return (len(text) + 3) // 4
