"""Load generation helpers for the benchmarks: many channels, open-loop webhook senders."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

WEBHOOK_PATH = "/webhooks/alertmanager"


def bench_channels(n: int) -> dict[str, str]:
    """`n` extra channels C0BENCH000.. named bench-000.. (one per team)."""
    return {f"C0BENCH{i:03d}": f"bench-{i:03d}" for i in range(n)}


def team_rules(channels: dict[str, str]) -> list[dict[str, Any]]:
    """Route label team=<channel name> to that channel (webhooks.channel_rules)."""
    return [{"channel": cid, "match": {"team": name}} for cid, name in channels.items()]


@dataclass
class Sent:
    index: int
    sent_at: float  # time.time() just before the request
    status: int = 0
    session_id: str | None = None
    deduplicated: bool = False
    error: str | None = None
    answered_at: float = 0.0


@dataclass
class LoadResult:
    sent: list[Sent] = field(default_factory=list)
    schedule_lag_ms_max: float = 0.0  # how late the generator itself was (should be ~0)

    @property
    def ok(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 202]


async def send_open_loop(
    url: str, payloads: Sequence[dict[str, Any]], rate_per_s: float, *, timeout_s: float = 30
) -> LoadResult:
    """POST each payload at a fixed schedule (i / rate), not waiting for earlier answers."""
    import aiohttp

    result = LoadResult()
    conn = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(
        connector=conn, timeout=aiohttp.ClientTimeout(total=timeout_s)
    ) as http:

        async def one(i: int, body: bytes) -> None:
            rec = Sent(i, time.time())
            result.sent.append(rec)
            try:
                async with http.post(
                    url + WEBHOOK_PATH, data=body, headers={"Content-Type": "application/json"}
                ) as resp:
                    rec.status = resp.status
                    data = await resp.json(content_type=None)
                    rec.session_id = data.get("session_id")
                    rec.deduplicated = bool(data.get("deduplicated"))
            except Exception as e:  # noqa: BLE001 - counted as lost
                rec.error = f"{type(e).__name__}: {e}"
            rec.answered_at = time.time()

        bodies = [json.dumps(p).encode() for p in payloads]
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1
        tasks = []
        for i, body in enumerate(bodies):
            due = start + i / rate_per_s
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                result.schedule_lag_ms_max = max(result.schedule_lag_ms_max, -delay * 1000)
            tasks.append(asyncio.create_task(one(i, body)))
        await asyncio.gather(*tasks)
    return result


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def message_blob(msg: Any) -> str:
    return (msg.text or "") + json.dumps(msg.blocks or [], ensure_ascii=False)
