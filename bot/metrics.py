"""Prometheus metrics: one registry per running app, fed by the event bus and the surfaces.

A private `CollectorRegistry` (not the global one) so several apps can run in one process
(tests) and `/metrics` shows only TARSy's own series.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from agents.events import Event, LlmTurnFinished, ToolCallFinished

STAGE_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class Metrics:
    """Every series TARSy exports. `sink` is an `EventSink` for the event bus."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.alerts_received = Counter(
            "tarsy_alerts_received",
            "Alerts received, by source and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.webhook_rejected = Counter(
            "tarsy_webhook_rejected",
            "Webhook requests rejected, by source and reason",
            ["source", "reason"],
            registry=r,
        )
        self.sessions_finished = Counter(
            "tarsy_sessions_finished", "Investigations finished, by status", ["status"], registry=r
        )
        self.sessions_by_status = Gauge(
            "tarsy_sessions", "Sessions in the database, by status", ["status"], registry=r
        )
        self.queue_depth = Gauge("tarsy_queue_depth", "Sessions waiting to run", registry=r)
        self.stage_duration = Histogram(
            "tarsy_stage_duration_seconds",
            "Stage duration",
            ["stage", "status"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.llm_tokens = Counter(
            "tarsy_llm_tokens",
            "LLM tokens, by model and direction",
            ["model", "direction"],
            registry=r,
        )
        self.llm_calls = Counter(
            "tarsy_llm_calls", "LLM calls, by model and outcome", ["model", "outcome"], registry=r
        )
        self.tool_calls = Counter(
            "tarsy_tool_calls",
            "MCP tool calls, by server and outcome",
            ["server", "outcome"],
            registry=r,
        )
        self.slack_api_calls = Counter(
            "tarsy_slack_api_calls", "Slack Web API calls, by method", ["method"], registry=r
        )
        self.slack_rate_limited = Counter(
            "tarsy_slack_rate_limited",
            "Slack Web API 429 answers, by method",
            ["method"],
            registry=r,
        )
        self.followups = Counter(
            "tarsy_followups", "Follow-up questions, by outcome", ["outcome"], registry=r
        )
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    def add_refresher(self, fn: Callable[[], Awaitable[None]]) -> None:
        """An async callback run before each scrape (e.g. read queue depth from the DB)."""
        self._refreshers.append(fn)

    async def render(self) -> bytes:
        for fn in self._refreshers:
            try:
                await fn()
            except Exception:  # a scrape must never fail because the DB is slow
                pass
        return generate_latest(self.registry)

    async def sink(self, event: Event) -> None:
        # Imported lazily so this module does not require chains at import time.
        from chains.events import FollowupFinished, SessionFinished, StageFinished

        if isinstance(event, LlmTurnFinished):
            self.llm_calls.labels(event.model, "error" if event.error else "ok").inc()
            for direction, n in (
                ("input", event.input_tokens),
                ("output", event.output_tokens),
                ("thinking", event.thinking_tokens),
            ):
                if n:
                    self.llm_tokens.labels(event.model, direction).inc(n)
        elif isinstance(event, ToolCallFinished):
            outcome = "denied" if event.denied else ("error" if event.error else "ok")
            self.tool_calls.labels(event.server, outcome).inc()
        elif isinstance(event, StageFinished):
            self.stage_duration.labels(event.name, event.status).observe(event.duration_s)
        elif isinstance(event, SessionFinished):
            self.sessions_finished.labels(event.status).inc()
        elif isinstance(event, FollowupFinished):
            self.followups.labels(event.status).inc()
