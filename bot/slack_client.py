"""The Slack Web API client TARSy uses everywhere: base URL override, 429 retries, counting.

`SLACK_API_URL` (settings `slack.api_url`) points the Web API at another server (the devkit
emulator). Rate-limited calls (HTTP 429) are retried after `Retry-After` by slack_sdk's
`AsyncRateLimitErrorRetryHandler`, so a paced writer never loses a message to a 429.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
RATE_LIMIT_RETRIES = 20


def normalize_api_url(url: str | None) -> str:
    """slack_sdk joins `base_url + method`: the base must end with `/`."""
    if not url:
        return SLACK_DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


def _method_of(request: HttpRequest) -> str:
    return request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


class CountingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """Retries 429s like slack_sdk does, and counts them per method."""

    def __init__(self, metrics: Metrics | None, max_retry_count: int = RATE_LIMIT_RETRIES):
        super().__init__(max_retry_count=max_retry_count)
        self._metrics = metrics

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        limited = response is not None and response.status_code == 429
        if limited and self._metrics is not None:
            self._metrics.slack_rate_limited.labels(_method_of(request)).inc()
        return limited


class TarsyWebClient(AsyncWebClient):
    """`AsyncWebClient` that counts every call by method (for `/metrics` and the call budget)."""

    metrics: Metrics | None = None

    async def api_call(self, api_method: str, **kwargs: Any):  # type: ignore[override]
        if self.metrics is not None:
            self.metrics.slack_api_calls.labels(api_method).inc()
        return await super().api_call(api_method, **kwargs)


def build_web_client(
    token: str | None, api_url: str | None, metrics: Metrics | None = None, timeout: int = 30
) -> TarsyWebClient:
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        CountingRateLimitHandler(metrics),
    ]
    client = TarsyWebClient(
        token=token,
        base_url=normalize_api_url(api_url),
        timeout=timeout,
        retry_handlers=handlers,
    )
    client.metrics = metrics
    return client
