"""A tiny Slack Web API stand-in for writer tests: records calls, can answer 429 or errors."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    at: float
    args: dict[str, Any]


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many next calls with HTTP 429
    retry_after: str = "0"
    fail_with: dict[str, str] = field(default_factory=dict)  # channel -> error code
    reject_blocks_once: bool = False
    url: str = ""
    _seq: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/"
        self._changed = asyncio.Condition()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate, limit_s: float = 5.0) -> None:
        assert self._changed is not None
        async with asyncio.timeout(limit_s), self._changed:
            await self._changed.wait_for(predicate)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(await request.post())
        if isinstance(args.get("blocks"), str):
            args["blocks"] = json.loads(args["blocks"])
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            await self._record(Call(method + ":429", time.monotonic(), args))
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        await self._record(Call(method, time.monotonic(), args))
        channel = str(args.get("channel", ""))
        if channel in self.fail_with:
            return web.json_response({"ok": False, "error": self.fail_with[channel]})
        if self.reject_blocks_once and args.get("blocks"):
            self.reject_blocks_once = False
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        self._seq += 1
        ts = args.get("ts") or f"1796396300.{self._seq:06d}"
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
