"""aiohttp handlers for alert webhooks.

Order of checks: size (413) -> auth (401) -> JSON + strict parse (400) -> intake -> 202.
Nothing is stored for a rejected request, and 202 is sent only after intake committed the
alert, so an accepted alert survives a crash or restart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.metrics import Metrics
from bot.webhooks.auth import check_auth
from chains.alert import Alert
from config.models import WebhookSettings

log = logging.getLogger(__name__)

# source -> URL path; the parser for each is looked up lazily (bot.parsers.webhooks).
WEBHOOK_PATHS: dict[str, str] = {
    "alertmanager": "/webhooks/alertmanager",
    "grafana": "/webhooks/grafana",
    "pagerduty": "/webhooks/pagerduty",
    "generic": "/api/v1/alerts",
}

SubmitAlert = Callable[[Alert], Awaitable[Any]]
"""Commits an alert (routing its channel first) and returns the chains IntakeResult."""


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _parser(source: str) -> Callable[[Any], list[Alert]]:
    from bot.parsers import webhooks as parsers

    return getattr(parsers, f"parse_{source}")


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (checked before and while reading)."""
    length = request.content_length
    if length is not None and length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "session_id": result.session_id,
        "incident_id": result.session_id,
        "alert_id": result.alert_id,
        "deduplicated": not result.created,
        "occurrences": getattr(result, "occurrences", 1),
        "resolved": getattr(result, "resolved", False),
    }


class WebhookHandlers:
    def __init__(self, settings: WebhookSettings, submit: SubmitAlert, metrics: Metrics) -> None:
        self.settings = settings
        self.submit = submit
        self.metrics = metrics

    def routes(self) -> list[web.RouteDef]:
        return [web.post(path, self._handler(src)) for src, path in WEBHOOK_PATHS.items()]

    def _handler(self, source: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            return await self.handle(source, request)

        return handle

    def _reject(self, source: str, reason: str, status: int, message: str) -> web.Response:
        self.metrics.webhook_rejected.labels(source, reason).inc()
        log.info("webhook %s rejected (%d): %s", source, status, message)
        return _error(status, message)

    async def handle(self, source: str, request: web.Request) -> web.Response:
        limit = self.settings.max_body_bytes
        body = await read_capped(request, limit)
        if body is None:
            return self._reject(
                source, "too_large", 413, f"request body is larger than the {limit} byte limit"
            )
        problem = check_auth(self.settings.auth.get(source), request.headers, body)
        if problem:
            return self._reject(source, "auth", 401, problem)
        if not body.strip():
            return self._reject(
                source, "empty", 400, f"request body is empty; send the {source} alert as JSON"
            )
        try:
            payload = json.loads(body)
        except RecursionError:
            return self._reject(source, "bad_json", 400, "body is JSON nested too deeply")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            return self._reject(
                source,
                "bad_json",
                400,
                f"body is not valid JSON ({e}); content type was "
                f"{request.content_type or 'not given'}, expected application/json",
            )
        from bot.parsers.errors import PayloadError

        try:
            alerts = _parser(source)(payload)
        except PayloadError as e:
            return self._reject(source, "bad_payload", 400, f"invalid {source} payload: {e}")
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
            # A parser gap must not turn bad input into a 500.
            log.warning("webhook %s: unexpected payload shape", source, exc_info=True)
            return self._reject(
                source,
                "bad_payload",
                400,
                f"invalid {source} payload: unexpected shape ({type(e).__name__}: {e})",
            )
        if not alerts:
            return self._reject(source, "empty", 400, f"the {source} payload holds no alerts")
        results = []
        for alert in alerts:
            try:
                result = await self.submit(alert)
            except Exception:
                log.exception("webhook %s: storing the alert failed", source)
                self.metrics.alerts_received.labels(source, "error").inc()
                return _error(503, "could not store the alert; retry later")
            outcome = "new" if result.created else "duplicate"
            self.metrics.alerts_received.labels(source, outcome).inc()
            results.append(_result_json(result))
        body_json = dict(results[0])
        if len(results) > 1:
            body_json["alerts"] = results
        return web.json_response(body_json, status=202)
