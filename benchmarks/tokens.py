"""Prompt tokens per investigation with result budgets on vs off (checkout-oom-biglog).

The shipped 3-stage `kubernetes` chain runs through `tarsy investigate` (a real subprocess,
no Slack) against the devkit Gemini stand-in (this process) and the demo cluster's
`checkout-oom-biglog` scenario, whose crashing pod has a 2 MB log ending in the OOM line.
The scripted diagnose stage reads that whole log. Prompt tokens are the stand-in's count of
every request body it received (chars / 4), so they include the summariser's own call.

Runs: `on` (summarisation over 8k tokens, the shipped default), `on_cut` (same, but the
summariser call fails, so the fallback cut is what the agent sees), `off` (no budget).
Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BIG_POD = "checkout-7d9f8b6c5-k8m2p"
OOM_LINE = "2026-12-04T14:58:02.417Z ERROR Terminating due to java.lang.OutOfMemoryError"
SUMMARIZER_MARKER = "You condense one large tool result"
TARGET_RATIO = 5.0
CANNED_SUMMARY = (
    "Log summary: ~2 MB of repeated GC-overhead warnings from the checkout JVM, then at "
    "14:58:02 `ERROR Terminating due to java.lang.OutOfMemoryError: Java heap space`."
)


def script(summarizer_fails: bool) -> dict:
    """The devkit checkout-oom script, with diagnose reading the big pod's whole log."""
    import yaml

    from devkit import scripts_dir

    data = yaml.safe_load((scripts_dir() / "checkout-oom.yaml").read_text())
    for turn in data["turns"]:
        for call in (turn.get("respond") or {}).get("function_calls", []):
            if call["name"].endswith("pods_log"):
                call["args"] = {"namespace": "payments", "name": BIG_POD}
    summarize: dict = {"id": "summarize", "match": {"system_contains": SUMMARIZER_MARKER}}
    if summarizer_fails:
        summarize["error"] = {"status": 400, "times": 100, "message": "summariser unavailable"}
    else:
        summarize["respond"] = {"text": [CANNED_SUMMARY]}
    data["turns"].insert(0, summarize)
    return data


def prepare(workdir: Path, summarization: bool) -> tuple[Path, Path]:
    """Config dir and alert payload file for one `tarsy investigate` run."""
    from bot.demo.config import write_cli_config
    from bot.demo.payloads import alertmanager_payload

    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite+aiosqlite:///{workdir / 'tarsy.db'}"
    config_dir = write_cli_config(
        workdir / "config",
        db_url=db_url,
        scenario="checkout-oom-biglog",
        summarization=summarization,
    )
    payload = workdir / "alert.json"
    payload.write_text(json.dumps(alertmanager_payload("tokens", pod=BIG_POD)))
    return config_dir, payload


async def investigate(workdir: Path, *, summarization: bool, summarizer_fails: bool) -> dict:
    from bot.demo.serve_process import child_env
    from devkit.gemini import GeminiServer

    config_dir, payload = prepare(workdir, summarization)
    async with GeminiServer(script=script(summarizer_fails), port=0) as gemini:
        env = child_env({"GOOGLE_GEMINI_BASE_URL": gemini.base_url, "GOOGLE_API_KEY": "bench"})
        t0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "investigate",
            str(payload),
            "--config-dir",
            str(config_dir),
            "--format",
            "json",
            "--quiet",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 180)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(
                f"tarsy investigate failed ({proc.returncode}): {err.decode()[-2000:]}"
            )
        reqs = list(gemini.requests)
    result = json.loads(out)
    result = result[0] if isinstance(result, list) else result
    agent_reqs = [r for r in reqs if r.turn_id != "summarize"]
    summarizer_reqs = [r for r in reqs if r.turn_id == "summarize"]

    def has_oom(rs) -> bool:  # noqa: ANN001
        return any(OOM_LINE in json.dumps(r.body) for r in rs)

    return {
        "status": result.get("status"),
        "prompt_tokens": sum(r.prompt_tokens for r in reqs),
        "llm_requests": len(reqs),
        "largest_request_tokens": max((r.prompt_tokens for r in reqs), default=0),
        "summarizer_requests": len(summarizer_reqs),
        "oom_line_in_agent_prompts": has_oom(agent_reqs),
        "oom_line_in_summarizer_input": has_oom(summarizer_reqs),
        "app_reported_input_tokens": (result.get("tokens") or {}).get("input"),
        "wall_s": round(wall, 2),
    }


async def main_async() -> dict:
    with tempfile.TemporaryDirectory(prefix="tarsy-bench-tokens-") as tmp:
        root = Path(tmp)
        on = await investigate(root / "on", summarization=True, summarizer_fails=False)
        cut = await investigate(root / "on_cut", summarization=True, summarizer_fails=True)
        off = await investigate(root / "off", summarization=False, summarizer_fails=False)
    ratio = off["prompt_tokens"] / max(1, on["prompt_tokens"])
    ratio_cut = off["prompt_tokens"] / max(1, cut["prompt_tokens"])
    oom_on = on["oom_line_in_agent_prompts"] or on["oom_line_in_summarizer_input"]
    return {
        "benchmark": "tokens",
        "scenario": "checkout-oom-biglog (2 MB pods_log result), shipped 3-stage chain",
        "budgets_on": on,
        "budgets_on_summarizer_failing": cut,
        "budgets_off": off,
        "ratio_off_over_on": round(ratio, 1),
        "ratio_off_over_on_cut": round(ratio_cut, 1),
        "target_ratio": TARGET_RATIO,
        "oom_line_reaches_model_with_budgets": oom_on and cut["oom_line_in_agent_prompts"],
        "meets_target": ratio >= TARGET_RATIO
        and ratio_cut >= TARGET_RATIO
        and oom_on
        and cut["oom_line_in_agent_prompts"]
        and on["status"] == off["status"] == "completed",
    }


def main() -> int:
    from benchmarks._common import print_report

    return print_report(main_async())


if __name__ == "__main__":
    sys.exit(main())
