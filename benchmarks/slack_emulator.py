"""Throughput of the Slack emulator: chat.postMessage + chat.update via AsyncWebClient.

Runs the emulator as a subprocess (`tarsy-devkit slack --no-rate-limits`) so client and
server use separate cores, then prints JSON: {"api_calls_per_s": ..., ...}.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 32
ROUNDS = 60  # per worker: one postMessage and one chat.update each


async def main() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devkit.cli",
        "slack",
        "--port",
        "0",
        "--no-rate-limits",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=15))
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(
                token=info["bot_token"], base_url=info["api_url"], session=session
            )
            channels = list(info["channels"])

            async def worker(n: int) -> int:
                channel = channels[n % len(channels)]
                for i in range(ROUNDS):
                    posted = await client.chat_postMessage(channel=channel, text=f"w{n} #{i}")
                    await client.chat_update(channel=channel, ts=posted["ts"], text=f"w{n} #{i}!")
                return ROUNDS * 2

            await worker(0)  # warm up
            started = time.perf_counter()
            done = sum(await asyncio.gather(*(worker(n) for n in range(CONCURRENCY))))
            elapsed = time.perf_counter() - started
        print(
            json.dumps(
                {
                    "benchmark": "slack_emulator",
                    "api_calls_per_s": round(done / elapsed, 1),
                    "calls": done,
                    "seconds": round(elapsed, 3),
                    "concurrency": CONCURRENCY,
                    "target_calls_per_s": 500,
                }
            )
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
