"""`tarsy serve` assembly: database, workers, event bus + sinks, Slack app, HTTP server.

Start order: migrations -> database -> investigator + worker -> bus sinks (audit recorder,
Slack presenter, metrics) -> Slack identity (`auth.test`) -> HTTP server (webhooks, health,
metrics, Slack request URL in HTTP mode) -> Socket Mode connection -> modules of the first
investigation imported (in a thread, overlapping the steps above) -> ready. Stop runs it
backwards: stop taking input, stop the worker (releases leases), drain the bus, flush the
Slack writer, close clients and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import uuid
from typing import Any

from bot.health import Health
from bot.http_server import HttpServer, build_web_app
from bot.metrics import Metrics
from bot.services import BotServices
from bot.slack_client import build_web_client
from config.models import TarsyConfig

log = logging.getLogger(__name__)

HEALTH_POLL_S = 30.0

# Imported lazily by the first alert / investigation (~0.8 s in all on this machine's 2
# cores). Imported before "ready" instead, or that first run stalls the event loop and with
# it every webhook ack and Slack event for about a second.
PRELOAD_MODULES = (
    "google.genai",  # Gemini provider (+ its http stack, tenacity, websockets)
    "google.genai.types",
    "google.genai.errors",
    "jsonschema.validators",  # mcp ClientSession validates tool results with it
    "jsonschema.exceptions",
    "anyio._backends._asyncio",  # mcp stdio / http transports
    "anyio._core._subprocesses",
    "bot.parsers.webhooks",
    "bot.parsers.slack_message",
    "bot.parsers.freeform",
    "bot.routing",
    "chains.intake",
    "chains.routing",
    "storage.repositories.slack",
)


class TarsyApp:
    """One running TARSy replica. `await start()`, then `await stop()`."""

    def __init__(
        self,
        cfg: TarsyConfig,
        *,
        host: str | None = None,
        port: int | None = None,
        owner_id: str | None = None,
        ready_stream: Any = None,
    ) -> None:
        self.cfg = cfg
        s = cfg.settings
        self.host = host if host is not None else s.http.host
        self.port_setting = port if port is not None else s.http.port
        self.owner_id = owner_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.ready_stream = ready_stream if ready_stream is not None else sys.stdout
        self.metrics = Metrics()
        self.health = Health()
        self.db: Any = None
        self.bus: Any = None
        self.worker: Any = None
        self.investigator: Any = None
        self.recorder: Any = None
        self.presenter: Any = None
        self.writer: Any = None
        self.client: Any = None
        self.services: BotServices | None = None
        self.surface: Any = None
        self.bolt: Any = None
        self.socket_handler: Any = None
        self.http: HttpServer | None = None
        self._tasks: list[asyncio.Task] = []
        self._reports: set[asyncio.Task] = set()  # immediate health reports (LLM/MCP failures)
        self._llm_error: str | None = None
        self._mcp_errors: dict[str, str] = {}  # server -> last `mcp_unhealthy` warning
        self._slack_ok: bool | None = None
        self._masker: Any = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        assert self.http is not None
        return self.http.url

    async def start(self) -> None:
        s = self.cfg.settings
        preload = asyncio.create_task(asyncio.to_thread(preload_modules), name="preload")
        try:
            await self._start_parts()
        except BaseException:
            preload.cancel()  # start failed: stop waiting (the thread finishes on its own)
            raise
        await preload  # usually done by now: it ran alongside the steps above
        self._prepare_providers()
        self.health.mark_ready()
        self._tasks.append(asyncio.create_task(self._health_loop(), name="health-loop"))
        slack_on = bool(s.slack.bot_token and s.slack.bot_token.get_secret_value())
        mode = s.slack.mode if slack_on else "off"
        line = (
            f"TARSy ready: http={self.url} slack={mode} "
            f"db={self.db.describe() if hasattr(self.db, 'describe') else s.database.url} "
            f"worker={self.owner_id}"
        )
        log.info(line)
        if self.ready_stream is not None:
            print(line, file=self.ready_stream, flush=True)

    async def _start_parts(self) -> None:
        s = self.cfg.settings
        from chains.bus import EventBus
        from storage.engine import Database

        self.db = Database(s.database.url, echo=s.database.echo)
        if s.database.migrate_on_start:
            from storage.migrate import upgrade_async

            await upgrade_async(self.db)
        self.bus = EventBus()
        masker = self._masker = _build_masker(self.cfg)
        self.services = BotServices(self.cfg, self.db, masker, self.bus.emit, wake=self._wake)

        # Sinks: audit trail first (it is the source of truth), then metrics and Slack.
        from chains.recorder import AuditRecorder

        self.recorder = AuditRecorder(self.db)
        self.bus.add_sink(self.recorder, name="audit")
        self.bus.add_sink(self.metrics.sink, name="metrics")
        self.bus.add_sink(self._watch_failures, name="health")

        slack_on = bool(s.slack.bot_token and s.slack.bot_token.get_secret_value())
        if slack_on:
            await self._start_slack_client()

        await self._start_worker(masker)

        webhooks = None
        if s.webhooks.enabled:
            from bot.webhooks.server import WebhookHandlers

            webhooks = WebhookHandlers(s.webhooks, self._submit_webhook_alert, self.metrics)
        http_bolt = self.bolt if (slack_on and s.slack.mode == "http") else None
        web_app = build_web_app(
            health=self.health,
            metrics=self.metrics,
            webhooks=webhooks,
            bolt_app=http_bolt,
            max_body_bytes=s.webhooks.max_body_bytes,
        )
        self._add_health_checks()
        self.http = HttpServer(web_app, self.host, self.port_setting)
        await self.http.start()

        if slack_on and s.slack.mode == "socket":
            await self._connect_socket_mode()

    def _prepare_providers(self) -> None:
        """Build LLM clients now (TLS context etc.), not on the first investigation."""
        registry = getattr(self.investigator, "providers", None)
        for name in registry.names() if registry is not None else []:
            prepare = getattr(registry.get(name), "prepare", None)
            if prepare is not None:
                try:
                    prepare()
                except Exception:  # noqa: BLE001 - the first real call reports it properly
                    log.debug("preparing LLM provider %s failed", name, exc_info=True)

    async def stop(self) -> None:
        self._tasks.extend(self._reports)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        if self.socket_handler is not None:
            with contextlib.suppress(Exception):
                await self.socket_handler.close_async()
        if self.http is not None:
            await self.http.stop()
        if self.worker is not None:
            with contextlib.suppress(Exception):
                await self.worker.stop()
        if self.bus is not None:
            await self.bus.drain(10)
        if self.presenter is not None:
            await self.presenter.aclose(10)
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await self.writer.aclose()
        if self.bus is not None:
            await self.bus.aclose()
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                await self.recorder.aclose()
        if self.investigator is not None and hasattr(self.investigator, "aclose"):
            with contextlib.suppress(Exception):
                await self.investigator.aclose()
        if self.client is not None:
            with contextlib.suppress(Exception):
                session = getattr(self.client, "session", None)
                if session is not None:
                    await session.close()
        if self.db is not None:
            await self.db.close()

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM / SIGINT, then shut down gracefully."""
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            await self.stop()
            log.info("stopped")

    # ------------------------------------------------------------------ parts

    async def _start_slack_client(self) -> None:
        s = self.cfg.settings.slack
        from bot.presenter.slack_sink import SlackPresenter
        from bot.presenter.writer import SlackWriter
        from bot.slack_app import SlackSurface, build_bolt_app

        token = s.bot_token.get_secret_value() if s.bot_token else None
        self.client = build_web_client(token, s.api_url, self.metrics)
        self.surface = SlackSurface(s, self.services, self.metrics)
        try:
            await self.surface.identify(self.client)
            self._slack_ok = True
        except Exception as e:
            raise RuntimeError(
                f"Slack auth.test failed at {s.api_url or 'https://slack.com/api/'}: {e}. "
                "Check SLACK_BOT_TOKEN (xoxb-...) and SLACK_API_URL."
            ) from e
        self.writer = SlackWriter(
            self.client,
            min_edit_interval=s.edit_interval_s,
            post_interval_per_channel=min(1.0, max(s.edit_interval_s, 0.05)),
        )
        self.presenter = SlackPresenter(
            self.client, self.writer, self.services, s, team_id=self.surface.team_id
        )
        self.bus.add_sink(self.presenter, name="slack")
        secret = s.signing_secret.get_secret_value() if s.signing_secret else None
        self.bolt = build_bolt_app(
            self.surface,
            self.client,
            signing_secret=secret if s.mode == "http" else None,
            token_verification=False,
        )
        self.health.on_warning = self._post_system_warning

    async def _connect_socket_mode(self) -> None:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        s = self.cfg.settings.slack
        app_token = s.app_token.get_secret_value() if s.app_token else None
        if not app_token:
            raise RuntimeError(
                "Socket Mode needs an app-level token: set SLACK_APP_TOKEN (xapp-...) or "
                "switch to HTTP mode (slack.mode: http with SLACK_SIGNING_SECRET)."
            )
        self.socket_handler = AsyncSocketModeHandler(
            self.bolt, app_token=app_token, web_client=self.client
        )
        await self.socket_handler.connect_async()

    async def _start_worker(self, masker: Any) -> None:
        from agents.investigator import build_investigator
        from chains.worker import Worker

        self.investigator = build_investigator(self.cfg)
        self.worker = Worker(
            self.cfg, self.db, self.investigator, self.bus, self.owner_id, masker=masker
        )
        await self.worker.start()

    def _wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def _submit_webhook_alert(self, alert: Any) -> Any:
        from bot.routing import route_channel
        from chains.alert import SlackRef

        wh = self.cfg.settings
        channel = route_channel(alert, wh.webhooks.channel_rules, wh.slack.default_channel)
        if channel and self.client is not None:
            alert.slack = SlackRef(channel=channel, ts=None)
        assert self.services is not None
        return await self.services.submit_alert(alert)

    # ------------------------------------------------------------------ health

    def _add_health_checks(self) -> None:
        assert self.services is not None
        self.health.add_check("database", self.services.ping_db)
        if self.client is not None:
            self.health.add_check("slack", self._check_slack)
        self.health.add_check("mcp", self._check_mcp)
        self.health.add_check("llm", self._check_llm)

        async def refresh() -> None:
            assert self.services is not None
            counts = await self.services.count_by_status()
            for status in ("queued", "running", "completed", "failed", "cancelled", "timed_out"):
                self.metrics.sessions_by_status.labels(status).set(counts.get(status, 0))
            self.metrics.queue_depth.set(counts.get("queued", 0))

        self.metrics.add_refresher(refresh)

    async def _check_slack(self) -> tuple[bool, str]:
        if self.socket_handler is not None:
            client = self.socket_handler.client
            connected = await client.is_connected() if client else False
            return connected, "socket mode connected" if connected else "socket mode disconnected"
        return bool(self._slack_ok), "web api reachable" if self._slack_ok else "auth.test failed"

    def _hub(self) -> Any:
        return getattr(self.investigator, "hub", None) or getattr(self.investigator, "tools", None)

    async def _check_mcp(self) -> tuple[bool, str]:
        hub = self._hub()
        if hub is None or not hasattr(hub, "health"):
            return True, "no MCP hub"
        status = hub.health()
        for name, state in status.items():
            if state == "healthy":
                self._mcp_errors.pop(name, None)  # recovered: a new failure warns again
        # A failed server being retried ("starting") is still down until it is healthy; else
        # a probe during the retry would reset the warn-once state and ops would hear twice.
        bad = [
            k
            for k, v in status.items()
            if v == "unhealthy" or (v == "starting" and k in self._mcp_errors)
        ]
        if bad:
            return False, "; ".join(self._mcp_reason(k) for k in bad)
        return True, ", ".join(f"{k}: {v}" for k, v in status.items()) or "no servers"

    def _mcp_reason(self, server: str) -> str:
        error = self._mcp_errors.get(server)
        return f"{server}: unhealthy ({error[:300]})" if error else f"{server}: unhealthy"

    async def _check_llm(self) -> tuple[bool, str]:
        if self._llm_error:
            return False, f"last LLM call failed: {self._llm_error[:200]}"
        return True, "ok"

    async def _watch_failures(self, event: Any) -> None:
        """Bus sink: a failure that is worth telling ops now, not at the next health poll
        (the health check still posts each warning once)."""
        from agents.events import AgentWarning, LlmTurnFinished

        if isinstance(event, LlmTurnFinished):
            was_ok = self._llm_error is None
            self._llm_error = event.error or None
            # Only a call that failed for good, not a mid-stream retry.
            if self._llm_error and was_ok and "retrying" not in self._llm_error:
                self._report_now()
        elif isinstance(event, AgentWarning) and event.code == "mcp_unhealthy":
            server = event.server
            if server is not None:
                is_new = server not in self._mcp_errors
                self._mcp_errors[server] = event.message
                if is_new:
                    self._report_now()

    def _report_now(self) -> None:
        task = asyncio.create_task(self.health.report(), name="health-report")
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_POLL_S)
            with contextlib.suppress(Exception):
                await self.health.report()

    async def _post_system_warning(self, check: str, detail: str) -> None:
        ops = self.cfg.settings.slack.ops_channel
        if not ops or self.client is None:
            return
        from bot.presenter.text import neutralize_mentions

        # Details quote configuration (commands, URLs) and errors: mask before Slack.
        try:
            detail = self._masker.mask_text(detail) if self._masker is not None else detail
        except Exception:  # noqa: BLE001 - fail closed: say which check, not its detail
            detail = "details withheld (masking failed); see /health"
        text = f"⚠️ TARSy health: *{check}* is failing — {neutralize_mentions(detail)}"
        resp = await self.client.chat_postMessage(channel=ops, text=text)
        if self.services is not None and resp.get("ts"):
            await self.services.record_message(
                None, channel=ops, ts=resp["ts"], thread_ts=None, purpose="warning"
            )


def preload_modules() -> float:
    """Import `PRELOAD_MODULES` (run in a thread at start); returns the seconds it took."""
    import importlib
    import time

    started = time.perf_counter()
    for name in PRELOAD_MODULES:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - e.g. an optional provider not installed
            log.debug("preload of %s skipped: %s", name, e)
    return time.perf_counter() - started


def _build_masker(cfg: TarsyConfig) -> Any:
    try:
        from agents.masking import Masker
    except ImportError:
        return None
    return Masker.from_settings(None)
