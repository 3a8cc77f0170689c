"""A local Gemini REST server (plus OpenAI-compatible Chat Completions) answering from a script.

The real ``google-genai`` client talks to it unchanged via ``HttpOptions(base_url=...)`` or
``GOOGLE_GEMINI_BASE_URL``. Every request is recorded; failures can be injected on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from devkit.gemini import gemini_wire, openai_wire
from devkit.gemini.script import (
    ErrorSpec,
    Reply,
    RequestView,
    Script,
    estimate_tokens,
    resolve_reply,
)

_SECRET_HEADERS = {"x-goog-api-key", "authorization", "cookie"}
_GEMINI_ACTIONS = {"generateContent", "streamGenerateContent", "countTokens"}


@dataclass
class RecordedRequest:
    """One request the server received and how it answered."""

    path: str
    model: str
    body: dict[str, Any]
    turn_id: str | None
    at: float
    kind: str = "gemini"  # "gemini" | "openai"
    headers: dict[str, str] = field(default_factory=dict)
    reply: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    stream: bool = False
    prompt_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReplayLog:
    """Answers from a recorded requests log (``GET /_devkit/requests`` output), in order."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = data.get("requests", []) if isinstance(data, dict) else data
        self.entries: deque[dict[str, Any]] = deque(entries)
        self.total = len(self.entries)

    def next(self) -> tuple[str | None, Reply | None, ErrorSpec | None]:
        if not self.entries:
            return (
                None,
                None,
                ErrorSpec(
                    status=500,
                    message=f"devkit replay exhausted: the log held {self.total} responses and "
                    "all were used; record a longer conversation or restart the server",
                ),
            )
        entry = self.entries.popleft()
        if entry.get("error"):
            err = entry["error"]
            return (
                entry.get("turn_id"),
                None,
                ErrorSpec(
                    kind=err.get("kind", "http"),
                    status=int(err.get("status", 500)),
                    retry_after_s=err.get("retry_after_s"),
                    delay_s=float(err.get("delay_s") or 0),
                ),
            )
        return entry.get("turn_id"), Reply.from_dict(entry.get("reply") or {}), None


