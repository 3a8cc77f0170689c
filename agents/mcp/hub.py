"""ToolHub: the configured MCP servers behind one call interface, with policy and masking.

Servers connect lazily, in parallel, the first time an agent needs them. Unhealthy servers are
reported as `AgentWarning` events and simply offer no tools; the investigation goes on.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import mcp_types

from agents.events import AgentWarning, EventContext, EventSink
from agents.masking import MASK_FAILED_TEXT, Masker
from agents.mcp.connection import ConnectFn, McpConnection, McpUnavailable
from agents.mcp.policy import ToolPolicy
from agents.mcp.tools import SEPARATOR, ToolSpec, namespaced
from config.models import McpServerConfig


@dataclass(slots=True)
class ToolOutcome:
    server: str
    tool: str
    text: str  # full masked result (or the error text the model gets)
    duration_ms: float
    error: str | None = None
    denied: bool = False


async def _no_sink(_event: Any) -> None:
    return None


class ToolHub:
    def __init__(
        self,
        servers: dict[str, McpServerConfig],
        *,
        tool_timeout_s: float = 60.0,
        connect: dict[str, ConnectFn] | None = None,
    ) -> None:
        self._cfgs = {name: cfg for name, cfg in servers.items() if cfg.enabled}
        connect = connect or {}
        self._conns = {
            name: McpConnection(name, cfg, connect.get(name)) for name, cfg in self._cfgs.items()
        }
        self._policies = {name: ToolPolicy(name, cfg) for name, cfg in self._cfgs.items()}
        self._maskers = {
            name: Masker.from_settings(cfg.masking) for name, cfg in self._cfgs.items()
        }
        self._tool_timeout_s = tool_timeout_s

    # ------------------------------------------------------------------ discovery

    @property
    def server_names(self) -> list[str]:
        return list(self._cfgs)

    def masker(self, server: str) -> Masker:
        return self._maskers[server]

    def config(self, server: str) -> McpServerConfig:
        return self._cfgs[server]

    def health(self) -> dict[str, str]:
        return {name: conn.status for name, conn in self._conns.items()}

    async def connect(
        self, servers: list[str], emit: EventSink = _no_sink, ctx: EventContext | None = None
    ) -> list[str]:
        """Connect the named servers in parallel; returns the healthy ones. Unknown or
        unhealthy servers produce one `AgentWarning` each (per failure)."""
        ctx = ctx or EventContext()
        names = [s for s in servers if s in self._conns]
        for missing in (s for s in servers if s not in self._conns):
            await emit(
                AgentWarning(
                    ctx=ctx,
                    code="mcp_unknown_server",
                    server=missing,
                    message=f"MCP server '{missing}' is not configured or disabled; "
                    "its tools are not available.",
                )
            )
        results = await asyncio.gather(
            *(self._conns[n].ensure_started() for n in names), return_exceptions=True
        )
        healthy = []
        for name, res in zip(names, results, strict=True):
            if isinstance(res, BaseException):
                if isinstance(res, asyncio.CancelledError):
                    raise res
                await self._warn_unhealthy(name, str(res), emit, ctx)
            else:
                healthy.append(name)
        return healthy

    async def _warn_unhealthy(
        self, server: str, message: str, emit: EventSink, ctx: EventContext
    ) -> None:
        await emit(AgentWarning(ctx=ctx, code="mcp_unhealthy", server=server, message=message))

    async def tools_for(
        self, servers: list[str], emit: EventSink = _no_sink, ctx: EventContext | None = None
    ) -> list[ToolSpec]:
        """Tools the policy allows on the named servers (denied tools are never offered)."""
        specs: list[ToolSpec] = []
        for server in await self.connect(servers, emit, ctx):
            policy = self._policies[server]
            for tool in self._conns[server].tools:
                if policy.decide(tool.name).allowed:
                    specs.append(
                        ToolSpec(
                            name=namespaced(server, tool.name),
                            server=server,
                            tool=tool.name,
                            description=tool.description or tool.title or tool.name,
                            parameters=dict(tool.input_schema or {}),
                        )
                    )
        return specs

    def instructions(self, servers: list[str]) -> dict[str, str]:
        """Configured instructions plus what each connected server says about itself."""
        out: dict[str, str] = {}
        for name in servers:
            if name not in self._cfgs:
                continue
            parts = [self._cfgs[name].instructions.strip(), self._conns[name].instructions.strip()]
            text = "\n".join(p for p in parts if p)
            if text:
                out[name] = text
        return out

    # ------------------------------------------------------------------ calls

    def resolve(self, name: str, servers: list[str]) -> tuple[str, str] | None:
        """Map a model-visible name to (server, tool) among `servers`."""
        for server in servers:
            conn = self._conns.get(server)
            if conn is None:
                continue
            for tool in conn.tools:
                if namespaced(server, tool.name) == name:
                    return server, tool.name
        if SEPARATOR in name:
            server, tool = name.split(SEPARATOR, 1)
            if server in servers and server in self._conns:
                return server, tool
        return None

    async def call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        servers: list[str],
        emit: EventSink = _no_sink,
        ctx: EventContext | None = None,
    ) -> ToolOutcome:
        """Run one tool call the model asked for. Never raises for tool problems: denied,
        unknown, failed and timed-out calls come back as an error outcome the model reads."""
        ctx = ctx or EventContext()
        start = time.perf_counter()

        def done(text: str, **kw: Any) -> ToolOutcome:
            ms = (time.perf_counter() - start) * 1000
            return ToolOutcome(server=server, tool=tool, text=text, duration_ms=ms, **kw)

        resolved = self.resolve(name, servers)
        if resolved is None:
            server, tool = (
                (name.split(SEPARATOR, 1) + [""])[:2] if SEPARATOR in name else ("", name)
            )
            offered = ", ".join(servers) or "none"
            msg = (
                f"Error: tool '{name}' is not available (servers for this agent: {offered}). "
                "Use only the tools you were offered."
            )
            return done(msg, error="unknown tool", denied=True)
        server, tool = resolved
        decision = self._policies[server].decide(tool)
        if not decision.allowed:
            msg = f"Error: tool call refused by policy: {decision.reason}. Do not retry it."
            return done(msg, error=f"denied: {decision.reason}", denied=True)
        conn = self._conns[server]
        if tool not in {t.name for t in conn.tools}:
            if conn.status != "healthy" and not conn.tools:
                # Not a refusal: the server is down, so its tools are unknown right now.
                reason = self._safe_mask(server, conn.last_error or "not connected")[0]
                msg = (
                    f"Error: MCP server '{server}' is unavailable ({reason}); tool '{tool}' "
                    "could not run. Say in your answer which evidence you could not check."
                )
                return done(msg, error=f"server unavailable: {reason}")
            return done(
                f"Error: server '{server}' has no tool '{tool}'.", error="unknown tool", denied=True
            )

        timeout_s = min(self._tool_timeout_s, self._cfgs[server].transport.timeout_seconds)
        try:
            result = await self._conns[server].call_tool(tool, arguments, timeout_s)
        except McpUnavailable as e:
            await self._warn_unhealthy(server, str(e), emit, ctx)
            return done(f"Error: {e}", error=str(e))
        except TimeoutError:
            msg = f"Error: tool '{tool}' on '{server}' timed out after {timeout_s:g}s."
            return done(msg, error="timeout")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - a tool failure is data for the model
            if _is_timeout(e):
                msg = f"Error: tool '{tool}' on '{server}' timed out after {timeout_s:g}s."
                return done(msg, error="timeout")
            return done(
                f"Error from {server}/{tool}: {self._safe_mask(server, str(e))[0]}",
                error=type(e).__name__,
            )

        raw = result_text(result)
        text, mask_error = self._safe_mask(server, raw)
        if mask_error:
            await emit(
                AgentWarning(
                    ctx=ctx,
                    code="masking_failed",
                    server=server,
                    message=f"masking failed for {server}/{tool}: {mask_error}; result withheld",
                )
            )
            return done(text, error="masking failed")
        return done(text, error="tool reported an error" if result.is_error else None)

    def _safe_mask(self, server: str, text: str) -> tuple[str, str | None]:
        """Fail closed: if masking raises, nothing of the text is returned."""
        try:
            return self._maskers[server].mask_text(text), None
        except Exception as e:  # noqa: BLE001
            return MASK_FAILED_TEXT, f"{type(e).__name__}: {e}"

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._conns.values()), return_exceptions=True)


def _is_timeout(e: BaseException) -> bool:
    code = getattr(getattr(e, "error", None), "code", None)
    return code == getattr(mcp_types, "REQUEST_TIMEOUT", object()) or "timed out" in str(e).lower()


def result_text(result: mcp_types.CallToolResult) -> str:
    parts: list[str] = []
    for item in result.content or []:
        text = getattr(item, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.append(f"[{getattr(item, 'type', 'content')} omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, indent=2, default=str))
    return "\n".join(parts)
