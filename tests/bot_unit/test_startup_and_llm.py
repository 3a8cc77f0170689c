"""Start-up readiness and LLM failure speed as seen from the app (`bot/app.py`)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from agents.llm.base import LlmError, LlmRequest, Message
from agents.llm.gemini import GeminiProvider
from bot.app import PRELOAD_MODULES
from config.models import LlmProviderConfig


def refused_url() -> str:
    """A 127.0.0.1 URL nothing listens on (the port was just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_gemini_refused_connection_fails_after_our_own_retries_only():
    cfg = LlmProviderConfig(
        type="gemini",
        model="gemini-2.5-flash",
        api_key="test-key",
        base_url=refused_url(),
        max_retries=1,
        retry_base_seconds=0.05,
        retry_max_seconds=0.1,
        timeout_seconds=30,
    )
    provider = GeminiProvider("gemini", cfg)
    req = LlmRequest(system="s", messages=[Message(role="user", text="hi")])
    started = time.monotonic()
    try:
        with pytest.raises(LlmError) as info:
            await provider.generate(req)
    finally:
        await provider.aclose()
    # google-genai's own implicit retry sleeps 1-10 s per refused connection; ours: 0.1 s
    assert time.monotonic() - started < 3.0
    assert info.value.attempts == 2  # 1 + max_retries, nothing hidden underneath


CHILD = r"""
import asyncio, json, sys
import aiohttp
from bot.app import TarsyApp
from bot.demo.payloads import alertmanager_payload
from chains.events import SessionFinished
from config.loader import load_config

async def main():
    app = TarsyApp(load_config(sys.argv[1]), ready_stream=None)
    await app.start()
    at_ready = {m: m in sys.modules for m in ("google.genai", "jsonschema.validators")}
    finished = asyncio.Event()

    async def sink(ev):
        if isinstance(ev, SessionFinished):
            finished.set()

    app.bus.add_sink(sink, name="test")
    loop = asyncio.get_running_loop()
    worst = 0.0

    async def ticker():  # how long the event loop was unavailable, at worst
        nonlocal worst
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            now = loop.time()
            worst = max(worst, now - last - 0.005)
            last = now

    tick = asyncio.create_task(ticker())
    async with aiohttp.ClientSession() as http:
        url = app.url + "/webhooks/alertmanager"
        async with http.post(url, json=alertmanager_payload("cold-start")) as r:
            assert r.status == 202, await r.text()
    await asyncio.wait_for(finished.wait(), 60)
    tick.cancel()
    await app.stop()
    print(json.dumps({"at_ready": at_ready, "worst_loop_stall_s": worst}))

asyncio.run(main())
"""


async def test_first_investigation_does_not_stall_the_event_loop(tmp_path):
    """A fresh `tarsy serve` process: heavy modules are imported before "ready", and the
    first investigation (LLM client, MCP server spawn) never blocks the loop for long."""
    import asyncio
    import json

    from bot.devstack import DevStack, _clean_env

    async with DevStack(tmp_path, start_app=False) as st:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            str(st.config_dir),
            env=_clean_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()[-3000:]
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["at_ready"] == {"google.genai": True, "jsonschema.validators": True}
    # importing google.genai alone blocked the loop ~0.43 s before it was preloaded
    assert result["worst_loop_stall_s"] < 0.3, result


def test_preloaded_module_names_are_importable():
    """A typo in PRELOAD_MODULES would silently skip that preload (errors are only logged)."""
    code = (
        "import importlib\n"
        f"[importlib.import_module(n) for n in {list(PRELOAD_MODULES)!r}]\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
