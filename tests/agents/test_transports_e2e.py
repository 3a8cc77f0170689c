"""ToolHub over network transports (streamable HTTP and SSE) against the devkit cluster server.

The server runs as a real subprocess (`devkit.cli cluster --http/--sse PORT`) and records every
HTTP request's headers, so we can check that configured headers really reach it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.events import AgentWarning
from agents.mcp import ToolHub
from config.models import McpServerConfig
from tests.agents.conftest import REPO, SCENARIOS, SECRET_B64, SECRET_PLAIN, Events

POD = "checkout-7d9f8b6c5-x2x4q"
HEADER = ("X-Tarsy-Test", "transport-e2e-7f3a")
SECRET_ARGS = {
    "apiVersion": "v1",
    "kind": "Secret",
    "namespace": "payments",
    "name": "checkout-db-credentials",
}
TRANSPORTS = ["http", "sse"]


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    url: str
    port: int
    headers_file: Path

    def requests(self) -> list[dict]:
        if not self.headers_file.exists():
            return []
        return [json.loads(x) for x in self.headers_file.read_text().splitlines() if x.strip()]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), timeout=10)


async def start_cluster(kind: str, port: int, headers_file: Path) -> Served:
    """Start the devkit cluster on `port` (0 = any) and wait for its announced URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devkit.cli",
        "cluster",
        "--scenario",
        str(SCENARIOS / "checkout-oom.yaml"),
        f"--{kind}",
        str(port),
        "--record-headers",
        str(headers_file),
        env={"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
    )
    line = (await asyncio.wait_for(proc.stdout.readline(), timeout=15)).decode()
    if "listening on http://127.0.0.1:" not in line:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"devkit cluster did not announce a URL: {line!r}")
    url = line.rsplit(" ", 1)[1].strip()
    port = int(url.split(":")[2].split("/")[0])
    return Served(proc, url, port, headers_file)


@asynccontextmanager
async def cluster(kind: str, tmp_path: Path) -> AsyncIterator[Served]:
    served = await start_cluster(kind, 0, tmp_path / "headers.jsonl")
    try:
        yield served
    finally:
        await served.stop()


def hub_for(kind: str, url: str, timeout_s: float = 5.0) -> ToolHub:
    cfg = McpServerConfig.model_validate(
        {
            "transport": {
                "type": kind,
                "url": url,
                "headers": {HEADER[0]: HEADER[1]},
                "timeout_seconds": timeout_s,
            }
        }
    )
    return ToolHub({"kubernetes": cfg}, tool_timeout_s=timeout_s)


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_tools_calls_masking_and_headers(kind: str, tmp_path: Path, events: Events) -> None:
    async with cluster(kind, tmp_path) as served:
        hub = hub_for(kind, served.url)
        try:
            specs = await hub.tools_for(["kubernetes"], events)
            names = {s.name for s in specs}
            assert {"kubernetes__pods_log", "kubernetes__resources_get"} <= names
            assert hub.health() == {"kubernetes": "healthy"}

            log = await hub.call(
                "kubernetes__pods_log",
                {"namespace": "payments", "name": POD},
                servers=["kubernetes"],
                emit=events,
            )
            assert log.error is None and "OutOfMemoryError" in log.text

            secret = await hub.call(
                "kubernetes__resources_get", SECRET_ARGS, servers=["kubernetes"], emit=events
            )
            assert secret.error is None and "checkout-db-credentials" in secret.text
            assert SECRET_B64 not in secret.text and SECRET_PLAIN not in secret.text
        finally:
            await hub.aclose()
        requests = served.requests()
    assert not events.of(AgentWarning)
    # every MCP request (session setup, listing, both tool calls) carried the configured header
    assert len([r for r in requests if r["method"] == "POST"]) >= 4, requests
    missing = [r for r in requests if r["headers"].get(HEADER[0].lower()) != HEADER[1]]
    assert not missing, missing


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_server_gone_is_a_warning_then_recovers(
    kind: str, tmp_path: Path, events: Events
) -> None:
    served = await start_cluster(kind, 0, tmp_path / "headers.jsonl")
    hub = hub_for(kind, served.url, timeout_s=3.0)
    try:
        assert await hub.connect(["kubernetes"], events) == ["kubernetes"]
        args = {"namespace": "payments", "name": POD, "tail": 1}
        first = await hub.call("kubernetes__pods_log", args, servers=["kubernetes"], emit=events)
        assert "OutOfMemoryError" in first.text

        await served.stop()
        gone = await asyncio.wait_for(
            hub.call("kubernetes__pods_log", args, servers=["kubernetes"], emit=events),
            timeout=15,
        )
        assert gone.error and gone.text.startswith("Error: ")
        assert served.url in gone.text and "unavailable" in gone.text
        warnings = events.of(AgentWarning)
        assert [w.code for w in warnings] == ["mcp_unhealthy"]
        assert hub.health() == {"kubernetes": "unhealthy"}

        # a hub that starts while the server is down offers no tools and warns, naming the URL
        fresh_events = Events()
        fresh = hub_for(kind, served.url, timeout_s=3.0)
        try:
            assert await fresh.tools_for(["kubernetes"], fresh_events) == []
        finally:
            await fresh.aclose()
        [warning] = fresh_events.of(AgentWarning)
        assert warning.code == "mcp_unhealthy" and served.url in warning.message

        # the same server comes back on the same port: the next call reconnects by itself
        served = await start_cluster(kind, served.port, tmp_path / "headers2.jsonl")
        back = await asyncio.wait_for(
            hub.call("kubernetes__pods_log", args, servers=["kubernetes"], emit=events),
            timeout=15,
        )
        assert back.error is None and "OutOfMemoryError" in back.text
        assert hub.health() == {"kubernetes": "healthy"}

        # restarted while the hub was idle: the old session is gone (HTTP answers 404 for it);
        # the hub reconnects transparently instead of failing every later call
        await served.stop()
        served = await start_cluster(kind, served.port, tmp_path / "headers3.jsonl")
        again = await asyncio.wait_for(
            hub.call("kubernetes__pods_log", args, servers=["kubernetes"], emit=events),
            timeout=15,
        )
        assert again.error is None and "OutOfMemoryError" in again.text
        assert hub.health() == {"kubernetes": "healthy"}
        assert len(events.of(AgentWarning)) == 1
    finally:
        await hub.aclose()
        await served.stop()