class GeminiServer:
    """Scripted Gemini / OpenAI-compatible model server. Use as ``async with``."""

    def __init__(
        self,
        script: str | os.PathLike[str] | dict[str, Any] | None = None,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        replay: str | os.PathLike[str] | None = None,
        record_path: str | os.PathLike[str] | None = None,
        require_api_key: bool = True,
    ) -> None:
        self._script = Script.load(script)
        self._replay = ReplayLog(replay) if replay else None
        self._host = host
        self._port = port
        self._record_path = Path(record_path) if record_path else None
        self._require_key = require_api_key
        self._failures: deque[ErrorSpec] = deque()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._changed = asyncio.Condition()
        self.requests: list[RecordedRequest] = []

    # ---- lifecycle -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> GeminiServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(r"/{version:v1|v1beta|v1alpha}/models/{target}", self._gemini)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1beta/openai/chat/completions", self._openai)
        app.router.add_get("/_devkit/requests", self._list_requests)
        app.router.add_post("/_devkit/fail_next", self._fail_next_http)
        app.router.add_get("/_devkit/health", self._health)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GeminiServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- Python control API --------------------------------------------------------------
    def set_script(self, script: str | os.PathLike[str] | dict[str, Any] | None) -> None:
        """Replace the script (turn usage counters start again)."""
        self._script = Script.load(script)

    def fail_next(
        self,
        status: int = 500,
        times: int = 1,
        retry_after_s: float | None = None,
        *,
        kind: str = "http",
        delay_s: float = 0.0,
        message: str | None = None,
    ) -> None:
        """Make the next ``times`` requests fail.

        kind: ``http`` (error status with a Google-shaped body; 429 carries RetryInfo),
        ``hang`` (answer only after ``delay_s``), ``garbage`` (unparseable SSE), ``cut``
        (stream cut in the middle of an event).
        """
        spec = ErrorSpec(
            kind=kind, status=status, retry_after_s=retry_after_s, delay_s=delay_s, message=message
        )
        self._failures.extend(spec for _ in range(times))

    async def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[RecordedRequest]:  # noqa: ASYNC109
        """Wait until at least ``n`` requests were recorded; returns them."""
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(self.requests) >= n), timeout
                )
            except TimeoutError as exc:
                raise TimeoutError(
                    f"devkit gemini: expected {n} model requests within {timeout}s, "
                    f"got {len(self.requests)}"
                ) from exc
        return list(self.requests)

    def all_request_text(self) -> str:
        """Every string the model was sent (all requests), newline separated."""
        out: list[str] = []
        for req in self.requests:
            gemini_wire.collect_strings(req.body, out)
        return "\n".join(out)

    def save_log(self, path: str | os.PathLike[str]) -> None:
        """Write the requests log (usable as ``--replay`` input)."""
        payload = {"requests": [r.to_dict() for r in self.requests]}
        Path(path).write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")

    # ---- shared plumbing -----------------------------------------------------------------
    def _decide(self, view: RequestView) -> tuple[str | None, Reply | None, ErrorSpec | None]:
        if self._failures:
            return "fail_next", None, self._failures.popleft()
        if self._replay is not None:
            return self._replay.next()
        turn_id, spec, err = self._script.pick(view)
        return turn_id, (resolve_reply(spec) if spec is not None else None), err

    async def _record(self, rec: RecordedRequest) -> None:
        async with self._changed:
            self.requests.append(rec)
            self._changed.notify_all()
        if self._record_path is not None:
            self.save_log(self._record_path)

    async def _answer(
        self,
        request: web.Request,
        view: RequestView,
        *,
        kind: str,
        model: str,
        body: dict[str, Any],
        stream: bool,
        prompt_tokens: int,
    ) -> tuple[Reply | None, ErrorSpec | None]:
        """Pick the reply or failure for `view`, log the request, and sit out a scripted hang.

        A hang ends in the script's default reply, returned with no error."""
        turn_id, reply, err = self._decide(view)
        await self._record(
            RecordedRequest(
                path=request.path,
                model=model,
                body=body,
                turn_id=turn_id,
                at=time.time(),
                kind=kind,
                headers=self._clean_headers(request),
                reply=reply.to_dict() if reply else None,
                error=err.to_dict() if err else None,
                stream=stream,
                prompt_tokens=prompt_tokens,
            )
        )
        if err is not None and err.kind == "hang":
            await self._hang(err.delay_s)
            return resolve_reply(self._script.default), None
        return reply, err

    async def _hang(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    @staticmethod
    def _clean_headers(request: web.Request) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS}

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return body if isinstance(body, dict) else None

    async def _sse(
        self, request: web.Request, events: list[str], delay_ms: int
    ) -> web.StreamResponse:
        resp = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        for i, data in enumerate(events):
            if i and delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            await resp.write(f"data: {data}\n\n".encode())
        await resp.write_eof()
        return resp

    async def _broken_stream(
        self, request: web.Request, kind: str, first: str
    ) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if kind == "garbage":
            await resp.write(b"data: {this is not json at all]]\n\n")
            await resp.write_eof()
            return resp
        await resp.write(f"data: {first}\n\n".encode())
        await resp.write(b'data: {"candidates": [{"content": {"role": "model", "parts": [{"te')
        if request.transport is not None:
            request.transport.close()  # cut mid-event: no terminating chunk, no blank line
        return resp

    # ---- Gemini --------------------------------------------------------------------------
    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        target = request.match_info["target"]
        model, _, action = target.rpartition(":")
        if action not in _GEMINI_ACTIONS or not model:
            return web.json_response(
                gemini_wire.error_body(
                    ErrorSpec(status=404, message=f"devkit: unsupported method {target!r}")
                ),
                status=404,
            )
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if self._require_key and not key:
            return web.json_response(gemini_wire.missing_key_body(), status=401)
        body = await self._json_body(request)
        if body is None:
            err = ErrorSpec(status=400, message="Invalid JSON payload received.")
            return web.json_response(gemini_wire.error_body(err), status=400)
        view = gemini_wire.view_request(model, body)
        prompt_tokens = estimate_tokens(view.all_text)
        if action == "countTokens":
            return web.json_response({"totalTokens": prompt_tokens})
        stream = action == "streamGenerateContent"
        reply, err = await self._answer(
            request,
            view,
            kind="gemini",
            model=model,
            body=body,
            stream=stream,
            prompt_tokens=prompt_tokens,
        )
        if err is not None:
            if err.kind in ("garbage", "cut"):
                first = json.dumps(
                    next(gemini_wire.reply_chunks(Reply(text=["partial "]), model, prompt_tokens))
                )
                return await self._broken_stream(request, err.kind, first)
            else:
                return web.json_response(gemini_wire.error_body(err), status=err.status)
        assert reply is not None
        if not stream:
            await asyncio.sleep(reply.chunk_delay_ms / 1000)
            return web.json_response(gemini_wire.whole_response(reply, model, prompt_tokens))
        events = [json.dumps(c) for c in gemini_wire.reply_chunks(reply, model, prompt_tokens)]
        return await self._sse(request, events, reply.chunk_delay_ms)

    # ---- OpenAI-compatible ---------------------------------------------------------------
    async def _openai(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if self._require_key and not auth.lower().startswith("bearer "):
            return web.json_response(openai_wire.missing_key_body(), status=401)
        body = await self._json_body(request)
        if body is None:
            err = ErrorSpec(status=400, message="We could not parse the JSON body of your request.")
            return web.json_response(openai_wire.error_body(err), status=400)
        view = openai_wire.view_request(body)
        model = view.model
        prompt_tokens = estimate_tokens(view.all_text)
        stream = bool(body.get("stream"))
        reply, err = await self._answer(
            request,
            view,
            kind="openai",
            model=model,
            body=body,
            stream=stream,
            prompt_tokens=prompt_tokens,
        )
        if err is not None:
            if err.kind in ("garbage", "cut"):
                first = json.dumps(
                    next(openai_wire.stream_chunks(Reply(text=["partial "]), model, 0, False))
                )
                return await self._broken_stream(request, err.kind, first)
            else:
                headers = {}
                if err.retry_after_s is not None:
                    headers["Retry-After"] = f"{err.retry_after_s:g}"
                return web.json_response(
                    openai_wire.error_body(err), status=err.status, headers=headers
                )
        assert reply is not None
        if not stream:
            await asyncio.sleep(reply.chunk_delay_ms / 1000)
            return web.json_response(openai_wire.whole_response(reply, model, prompt_tokens))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = [
            json.dumps(c)
            for c in openai_wire.stream_chunks(reply, model, prompt_tokens, include_usage)
        ]
        events.append("[DONE]")
        return await self._sse(request, events, reply.chunk_delay_ms)

    # ---- devkit endpoints ----------------------------------------------------------------
    async def _list_requests(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": [r.to_dict() for r in self.requests]})

    async def _fail_next_http(self, request: web.Request) -> web.Response:
        body = await self._json_body(request) or {}
        allowed = {"status", "times", "retry_after_s", "kind", "delay_s", "message"}
        self.fail_next(**{k: v for k, v in body.items() if k in allowed})
        return web.json_response({"ok": True, "pending_failures": len(self._failures)})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "requests": len(self.requests)})
