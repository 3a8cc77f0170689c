"""`tarsy demo` end to end: a real subprocess, as a person runs it, read from its transcript."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def tarsy(*args: str, timeout: float = 90, env: dict[str, str] | None = None):
    base = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    base["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo") / ".tarsy"
    proc = tarsy("demo", "--workdir", str(workdir), "--chunk-delay-ms", "50")
    return proc, workdir


def test_demo_shows_the_whole_thread_and_follow_up(demo_run) -> None:
    proc, _ = demo_run
    out = proc.stdout
    assert proc.returncode == 0, f"stdout:\n{out[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    live, _, final = out.partition("== The thread as it now reads in Slack ==")
    # the alert arrives, then TARSy's status card, stages with tool lines, recommendation
    assert "[FIRING:2] KubePodCrashLooping" in live
    assert "🔍 Investigating" in live and "✅ Done" in live  # card seen live, then done
    for n, stage in ((1, "triage"), (2, "diagnose"), (3, "recommend")):
        assert f"Stage {n}/3 — {stage}" in live
    for tool in ("pods_list_in_namespace", "events_list", "pods_log", "prometheus_query"):
        assert f"`{tool}`" in live
    assert "rollout undo deployment/checkout --to-revision=41" in live
    assert "[Re-run] [👍] [👎] [Show details]" in live
    # the follow-up question and the scripted answer to it, in that order
    question = live.index("can we just roll back?")
    assert live.index("Rolling back is safe here", question) > question
    # the final thread: card done, the alert marked done, three stage replies
    assert "✅ Done" in final and ":white_check_mark:" in final
    assert final.count("*Stage ") == 3
    assert "Investigating" not in final
    # where the audit trail is and how to browse it
    assert re.search(r"investigation [0-9a-f]{32} completed", out)
    assert "tarsy sessions show " in out and "--database-url sqlite+aiosqlite:///" in out


def test_demo_audit_trail_is_stored(demo_run) -> None:
    proc, workdir = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r"tarsy sessions show ([0-9a-f]{32}) --database-url (\S+)", proc.stdout)
    assert m, proc.stdout[-2000:]
    assert (workdir / "demo.db").exists()
    shown = tarsy("sessions", "show", m[1], "--database-url", m[2], "--format", "json", timeout=30)
    assert shown.returncode == 0, shown.stderr
    trail = json.loads(shown.stdout)
    assert trail["session"]["status"] == "completed"
    assert trail["session"]["kind"] == "KubePodCrashLooping"
    assert [s["name"] for s in trail["stages"]] == ["triage", "diagnose", "recommend"]
    assert all(s["status"] == "completed" for s in trail["stages"])
    tools = {c["tool"] for c in trail["tool_calls"]}
    assert {"pods_list_in_namespace", "pods_log", "resources_list"} <= tools
    assert len(trail["llm_interactions"]) >= 7  # 2 + 3 + 2 stage turns, plus the follow-up
    [followup] = trail["followups"]
    assert followup["question"] == "can we just roll back?"
    assert followup["status"] == "answered" and "revision 41" in followup["answer"]


def test_real_gemini_without_a_key_says_how_to_fix(tmp_path: Path) -> None:
    proc = tarsy("demo", "--llm", "gemini", "--workdir", str(tmp_path), timeout=30)
    assert proc.returncode == 1
    assert "GOOGLE_API_KEY" in proc.stderr and "without --llm" in proc.stderr


def test_busy_slack_port_says_how_to_fix(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = tarsy("demo", "--slack-port", str(port), "--workdir", str(tmp_path), timeout=30)
    assert proc.returncode == 1
    assert f"port {port}" in proc.stderr and "--slack-port" in proc.stderr
