"""Every table written through the repositories and read back through the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import queue
from storage.models import LlmInteractionRow, SessionEventRow, ToolCallRow
from storage.repositories import feedback, followups, records, sessions, slack, stages, timeline
from storage.repositories.intake import NewAlert, list_alerts, record_alert_and_enqueue

UNICODE = "Pod checkout-7f9 OOMKilled — 内存不足 🚨"


def make_alert(fp: str = "fp-1", **kw) -> NewAlert:
    base = dict(
        source="alertmanager",
        kind="KubePodCrashLooping",
        title=UNICODE,
        fingerprint=fp,
        severity="critical",
        labels={"namespace": "shop", "pod": "checkout-7f9"},
        annotations={"summary": "restarts"},
        links=[{"title": "graph", "url": "https://grafana.example/d/1"}],
        runbook_url="https://runbooks.example/crashloop.md",
        description="container restarted 5 times",
        payload={"alerts": [{"status": "firing", "nested": {"n": 1, "list": [1, 2.5, None]}}]},
        slack_channel="C123",
        slack_ts="1700000000.000100",
        slack_user=None,
    )
    base.update(kw)
    return NewAlert(**base)


async def test_full_session_round_trip(db):
    session, created = await record_alert_and_enqueue(
        db, make_alert(), dedup_window_s=600, chain_name="k8s", chain_snapshot={"stages": [1]}
    )
    assert created and session.status == "queued"
    claimed = await queue.claim_next(
        db, "worker-a", lease_seconds=60, concurrency_limit=5, max_attempts=3
    )
    assert claimed is not None and claimed.id == session.id and not claimed.resumed

    stage = await stages.start_stage(db, session.id, index=0, name="investigate", agents=["k8s"])
    await records.add_many(
        db,
        [
            LlmInteractionRow(
                id="llm-1",
                session_id=session.id,
                stage_id=stage.id,
                agent="k8s",
                provider="gemini",
                model="gemini-2.5-pro",
                iteration=1,
                request={"system": "you are…", "contents": [{"role": "user", "text": UNICODE}]},
                response_text="Looking at the pod.",
                thinking_text="The pod is OOMing",
                function_calls=[{"name": "pods_get", "args": {"name": "checkout-7f9"}}],
                input_tokens=1200,
                output_tokens=80,
                thinking_tokens=40,
                latency_ms=812.5,
                finish_reason="STOP",
            ),
            ToolCallRow(
                id="call-1",
                session_id=session.id,
                stage_id=stage.id,
                server="kubernetes",
                tool="pods_get",
                arguments={"name": "checkout-7f9", "namespace": "shop"},
                result="status: OOMKilled\ntoken: [MASKED:bearer_tokens]",
                result_for_model="status: OOMKilled",
                duration_ms=42.0,
                summarized=True,
                original_tokens=9000,
            ),
            SessionEventRow(
                session_id=session.id, stage_id=stage.id, type="warning", message="slow MCP"
            ),
        ],
    )
    await records.add_llm_interaction(
        db,
        session_id=session.id,
        stage_id=stage.id,
        provider="gemini",
        model="gemini-2.5-pro",
        error="429 rate limited",
        attempts=3,
        input_tokens=10,
        output_tokens=5,
    )
    await records.add_tool_call(
        db, session_id=session.id, server="kubernetes", tool="pods_delete", denied=True
    )
    await records.add_event(db, session.id, "note", "hello", data={"k": [1, 2]})
    await stages.finish_stage(
        db,
        stage.id,
        status="completed",
        result={"summary": "OOM"},
        full_text="The pod runs out of memory.",
    )
    assert await queue.checkpoint(db, session.id, "worker-a", 1)
    await sessions.update_session_slack(db, session.id, status_ts="1700000000.000200")
    assert await slack.record_slack_message(
        db,
        channel="C123",
        ts="1700000000.000200",
        thread_ts="1700000000.000100",
        purpose="status",
        session_id=session.id,
    )
    assert not await slack.record_slack_message(
        db, channel="C123", ts="1700000000.000200", purpose="status", session_id=session.id
    )
    fu = await followups.add_followup(
        db, session.id, "why did it OOM?", asked_by="U42", slack_channel="C123", slack_ts="1.2"
    )
    assert await followups.start_answering(db, fu.id)
    assert not await followups.start_answering(db, fu.id)
    await followups.finish_followup(db, fu.id, answer="memory limit 256Mi", input_tokens=5)
    await feedback.add_feedback(db, session.id, "up", user="U42", comment="spot on")
    with pytest.raises(ValueError, match="feedback must be one of"):
        await feedback.add_feedback(db, session.id, "meh")
    assert await queue.finish(
        db,
        session.id,
        "worker-a",
        "completed",
        final_text="Raise the limit.",
        executive_summary="OOM",
        result={"ok": True},
    )

    t = await timeline.get_timeline(db, session.id)
    assert t is not None
    s = t.session
    assert s.status == "completed" and s.final_text == "Raise the limit."
    assert s.executive_summary == "OOM" and s.result == {"ok": True}
    assert s.chain_snapshot == {"stages": [1]} and s.chain_name == "k8s"
    assert s.slack_status_ts == "1700000000.000200" and s.slack_thread_ts == "1700000000.000100"
    assert s.next_stage_index == 1 and s.attempts == 1
    assert (s.input_tokens, s.output_tokens, s.thinking_tokens) == (1210, 85, 40)
    assert s.created_at.tzinfo is not None and s.finished_at >= s.started_at >= s.created_at

    [alert] = t.alerts
    assert alert.title == UNICODE and alert.payload["alerts"][0]["nested"]["list"] == [1, 2.5, None]
    assert alert.links[0]["url"].startswith("https://") and alert.labels["pod"] == "checkout-7f9"
    [st] = t.stages
    assert st.status == "completed" and st.result == {"summary": "OOM"} and st.agents == ["k8s"]
    assert (st.input_tokens, st.output_tokens) == (1210, 85) and st.finished_at is not None
    llm = {r.id: r for r in t.llm_interactions}
    assert llm["llm-1"].thinking_text == "The pod is OOMing" and llm["llm-1"].latency_ms == 812.5
    assert llm["llm-1"].request["contents"][0]["text"] == UNICODE
    assert any(r.error == "429 rate limited" and r.attempts == 3 for r in t.llm_interactions)
    calls = {c.tool: c for c in t.tool_calls}
    assert calls["pods_get"].summarized and calls["pods_get"].original_tokens == 9000
    assert calls["pods_delete"].denied and calls["pods_delete"].stage_id is None
    types = [e.type for e in t.events]
    assert types[0] == "queued" and "started" in types and types[-1] == "completed"
    assert any(e.type == "note" and e.data == {"k": [1, 2]} for e in t.events)
    [f] = t.followups
    assert f.status == "answered" and f.answer == "memory limit 256Mi" and f.answered_at
    [fb] = t.feedback
    assert (fb.value, fb.user, fb.comment) == ("up", "U42", "spot on")
    [msg] = t.slack_messages
    assert msg.purpose == "status" and msg.thread_ts == "1700000000.000100"

    # finding the session again from Slack coordinates (follow-ups arrive that way)
    by_root = await sessions.find_session_by_slack_thread(db, "C123", "1700000000.000100")
    by_msg = await sessions.find_session_by_slack_thread(db, "C123", "1700000000.000200")
    assert by_root.id == by_msg.id == session.id
    assert await sessions.resolve_session_id(db, session.id[:8]) == session.id
    assert [a.id for a in await list_alerts(db, session.id)] == [alert.id]


async def test_failed_followup_and_listing(db):
    s1, _ = await record_alert_and_enqueue(db, make_alert("a"), dedup_window_s=0)
    s2, _ = await record_alert_and_enqueue(db, make_alert("b"), dedup_window_s=0)
    fu = await followups.add_followup(db, s1.id, "and now?")
    await followups.finish_followup(db, fu.id, error="LLM unavailable")
    assert (await followups.get_followup(db, fu.id)).status == "failed"
    assert [f.id for f in await followups.list_followups(db, status="failed")] == [fu.id]

    newest_first = await sessions.list_sessions(db)
    assert [s.id for s in newest_first][:2] == [s2.id, s1.id]
    assert await sessions.list_sessions(db, status="completed") == []
    future = datetime.now(UTC) + timedelta(hours=1)
    assert await sessions.list_sessions(db, since=future) == []
    assert await sessions.count_by_status(db) == {"queued": 2}
    with pytest.raises(ValueError, match="unknown session status"):
        await sessions.list_sessions(db, status="done")
    assert await timeline.get_timeline(db, "nope") is None


async def test_cancel_queued_and_running(db):
    queued, _ = await record_alert_and_enqueue(db, make_alert("q"), dedup_window_s=0)
    running, _ = await record_alert_and_enqueue(db, make_alert("r"), dedup_window_s=0)
    assert await sessions.request_cancel(db, queued.id, by="U1") == "cancelled"
    claimed = await queue.claim_next(db, "w", lease_seconds=60, concurrency_limit=5, max_attempts=3)
    assert claimed.id == running.id  # the cancelled one is never claimed
    assert await sessions.request_cancel(db, running.id) == "running"
    hb = await queue.heartbeat_status(db, running.id, "w", 60)
    assert hb.ok and hb.cancel_requested
    assert await sessions.request_cancel(db, "missing") is None
