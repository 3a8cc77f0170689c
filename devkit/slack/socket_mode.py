"""Socket Mode: WebSocket connections the app opens with a URL from apps.connections.open."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from devkit.slack.state import APP_ID

if TYPE_CHECKING:
    from devkit.slack.emulator import SlackEmulator

log = logging.getLogger("devkit.slack.socket_mode")


class SocketModeHub:
    """Hands out one-time connection tickets, keeps live sockets, routes acks."""

    def __init__(self, emulator: SlackEmulator):
        self.emu = emulator
        self._tickets: set[str] = set()
        self.connections: list[web.WebSocketResponse] = []
        self._rr = itertools.count()
        self.connected = asyncio.Event()
        self.connects = 0  # total successful WebSocket handshakes (tests watch reconnects)

    def new_url(self) -> str:
        ticket = secrets.token_hex(12)
        self._tickets.add(ticket)
        return f"{self.emu.ws_base_url}link/?ticket={ticket}&app_id={APP_ID}"

    def pick(self) -> web.WebSocketResponse | None:
        live = [ws for ws in self.connections if not ws.closed]
        if not live:
            return None
        return live[next(self._rr) % len(live)]

    async def send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> bool:
        try:
            await ws.send_str(json.dumps(message))
            return True
        except (ConnectionError, RuntimeError) as exc:
            log.info("socket send failed: %s", exc)
            return False

    async def disconnect_all(self, reason: str = "refresh_requested") -> None:
        for ws in list(self.connections):
            await self.send(ws, {"type": "disconnect", "reason": reason, "debug_info": {}})

    async def close_all(self) -> None:
        for ws in list(self.connections):
            await ws.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            raise web.HTTPUnauthorized(
                text="Socket Mode: unknown or used ticket; call apps.connections.open first"
            )
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self.connections) + 1,
                    "debug_info": {
                        "host": "devkit-slack",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        self.connections.append(ws)
        self.connects += 1
        self.connected.set()
        self.emu.workspace.changed()
        self.emu.deliveries._flush_backlog()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except json.JSONDecodeError:
                    log.warning("Socket Mode: ignoring non-JSON frame %r", msg.data[:200])
                    continue
                if isinstance(data, dict) and data.get("envelope_id"):
                    self.emu.deliveries.on_socket_ack(
                        str(data["envelope_id"]), data.get("payload") or {}
                    )
        finally:
            self.connections.remove(ws)
            if not any(not w.closed for w in self.connections):
                self.connected.clear()
            self.emu.workspace.changed()
        return ws
