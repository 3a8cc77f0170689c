"""`tarsy-devkit slack` as a subprocess, driven through its `/_devkit/` JSON API."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

ALERTS = "C0ALERTS01"


async def start_cli(*extra: str) -> tuple[asyncio.subprocess.Process, dict]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devkit.cli",
        "slack",
        "--port",
        "0",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=15)
    return proc, json.loads(line)


async def stop_cli(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), timeout=10)


async def test_cli_serves_api_and_devkit_endpoints_and_saves_state(tmp_path):
    state = tmp_path / "slack-state.json"
    proc, info = await start_cli("--state", str(state), "--no-rate-limits")
    try:
        assert info["bot_token"].startswith("xoxb-devkit-")
        assert info["app_token"].startswith("xapp-devkit-")
        base = info["devkit_url"]
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{base}messages", json={"channel": ALERTS, "text": "disk full", "user": "U0SRE1"}
            ) as resp:
                ts = (await resp.json())["ts"]
            client = AsyncWebClient(token=info["bot_token"], base_url=info["api_url"])
            await client.chat_postMessage(channel=ALERTS, text="Looking", thread_ts=ts)
            async with http.get(f"{base}channels/{ALERTS}/threads/{ts}/render") as resp:
                rendered = await resp.text()
            async with http.get(f"{base}calls", params={"method": "chat.postMessage"}) as resp:
                calls = (await resp.json())["calls"]
            async with http.post(f"{base}messages", json={"channel": "C0NOPE", "text": "x"}) as r:
                assert r.status == 400 and "add_channel" in (await r.json())["error"]
            async with http.get(f"{base}deliveries") as resp:
                deliveries = (await resp.json())["deliveries"]
        assert "disk full" in rendered and "Looking" in rendered
        assert [c["status"] for c in calls] == [200]
        assert len(deliveries) == 2  # the user's message and the bot's reply, awaiting an app
    finally:
        assert await stop_cli(proc) == 0
    saved = json.loads(state.read_text())
    assert {m["text"] for m in saved["messages"]} == {"disk full", "Looking"}

    proc, info = await start_cli("--state", str(state))
    try:
        url = f"{info['devkit_url']}channels/{ALERTS}/messages"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            texts = [m["text"] for m in (await resp.json())["messages"]]
        assert texts == ["disk full"]
    finally:
        assert await stop_cli(proc) == 0
