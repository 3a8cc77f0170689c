"""Pipeline throughput: alert intake -> queue -> 3 stages x 3 tool calls -> outcome, SQLite.

Stand-ins answer instantly: the devkit Gemini server runs in its own process and the devkit
cluster MCP server is a stdio child process, so `time.process_time()` of this process counts
TARSy's own CPU (intake, queue, runner, agents loop, MCP client, audit recorder, SQLite)
and not the stand-ins'. Prints one JSON object. Target: >= 10 investigations/s on 2 cores.

    .venv/bin/python benchmarks/pipeline.py [--n 60] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

STAGES = ("triage", "diagnose", "recommend")
TOOLS = [
    {"name": "kubernetes__pods_list_in_namespace", "args": {"namespace": "payments"}},
    {"name": "kubernetes__events_list", "args": {"namespace": "payments"}},
    {
        "name": "kubernetes__pods_get",
        "args": {"namespace": "payments", "name": "checkout-7d9f8b6c5-x2x4q"},
    },
]
FINAL = (
    "## Findings\n- checkout pods OOMKilled\n## Likely cause\nmemory limit cut to 128Mi\n"
    "## Confidence\nhigh\n## Next steps\n1. roll back to revision 41\n"
)


def script() -> dict:
    turns = []
    for stage in STAGES:
        turns.append(
            {
                "id": f"{stage}-tools",
                "match": {
                    "system_contains": f"Stage: {stage}",
                    "lacks_function_response": "pods_get",
                },
                "respond": {"function_calls": TOOLS},
            }
        )
        turns.append(
            {
                "id": f"{stage}-final",
                "match": {"system_contains": f"Stage: {stage}"},
                "respond": {"text": [FINAL]},
            }
        )
    return {"turns": turns}


def write_config(d: Path, gemini_url: str, db_url: str, concurrency: int) -> Path:
    scenario = REPO / "devkit" / "scenarios" / "checkout-oom.yaml"
    (d / "runbooks").mkdir(parents=True, exist_ok=True)
    (d / "runbooks" / "generic.md").write_text("# Generic\nCheck pods.\n")
    tarsy = {
        "database": {"url": db_url},
        "queue": {
            "concurrency": concurrency,
            "lease_seconds": 30,
            "heartbeat_seconds": 5,
            "poll_seconds": 0.05,
        },
        "logging": {"level": "WARNING"},
    }
    agents = {
        "llm_providers": {
            "gemini": {
                "type": "gemini",
                "model": "gemini-2.5-flash",
                "api_key": "bench",
                "base_url": gemini_url,
                "api_version": "v1beta",
            }
        },
        "default_llm_provider": "gemini",
        "mcp_servers": {
            "kubernetes": {
                "transport": {
                    "type": "stdio",
                    "command": sys.executable,
                    "args": ["-m", "devkit.cli", "cluster", "--scenario", str(scenario)],
                    "env": {"PYTHONPATH": str(REPO)},
                }
            }
        },
        "agents": {
            n: {"instructions": f"You are {n}.", "mcp_servers": ["kubernetes"]}
            for n in ("TriageAgent", "KubernetesAgent", "RecommendAgent")
        },
        "chains": {
            "k8s": {
                "stages": [
                    {"name": "triage", "agent": "TriageAgent"},
                    {"name": "diagnose", "agent": "KubernetesAgent"},
                    {"name": "recommend", "agent": "RecommendAgent"},
                ]
            }
        },
        "routing": {"default_chain": "k8s"},
        "runbooks": {"directories": ["runbooks"]},
    }
    (d / "tarsy.yaml").write_text(yaml.safe_dump(tarsy))
    (d / "agents.yaml").write_text(yaml.safe_dump(agents))
    return d


async def start_gemini(script_path: Path) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devkit.cli",
        "gemini",
        "--port",
        "0",
        "--script",
        str(script_path),
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    if "listening on" not in line:
        raise SystemExit(f"devkit gemini did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[-1].strip()


async def run_batch(p, cfg, n: int, offset: int) -> list[str]:
    from chains.alert import Alert
    from chains.intake import intake

    ids = []
    for i in range(offset, offset + n):
        alert = Alert(
            source="generic",
            kind="KubePodCrashLooping",
            severity="critical",
            title=f"checkout crash-looping #{i}",
            labels={"namespace": "payments", "deployment": "checkout", "n": str(i)},
        )
        ids.append((await intake(p.db, alert, cfg, p.masker, emit=p.bus.emit)).session_id)
    await p.worker.run_until_idle(wait_s=600)
    await p.bus.drain(60)
    await p.recorder.flush(60)
    return ids


async def main(n: int, concurrency: int) -> dict:
    from chains.service import open_pipeline
    from config.loader import load_config
    from storage.repositories.sessions import count_by_status

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        (tmpd / "script.yaml").write_text(yaml.safe_dump(script()))
        gemini, url = await start_gemini(tmpd / "script.yaml")
        try:
            cfg = load_config(
                write_config(
                    tmpd / "cfg", url, f"sqlite+aiosqlite:///{tmpd / 'bench.db'}", concurrency
                )
            )
            async with open_pipeline(cfg, scheduler=False) as p:
                await run_batch(p, cfg, 3, 0)  # warm-up: MCP spawn, imports, connections
                cpu0, t0 = time.process_time(), time.perf_counter()
                await run_batch(p, cfg, n, 3)
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
                counts = await count_by_status(p.db)
        finally:
            gemini.terminate()
            await gemini.wait()
    return {
        "benchmark": "pipeline",
        "investigations": n,
        "stages": 3,
        "tool_calls_per_investigation": 9,
        "llm_calls_per_investigation": 6,
        "concurrency": concurrency,
        "database": "sqlite",
        "wall_s": round(wall, 3),
        "investigations_per_s": round(n / wall, 2),
        "cpu_ms_per_investigation": round(cpu * 1000 / n, 2),
        "completed": counts.get("completed", 0) - 3,
        "failed": counts.get("failed", 0),
        "target_investigations_per_s": 10,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=10)
    a = ap.parse_args()
    print(json.dumps(asyncio.run(main(a.n, a.concurrency))))
