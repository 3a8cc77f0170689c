from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.presenter import blocks as ui


def view(**kw):
    base = dict(
        session_id="s-123",
        title="KubePodCrashLooping: Pod is crash looping.",
        severity="critical",
        source="alertmanager",
    )
    base.update(kw)
    return ui.IncidentView(**base)


def all_text(blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def action_ids(blocks):
    return [e.get("action_id") for b in blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    ("status", "extra", "expected", "cancel"),
    [
        ("queued", {}, "⏳ Queued", True),
        (
            "investigating",
            {"stage_index": 2, "stage_total": 3, "stage_name": "diagnose"},
            "🔍 Investigating — stage 2/3: diagnose",
            True,
        ),
        ("completed", {}, "✅ Done", False),
        ("failed", {"error": "LLM quota exhausted"}, "❌ Failed: LLM quota exhausted", False),
        ("cancelled", {}, "🚫 Cancelled", False),
        ("timed_out", {}, "⌛ Timed out", False),
    ],
)
def test_status_card_for_each_status(status, extra, expected, cancel):
    text, blocks = ui.status_card(view(status=status, **extra))
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"].startswith("🔴 KubePodCrashLooping")
    assert blocks[1]["text"]["text"] == expected
    assert expected in text
    assert ("tarsy_cancel" in action_ids(blocks)) is cancel
    if cancel:
        [btn] = [
            e
            for b in blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e.get("action_id") == "tarsy_cancel"
        ]
        assert btn["value"] == "s-123"


def test_status_card_content():
    first = datetime(2026, 12, 4, 14, 51, tzinfo=UTC)
    _, blocks = ui.status_card(
        view(
            status="completed",
            likely_cause="memory limit cut to 128Mi <!here>",
            confidence=0.85,
            next_steps=["roll back to revision 41", "restore 512Mi", "check JVM flags", "4th"],
            duration_s=134,
            tokens_in=12345,
            tokens_out=1100,
            occurrences=12,
            first_seen=first,
            links=[{"title": "Alertmanager", "url": "http://am.example/#/alerts"}],
            runbook_url="https://rb.example/crash",
            severity="warning",
        )
    )
    text = all_text(blocks)
    assert blocks[0]["text"]["text"].startswith("🟡")
    assert "*Likely cause:* memory limit cut to 128Mi @\u200bhere _(confidence: 85%)_" in text
    assert "3. check JVM flags" in text and "4th" not in text
    assert "⏱ 2m 14s" in text and "12.3k in / 1.1k out" in text
    assert "seen 12× since <!date^" in text and "14:51 UTC" in text
    urls = [e.get("url") for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert urls == ["http://am.example/#/alerts", "https://rb.example/crash"]


def test_tool_line():
    line = ui.tool_line(
        "kubernetes.pods_log",
        {"namespace": "payments", "name": "checkout-7d9f8b6c5-x2x4q", "tail": 200},
        412,
    )
    assert line == "🔧 `pods_log` payments/checkout-7d9… 200 0.4 s"
    assert ui.tool_line("k8s__secrets_get", {"name": "db"}, 3, denied=True).startswith("🚫")
    err = ui.tool_line("prom.query", {"query": "up{job='x'}" * 20}, 2500, error="timeout")
    assert err.startswith("⚠️ `query`") and "timeout" in err and len(err) < 200
    assert "<@" not in ui.tool_line("x", {"q": "<@U1> <!here>"}, None)


def test_stage_message_limits_and_fences():
    body = "## Findings\n" + "\n\n".join(f"paragraph {i} " + "x" * 400 for i in range(80))
    tools = [ui.tool_line("k.get", {"n": i}, 10) for i in range(40)]
    text, blocks = ui.stage_message("diagnose", 2, 3, body, tools, done=True)
    assert blocks[0]["text"]["text"] == "*Stage 2/3 — diagnose* ✅"
    assert len(blocks) <= 50
    assert sum(len(b.get("text", {}).get("text", "")) for b in blocks) < 11000
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert "25 earlier tool calls" in all_text(blocks)
    assert "*Findings*" in all_text(blocks)
    _, failed = ui.stage_message("diagnose", 2, 3, "", [], error="MCP server down")
    assert failed[0]["text"]["text"].endswith("❌") and "MCP server down" in all_text(failed)


def test_final_message_buttons_and_limits():
    rec = "# Fix\n" + ("Roll back to revision 41. <!channel>\n" * 800)
    text, blocks = ui.final_message(view(status="completed"), rec, "Checkout OOMs after rollout")
    assert len(blocks) <= 50
    md = [b for b in blocks if b["type"] == "markdown"]
    assert len(md) == 1 and len(md[0]["text"]) <= 12000
    assert "<!channel>" not in all_text(blocks) and "<!channel>" not in text
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert action_ids(blocks) == [
        "tarsy_rerun",
        "tarsy_feedback_up",
        "tarsy_feedback_down",
        "tarsy_details",
    ]
    values = {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert values == {"s-123"}
    assert text.startswith("🔴 *Recommendation*") and len(text) <= 3000
    assert "*Fix*" in text  # mrkdwn fallback
    _, sections = ui.final_message(view(status="completed"), rec, "", markdown_block=False)
    assert not [b for b in sections if b["type"] == "markdown"]
    assert len(sections) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in sections if b["type"] == "section")


def test_details_modal_is_capped():
    stages = [
        {
            "name": f"stage {i}",
            "status": "completed",
            "output": "y" * 9000,
            "tools": [{"tool": "k.get", "arguments": {"n": 1}, "duration_ms": 5}],
        }
        for i in range(20)
    ]
    modal = ui.details_modal(
        {
            "session_id": "s-1",
            "title": "t",
            "status": "completed",
            "stages": stages,
            "final": "done",
        }
    )
    assert modal["type"] == "modal" and len(modal["title"]["text"]) <= 24
    assert len(modal["blocks"]) == 100
    assert "tarsy sessions show s-1" in modal["blocks"][-1]["elements"][0]["text"]
    small = ui.details_modal({"session_id": "s-2", "stages": [{"name": "a", "output": "hi"}]})
    assert len(small["blocks"]) < 10 and "hi" in all_text(small["blocks"])


def test_small_helpers():
    assert ui.occurrence_note(1, None) == ""
    assert ui.occurrence_note(3, None) == "seen 3×"
    assert "`/tarsy investigate" in ui.help_text()
    assert ui.help_text("unknown sub-command `x`").startswith("⚠️ unknown")
    assert ui.status_text([]) == "No investigations are running right now."
    row = {"id": "abc", "alert_title": "Disk", "alert_severity": "high", "status": "running"}
    line = ui.status_text([row, view(status="completed")])
    assert "🟠 `abc` Disk — 🔍 Investigating" in line and "✅ Done" in line
    [block] = ui.followup_answer_blocks("**yes** <!here>")
    assert block["type"] == "markdown" and "<!here>" not in block["text"]


def test_failed_final_message_offers_rerun_not_feedback():
    text, blocks = ui.final_message(view(status="failed", error="Gemini answered 503 x5"), "", "")
    assert text.startswith("❌ Failed: Gemini answered 503 x5")
    assert "Recommendation" not in all_text(blocks)
    assert "Re-run" in all_text(blocks) and "Show details" in all_text(blocks)
    assert action_ids(blocks) == ["tarsy_rerun", "tarsy_details"]
    _, cancelled = ui.final_message(view(status="cancelled"), "partial notes", "")
    assert "Cancelled" in all_text(cancelled) and "partial notes" in all_text(cancelled)
    assert "tarsy_feedback_up" not in action_ids(cancelled)
