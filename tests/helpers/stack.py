"""Test harness: a whole local TARSy (Slack emulator, Gemini stand-in, demo cluster, the app).

The reusable part lives in `bot.devstack` (the demo and benchmarks use it too); this module
adds test conveniences: fixtures loading and waiting on what a person would see.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.devstack import (  # noqa: F401  (re-exported for tests)
    ALERT_CHANNEL,
    CHANNELS,
    CHECKOUT_SCRIPT,
    INCIDENT_CHANNEL,
    OTHER_CHANNEL,
    PAYMENTS_CHANNEL,
    SRE_CHANNEL,
    DevStack,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def message_text(msg: Any) -> str:
    """Everything a person reads in a message: text, blocks, buttons, stream chunks."""
    parts = [msg.text or ""]
    parts.append(json.dumps(msg.blocks or [], ensure_ascii=False))
    for chunk in getattr(msg, "stream_chunks", None) or []:
        parts.append(chunk if isinstance(chunk, str) else json.dumps(chunk, ensure_ascii=False))
    return "\n".join(parts)


def buttons(msg: Any) -> dict[str, str]:
    """action_id -> value of every button on a message."""
    out: dict[str, str] = {}
    for block in msg.blocks or []:
        for el in block.get("elements", []) if block.get("type") == "actions" else []:
            if el.get("action_id"):
                out[el["action_id"]] = el.get("value", "")
        acc = block.get("accessory")
        if isinstance(acc, dict) and acc.get("action_id"):
            out[acc["action_id"]] = acc.get("value", "")
    return out


def thread_has(stack: DevStack, channel: str, ts: str, needle: str) -> bool:
    return any(needle in message_text(m) for m in stack.slack.thread(channel, ts))


async def eventually(check, wait_s: float = 15.0, interval: float = 0.05):
    """Poll an async condition until it is truthy (returns its value) or fail on timeout."""
    import asyncio

    async with asyncio.timeout(wait_s):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(interval)
