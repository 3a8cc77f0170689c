"""The one aiohttp server: webhooks, `/health`, `/metrics` and (HTTP mode) Slack's request URL.

Slack Events, Interactivity and Commands all POST to `/slack/events`; Bolt verifies the
signature (`SLACK_SIGNING_SECRET`) and answers. The server runs in Socket Mode too (for
webhooks, health and metrics).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.health import Health
from bot.metrics import Metrics
from bot.webhooks.server import WebhookHandlers

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


def build_web_app(
    *,
    health: Health,
    metrics: Metrics,
    webhooks: WebhookHandlers | None,
    bolt_app: AsyncApp | None,
    max_body_bytes: int,
) -> web.Application:
    # Slightly above the webhook cap so our own check (with a clear 413 body) runs first.
    app = web.Application(client_max_size=max_body_bytes + 1)

    async def metrics_handler(request: web.Request) -> web.Response:
        body = await metrics.render()
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = metrics.content_type
        return resp

    app.router.add_get("/health", health.handle)
    app.router.add_get("/metrics", metrics_handler)
    if webhooks is not None:
        app.router.add_routes(webhooks.routes())
    if bolt_app is not None:
        from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

        async def slack_events(request: web.Request) -> web.Response:
            bolt_req = await to_bolt_request(request)
            bolt_resp = await bolt_app.async_dispatch(bolt_req)
            return await to_aiohttp_response(bolt_resp)

        app.router.add_post(SLACK_EVENTS_PATH, slack_events)
    return app


class HttpServer:
    """Runs a `web.Application` on host:port (port 0 = ephemeral; `port` is the bound one)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server  # aiohttp exposes the bound sockets only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "", "::") else self._host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
