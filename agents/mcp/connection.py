"""One MCP server connection, owned by ONE asyncio task.

The MCP SDK requires a session/transport to be closed by the task that opened it, so each
server gets an owner task that opens the transport + `ClientSession`, publishes the session,
waits for a stop request and closes both. Any task may call tools through the published
session concurrently. A connection that died (stdio process killed, HTTP gone) is restarted
on demand by `restart(generation)`, which several failing callers may request at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import mcp_types
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from config.models import McpServerConfig

log = logging.getLogger(__name__)

Streams = tuple[Any, Any]
ConnectFn = Callable[[], AbstractAsyncContextManager[Any]]
"""Returns an async context manager yielding (read_stream, write_stream[, ...])."""

# Variables a stdio server gets from our environment; everything else comes from its config.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "SHELL", "TERM", "TZ")

CONNECT_TIMEOUT_S = 30.0


class McpUnavailable(RuntimeError):
    """The server cannot be reached (failed to start, or died and did not come back)."""


# What the streamable HTTP client reports when the server no longer knows our session (it
# restarted, or expired the session after idling): HTTP 404, surfaced as INVALID_REQUEST.
SESSION_LOST_MESSAGES = ("session not found", "session terminated")


def is_connection_error(exc: BaseException) -> bool:
    """True when the connection (not the tool) failed, so reconnecting may help."""
    if isinstance(exc, MCPError):
        if exc.code == mcp_types.CONNECTION_CLOSED:
            return True
        return exc.code == mcp_types.INVALID_REQUEST and any(
            m in exc.message.lower() for m in SESSION_LOST_MESSAGES
        )
    return isinstance(
        exc,
        anyio.ClosedResourceError
        | anyio.BrokenResourceError
        | anyio.EndOfStream
        | ConnectionError
        | EOFError,
    )


def stdio_env(configured: dict[str, str]) -> dict[str, str]:
    env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    env.update(configured)
    return env


def default_connect(cfg: McpServerConfig) -> ConnectFn:
    t = cfg.transport
    if t.type == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=t.command or "", args=list(t.args), env=stdio_env(t.env)
        )
        return lambda: stdio_client(params)
    if t.type == "http":

        @contextlib.asynccontextmanager
        async def http() -> AsyncIterator[Any]:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            async with (
                create_mcp_http_client(headers=dict(t.headers)) as client,
                streamable_http_client(t.url or "", http_client=client) as streams,
            ):
                yield streams

        return http
    from mcp.client.sse import sse_client

    return lambda: sse_client(t.url or "", headers=dict(t.headers) or None)


class McpConnection:
    def __init__(self, name: str, cfg: McpServerConfig, connect: ConnectFn | None = None) -> None:
        self.name = name
        self.cfg = cfg
        self._connect = connect or default_connect(cfg)
        self.status = "not_started"  # not_started | starting | healthy | unhealthy | stopped
        self.last_error: str | None = None
        self.tools: list[mcp_types.Tool] = []
        self.instructions: str = ""
        self.generation = 0
        self.restarts = 0
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def ensure_started(self) -> None:
        """Start the owner task if needed and wait until the session is ready."""
        if self._session is not None and self._owner and not self._owner.done():
            return
        async with self._lock:
            if self._session is None or not self._owner or self._owner.done():
                await self._start_locked()
        if self._session is None:
            raise McpUnavailable(self._unavailable_message())

    async def restart(self, failed_generation: int) -> None:
        """Restart after a connection error seen on `failed_generation` (no-op if another
        caller already restarted it)."""
        async with self._lock:
            if self.generation != failed_generation and self._session is not None:
                return
            self.restarts += 1
            await self._stop_locked()
            await self._start_locked()
        if self._session is None:
            raise McpUnavailable(self._unavailable_message())

    async def aclose(self) -> None:
        async with self._lock:
            await self._stop_locked()
            self.status = "stopped"

    async def _start_locked(self) -> None:
        self.status = "starting"
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._owner = asyncio.get_running_loop().create_task(
            self._own(self._stop, self._ready), name=f"mcp-owner:{self.name}"
        )
        ready = self._ready
        try:
            async with asyncio.timeout(self.cfg.transport.timeout_seconds + CONNECT_TIMEOUT_S):
                await ready.wait()
        except TimeoutError:
            self.last_error = "timed out connecting"
            self.status = "unhealthy"
            await self._stop_locked()

    async def _stop_locked(self) -> None:
        owner, stop = self._owner, self._stop
        self._session = None
        if owner is None or stop is None:
            return
        stop.set()
        if not owner.done():
            done, _ = await asyncio.wait({owner}, timeout=10.0)
            if not done:
                owner.cancel()
                with contextlib.suppress(BaseException):
                    await owner
        self._owner = None

    async def _own(self, stop: asyncio.Event, ready: asyncio.Event) -> None:
        """The owner task: open, publish, wait for stop, close — all in this task."""
        try:
            async with self._connect() as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    listing = await session.list_tools()
                    self.tools = list(listing.tools)
                    self.instructions = init.instructions or ""
                    self.generation += 1
                    self._session = session
                    self.status = "healthy"
                    self.last_error = None
                    ready.set()
                    await stop.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # noqa: BLE001 - any failure makes the server unhealthy
            self.last_error = _describe(e)
            log.warning("MCP server %s failed: %s", self.name, self.last_error)
        finally:
            self._session = None
            if not stop.is_set():  # ended on its own (died / failed to start)
                self.status = "unhealthy"
            ready.set()

    # ------------------------------------------------------------------ calls

    @property
    def session(self) -> ClientSession | None:
        return self._session

    def mark_unhealthy(self, error: str) -> None:
        self.status = "unhealthy"
        self.last_error = error

    def _unavailable_message(self) -> str:
        t = self.cfg.transport
        where = t.command if t.type == "stdio" else t.url
        return (
            f"MCP server '{self.name}' ({t.type}: {where}) is unavailable: "
            f"{self.last_error or 'unknown error'}. Check the server's command/url in "
            f"mcp_servers.{self.name}.transport and that it starts on its own."
        )

    async def call_tool(
        self, tool: str, arguments: dict[str, Any], timeout_s: float
    ) -> mcp_types.CallToolResult:
        """Call a tool; on a dead connection restart the server and retry once."""
        await self.ensure_started()
        for attempt in (1, 2):
            session, generation = self._session, self.generation
            if session is None:
                raise McpUnavailable(self._unavailable_message())
            try:
                async with asyncio.timeout(timeout_s + 1.0):
                    result = await session.call_tool(
                        tool, arguments, read_timeout_seconds=timeout_s
                    )
            except BaseException as e:
                if isinstance(e, asyncio.CancelledError) or not is_connection_error(e):
                    raise
                self.mark_unhealthy(_describe(e))
                if attempt == 2:
                    raise McpUnavailable(self._unavailable_message()) from e
                await self.restart(generation)
                continue
            if not isinstance(result, mcp_types.CallToolResult):
                raise RuntimeError(f"unexpected result type {type(result).__name__}")
            return result
        raise AssertionError("unreachable")


def _describe(e: BaseException) -> str:
    if isinstance(e, BaseExceptionGroup):
        inner = [_describe(x) for x in e.exceptions]
        return "; ".join(inner) or type(e).__name__
    text = str(e) or type(e).__name__
    return f"{type(e).__name__}: {text}"
