"""CPU cost of the agent loop itself, per LLM turn and per tool call.

Both stand-ins run in their own processes (the devkit Gemini server over HTTP, the devkit
cluster MCP server over stdio), so `time.process_time()` in this process counts only our side:
the loop, prompt building, masking, budgets, events, and the google-genai / MCP client code
that any real deployment also runs. Two workloads with the same number of LLM turns but
1 and 4 parallel tool calls per turn separate the per-turn from the per-tool-call cost.

Usage: python benchmarks/agent_loop.py [--stages N] [--turns T]   (prints JSON)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TURN_TARGET_MS = 5.0
TOOL_TARGET_MS = 3.0
FINAL = (
    "## Summary\nOOM after rollout.\n## Findings\n- OOMKilled\n## Likely cause\n128Mi limit.\n"
    "## Confidence\nhigh\n## Next steps\n1. roll back\n"
)
CALLS = [
    {"name": "kubernetes__pods_list_in_namespace", "args": {"namespace": "payments"}},
    {"name": "kubernetes__events_list", "args": {"namespace": "payments"}},
    {
        "name": "kubernetes__pods_log",
        "args": {"namespace": "payments", "name": "checkout-7d9f8b6c5-x2x4q"},
    },
    {
        "name": "kubernetes__pods_get",
        "args": {"namespace": "payments", "name": "checkout-7d9f8b6c5-x2x4q"},
    },
]


def script(calls_per_turn: int) -> dict:
    return {
        "turns": [
            {
                "id": "dig",
                "match": {"tools_offered": True},
                "respond": {
                    "text": "Checking.",
                    "function_calls": CALLS[:calls_per_turn],
                    "thought_signature": True,
                },
            },
            {"id": "final", "match": {"tools_offered": False}, "respond": {"text": FINAL}},
        ]
    }


def start_gemini(script_path: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.cli", "gemini", "--port", "0", "--script", str(script_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc, line.split("listening on", 1)[1].strip()
    proc.kill()
    raise RuntimeError("devkit gemini server did not start within 20 s")


def config(base_url: str, turns: int):
    from config.models import AgentsConfig

    return AgentsConfig.model_validate(
        {
            "llm_providers": {
                "main": {
                    "type": "gemini",
                    "model": "bench",
                    "api_key": "k",
                    "base_url": base_url,
                    "api_version": "v1beta",
                }
            },
            "default_llm_provider": "main",
            "mcp_servers": {
                "kubernetes": {
                    "transport": {
                        "type": "stdio",
                        "command": sys.executable,
                        "args": [
                            "-m",
                            "devkit.cli",
                            "cluster",
                            "--scenario",
                            str(REPO / "devkit/scenarios/checkout-oom.yaml"),
                        ],
                        "env": {"PYTHONPATH": str(REPO)},
                    }
                }
            },
            "agents": {"bench": {"mcp_servers": ["kubernetes"], "max_iterations": turns}},
            "chains": {"c": {"stages": [{"name": "bench", "agent": "bench"}]}},
            "routing": {"default_chain": "c"},
        }
    )


async def measure(base_url: str, turns: int, stages: int) -> dict:
    from agents.investigator import Investigator
    from agents.llm.registry import ProviderRegistry
    from agents.mcp.hub import ToolHub
    from config.models import TimeoutSettings

    cfg = config(base_url, turns)
    inv = Investigator(
        cfg, TimeoutSettings(), ToolHub(cfg.mcp_servers), ProviderRegistry.from_config(cfg)
    )
    count = {"events": 0}

    async def sink(_event) -> None:
        count["events"] += 1

    async def stage():
        return await inv.run_stage(
            agent="bench",
            stage_name="bench",
            alert_text="Pod crash",
            runbook=None,
            prior_results=[],
            emit=sink,
        )

    try:
        await stage()  # warm-up: spawns the MCP server, imports, connection pools
        cpu0, wall0 = time.process_time(), time.perf_counter()
        llm_turns = tool_calls = 0
        for _ in range(stages):
            r = await stage()
            llm_turns += r.llm_calls
            tool_calls += r.tool_calls
        cpu = (time.process_time() - cpu0) * 1000
        wall = (time.perf_counter() - wall0) * 1000
    finally:
        await inv.aclose()
    return {
        "cpu_ms": cpu,
        "wall_ms": wall,
        "llm_turns": llm_turns,
        "tool_calls": tool_calls,
        "events": count["events"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=8)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in (1, 4):
            path = Path(tmp) / f"script{k}.json"
            path.write_text(json.dumps(script(k)))
            proc, url = start_gemini(path)
            try:
                results[k] = asyncio.run(measure(url, args.turns, args.stages))
            finally:
                proc.terminate()
                proc.wait(10)
    a, b = results[1], results[4]
    extra_calls = b["tool_calls"] - a["tool_calls"]
    per_tool = (b["cpu_ms"] - a["cpu_ms"]) / extra_calls if extra_calls else 0.0
    per_turn = (a["cpu_ms"] - per_tool * a["tool_calls"]) / a["llm_turns"]
    out = {
        "cpu_ms_per_llm_turn": round(per_turn, 3),
        "cpu_ms_per_tool_call": round(per_tool, 3),
        "targets": {"llm_turn_ms": TURN_TARGET_MS, "tool_call_ms": TOOL_TARGET_MS},
        "within_targets": per_turn < TURN_TARGET_MS and per_tool < TOOL_TARGET_MS,
        "workloads": {"1_call_per_turn": a, "4_calls_per_turn": b},
        "method": (
            "time.process_time() of this process only; Gemini stand-in and MCP server run in "
            "separate processes. Includes google-genai and MCP client overhead. Per-call cost "
            "from the difference of two workloads with equal turns and 1 vs 4 tool calls/turn."
        ),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
