"""`tarsy investigate` / `tarsy sessions` as a user runs them: real subprocesses, the devkit
Gemini server (in this test's loop) and the devkit cluster MCP server over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from devkit.gemini import GeminiServer
from tests.chains.devkit_env import (
    FIXTURES,
    REPO,
    checkout_alert_payload,
    checkout_script,
    write_config,
)
from tests.helpers.db import sqlite_url


async def tarsy(
    *args: str, stdin: bytes | None = None, limit_s: float = 60
) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DATABASE_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=str(REPO),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), limit_s)
    return proc.returncode, out.decode(), err.decode()


async def investigate_checkout_alert(tmp_path, cfgdir, db_url: str) -> tuple[int, str, str]:
    """`tarsy investigate alert.json --format json` on the checkout alert fixture."""
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(checkout_alert_payload()))
    return await tarsy(
        "investigate",
        str(alert),
        "--config-dir",
        str(cfgdir),
        "--database-url",
        db_url,
        "--format",
        "json",
    )


async def test_investigate_three_stages_then_sessions_show(tmp_path):
    db_url = sqlite_url(tmp_path)
    record = tmp_path / "calls.jsonl"
    async with GeminiServer(script=checkout_script()) as g:
        cfgdir = write_config(tmp_path / "cfg", gemini_url=g.base_url, record=record)
        code, out, err = await investigate_checkout_alert(tmp_path, cfgdir, db_url)
        assert code == 0, err
        res = json.loads(out)
        assert res["status"] == "completed"
        assert [(s["name"], s["status"]) for s in res["stages"]] == [
            ("triage", "completed"),
            ("diagnose", "completed"),
            ("recommend", "completed"),
        ]
        assert "128Mi" in res["stages"][1]["likely_cause"]
        assert res["confidence"] == "high"
        assert "rollout undo deployment/checkout --to-revision=41" in res["next_steps"][0]
        assert res["tokens"]["input"] > 0 and res["tokens"]["output"] > 0
        # live progress went to stderr in json mode: stages, tool calls, streamed text
        assert "Stage 2/3 — diagnose" in err and "pods_log" in err
        assert "OutOfMemoryError" in err
        turns = [r.turn_id for r in g.requests]
        assert turns == [
            "triage-1",
            "triage-final",
            "diagnose-1",
            "diagnose-2",
            "diagnose-final",
            "recommend-1",
            "recommend-final",
        ]
        tools = [json.loads(line)["tool"] for line in record.read_text().splitlines()]
        assert sorted(tools) == sorted(
            [
                "pods_list_in_namespace",
                "events_list",
                "pods_log",
                "resources_get",
                "resources_list",
                "prometheus_query",
            ]
        )

        sid = res["session_id"]
        code, out, err = await tarsy(
            "sessions", "show", sid[:10], "--database-url", db_url, "--format", "json"
        )
        assert code == 0, err
        tl = json.loads(out)
        assert tl["session"]["status"] == "completed"
        assert len(tl["llm_interactions"]) == 7
        assert sorted(t["tool"] for t in tl["tool_calls"]) == sorted(tools)
        assert all(t["stage_id"] for t in tl["tool_calls"])
        assert tl["stages"][1]["result"]["confidence"] == "high"
        # the Secret never made it into the audit trail
        assert "S3cr3t-Passw0rd-42!" not in out and "UzNjcjN0LVBhc3N3MHJkLTQyIQ==" not in out

        code, out, _ = await tarsy("sessions", "show", sid, "--database-url", db_url)
        assert code == 0 and "Final recommendation:" in out and "pods_log" in out
        code, out, _ = await tarsy(
            "sessions",
            "list",
            "--since",
            "1h",
            "--status",
            "completed",
            "--database-url",
            db_url,
            "--format",
            "json",
        )
        assert code == 0 and [s["id"] for s in json.loads(out)] == [sid]
        code, out, _ = await tarsy(
            "sessions", "list", "--status", "failed", "--database-url", db_url
        )
        assert code == 0 and "no sessions" in out


async def test_investigate_text_output_from_stdin_with_alertmanager_payload(tmp_path):
    async with GeminiServer(script=checkout_script()) as g:
        cfgdir = write_config(tmp_path / "cfg", gemini_url=g.base_url)
        payload = (FIXTURES / "alertmanager-webhook.json").read_bytes()
        code, out, err = await tarsy(
            "investigate",
            "-",
            "--config-dir",
            str(cfgdir),
            "--database-url",
            sqlite_url(tmp_path),
            stdin=payload,
        )
        assert code == 0, err
        assert "✅ Investigation complete" in out
        assert "Likely cause (high confidence):" in out
        assert "1. `kubectl -n payments rollout undo" in out
        assert "▶ Stage 1/3 — triage" in out


async def test_bad_input_exit_2_with_a_message(tmp_path):
    cfgdir = write_config(tmp_path / "cfg", gemini_url="http://127.0.0.1:9")
    db = sqlite_url(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = await tarsy(
        "investigate", str(bad), "--config-dir", str(cfgdir), "--database-url", db
    )
    assert code == 2 and "bad.json is not valid JSON: Expecting property name" in err
    code, _, err = await tarsy(
        "investigate",
        str(tmp_path / "missing.json"),
        "--config-dir",
        str(cfgdir),
        "--database-url",
        db,
    )
    assert code == 2 and "cannot read" in err and "missing.json" in err
    odd = tmp_path / "odd.json"
    odd.write_text('{"hello": 1}')
    code, _, err = await tarsy(
        "investigate", str(odd), "--config-dir", str(cfgdir), "--database-url", db
    )
    assert code == 2 and "supported formats" in err
    code, _, err = await tarsy("sessions", "list", "--since", "yesterday", "--database-url", db)
    assert code == 2 and "--since 'yesterday'" in err


async def test_failed_investigation_exit_1(tmp_path):
    # The model rejects the request (400, not retryable): the stage fails, exit code 1.
    async with GeminiServer(script=checkout_script()) as g:
        g.fail_next(status=400, times=5, message="API key not valid")
        cfgdir = write_config(tmp_path / "cfg", gemini_url=g.base_url)
        code, out, err = await investigate_checkout_alert(tmp_path, cfgdir, sqlite_url(tmp_path))
    assert code == 1, err
    res = json.loads(out)
    assert res["status"] == "failed"
    assert res["error"].startswith("stage 1/3 'triage' failed:")
    assert "400" in res["error"]
    assert [s["status"] for s in res["stages"]] == ["failed"]
