"""``tarsy-devkit gemini`` as a real process answering the real google-genai client."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from google import genai
from google.genai import types

from devkit import scripts_dir

REPO = Path(__file__).resolve().parents[2]


async def devkit_gemini(script: Path, *args: str, **pipes: int) -> asyncio.subprocess.Process:
    """`python -m devkit.cli gemini --port 0 --script SCRIPT ARGS...` from the repo root."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devkit.cli",
        "gemini",
        "--port",
        "0",
        "--script",
        str(script),
        *args,
        env={"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
        cwd=str(REPO),
        **pipes,
    )


async def test_cli_serves_script_until_terminated(tmp_path):
    record = tmp_path / "log.json"
    proc = await devkit_gemini(
        scripts_dir() / "checkout-oom.yaml",
        "--record",
        str(record),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=15)).decode()
        assert "listening on http://127.0.0.1:" in line, line
        base_url = line.rsplit(" ", 1)[1].strip()
        client = genai.Client(
            api_key="k", http_options=types.HttpOptions(base_url=base_url, api_version="v1beta")
        )
        resp = await client.aio.models.generate_content(
            model="gemini-2.5-flash",
            contents="Can we roll back?",
            config=types.GenerateContentConfig(system_instruction="Follow-up chat"),
        )
        assert "rollout undo" in resp.text
        assert '"turn_id": "followup-rollback"' in record.read_text()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)


async def test_cli_rejects_a_broken_script(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("turns:\n  - match: {sytem_contains: x}\n")
    proc = await devkit_gemini(bad, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=15)
    assert proc.returncode == 2
    assert b"sytem_contains" in err and b"allowed" in err
