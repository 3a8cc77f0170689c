"""Idle memory of `tarsy serve` and its time from start to ready.

The real `tarsy serve` (child process, Socket Mode to the devkit Slack emulator, SQLite,
the shipped chain with the demo cluster MCP server) is started RUNS times. Start-to-ready is
from spawning the process to its "TARSy ready" line (migrations, MCP, auth.test, Socket Mode
connected). Idle RSS is sampled with psutil for IDLE_S seconds after ready, with no traffic;
the MCP server child is reported separately (it is a separate program in production too).
Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RUNS = 3
IDLE_S = 3.0
TARGET_RSS_MB = 150.0
TARGET_READY_S = 3.0
MB = 1024 * 1024


async def one_run(workdir: Path) -> dict:
    import psutil

    from bot.demo.stack import ServedStack

    async with ServedStack(workdir) as st:
        assert st.serve is not None
        proc = psutil.Process(st.serve.pid)
        samples: list[int] = []
        children: list[int] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + IDLE_S
        while loop.time() < end:
            samples.append(proc.memory_info().rss)
            children.append(sum(c.memory_info().rss for c in proc.children(recursive=True)))
            await asyncio.sleep(0.25)
        return {
            "ready_s": round(st.serve.ready_after_s, 3),
            "idle_rss_mb": round(samples[-1] / MB, 1),
            "idle_rss_max_mb": round(max(samples) / MB, 1),
            "children_rss_mb": round(children[-1] / MB, 1),
        }


async def main_async() -> dict:
    runs = []
    with tempfile.TemporaryDirectory(prefix="tarsy-bench-footprint-") as tmp:
        for i in range(RUNS):
            runs.append(await one_run(Path(tmp) / f"run{i}"))
    ready = statistics.median(r["ready_s"] for r in runs)
    rss = statistics.median(r["idle_rss_mb"] for r in runs)
    return {
        "benchmark": "footprint",
        "runs": runs,
        "ready_s_median": ready,
        "idle_rss_mb_median": rss,
        "targets": {"idle_rss_mb": TARGET_RSS_MB, "ready_s": TARGET_READY_S},
        "meets_target": rss <= TARGET_RSS_MB and ready <= TARGET_READY_S,
    }


def main() -> int:
    from benchmarks._common import print_report

    return print_report(main_async())


if __name__ == "__main__":
    sys.exit(main())
