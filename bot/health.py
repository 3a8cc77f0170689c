"""`/health`: is this replica able to do its job? 200 when every check passes, else 503.

Checks are async callables returning `(ok, detail)`; each runs with a timeout so a hung
dependency shows up as a failed check, not a hung probe. Before `mark_ready()` the answer is
503 "starting" (a benchmark measures start -> ready through this endpoint).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Check = Callable[[], Awaitable[tuple[bool, str]]]
WarningHook = Callable[[str, str], Awaitable[None]]


class Health:
    def __init__(self, timeout_s: float = 3.0) -> None:
        self._checks: dict[str, Check] = {}
        self._timeout = timeout_s
        self._ready = False
        self._started = time.monotonic()
        self._ready_after_s: float | None = None
        self._warned: set[str] = set()
        self.on_warning: WarningHook | None = None

    def add_check(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def mark_ready(self) -> None:
        self._ready = True
        self._ready_after_s = time.monotonic() - self._started

    @property
    def ready(self) -> bool:
        return self._ready

    async def _run(self, name: str, check: Check) -> tuple[str, bool, str]:
        try:
            async with asyncio.timeout(self._timeout):
                ok, detail = await check()
        except TimeoutError:
            ok, detail = False, f"no answer within {self._timeout:g} s"
        except Exception as e:  # a check must never break the probe
            ok, detail = False, f"{type(e).__name__}: {e}"
        return name, ok, detail

    async def report(self) -> tuple[bool, dict[str, Any]]:
        results = await asyncio.gather(*(self._run(n, c) for n, c in self._checks.items()))
        checks = {name: {"ok": ok, "detail": detail} for name, ok, detail in results}
        reasons = [f"{name}: {detail}" for name, ok, detail in results if not ok]
        if not self._ready:
            reasons.insert(0, "starting: not ready yet")
        healthy = not reasons
        body: dict[str, Any] = {
            "status": "ok" if healthy else "unhealthy",
            "ready": self._ready,
            "checks": checks,
            "reasons": reasons,
        }
        if self._ready_after_s is not None:
            body["ready_after_s"] = round(self._ready_after_s, 3)
        await self._warn_once([(n, d) for n, ok, d in results if not ok])
        return healthy, body

    async def _warn_once(self, failing: list[tuple[str, str]]) -> None:
        """Post each system warning once (until that check recovers)."""
        failing_names = {n for n, _ in failing}
        self._warned &= failing_names  # a recovered check may warn again later
        if not self._ready or self.on_warning is None:
            return
        for name, detail in failing:
            if name not in self._warned:
                self._warned.add(name)
                try:
                    await self.on_warning(name, detail)
                except Exception:
                    pass

    async def handle(self, request: web.Request) -> web.Response:
        healthy, body = await self.report()
        return web.json_response(body, status=200 if healthy else 503)
