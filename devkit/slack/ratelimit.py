"""Token-bucket rate limits per (method, channel), close to Slack's published tiers."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class Limit:
    per_second: float
    burst: int


# Slack: chat.postMessage ~1/s per channel (short bursts tolerated); Tier 3 ~50/min;
# Tier 4 ~100/min. Methods not listed here are not limited.
DEFAULT_LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(1.0, 5),
    "chat.update": Limit(50 / 60, 10),
    "chat.delete": Limit(50 / 60, 10),
    "reactions.add": Limit(50 / 60, 10),
    "reactions.remove": Limit(50 / 60, 10),
    "chat.startStream": Limit(50 / 60, 10),
    "chat.appendStream": Limit(100 / 60, 20),
    "chat.stopStream": Limit(50 / 60, 10),
    "assistant.threads.setStatus": Limit(100 / 60, 20),
}


class RateLimiter:
    """Decides whether a call is allowed; rejected calls consume nothing."""

    def __init__(self, enabled: bool = True, limits: dict[str, Limit] | None = None):
        self.enabled = enabled
        self.limits: dict[str, Limit] = dict(DEFAULT_LIMITS)
        if limits:
            self.limits.update(limits)
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._forced: dict[str, int] = {}

    def set_limit(self, method: str, per_second: float, burst: int) -> None:
        self.limits[method] = Limit(per_second, max(1, burst))
        self._buckets = {k: v for k, v in self._buckets.items() if k[0] != method}

    def force(self, method: str, times: int = 1) -> None:
        """Make the next `times` calls of `method` fail with 429 (even when disabled)."""
        self._forced[method] = self._forced.get(method, 0) + times

    def check(self, method: str, key: str) -> int | None:
        """Return None if allowed (and consume a token), else the Retry-After seconds."""
        if self._forced.get(method):
            self._forced[method] -= 1
            return 1
        limit = self.limits.get(method)
        if not self.enabled or limit is None:
            return None
        now = time.monotonic()
        tokens, last = self._buckets.get((method, key), (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - last) * limit.per_second)
        if tokens >= 1.0:
            self._buckets[(method, key)] = (tokens - 1.0, now)
            return None
        self._buckets[(method, key)] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / limit.per_second))
