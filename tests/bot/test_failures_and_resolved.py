"""A failing LLM: a clear failure in the thread and ONE warning in the ops channel.
Resolved notifications (webhook and Slack message) close the incident with one short note."""

from __future__ import annotations

import copy
import json

import aiohttp

from storage.repositories.sessions import find_session_by_slack_thread, get_session, list_sessions
from tests.helpers.stack import (
    ALERT_CHANNEL,
    INCIDENT_CHANNEL,
    OTHER_CHANNEL,
    DevStack,
    buttons,
    eventually,
    fixture_bytes,
    fixture_json,
    message_text,
)

OPS = OTHER_CHANNEL


async def _get_health(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(url + "/health") as resp:
        return resp.status, await resp.json()


async def test_llm_outage_fails_the_thread_and_warns_ops_once(tmp_path):
    async with DevStack(tmp_path, slack_overrides={"ops_channel": OPS}) as st:
        slack = st.slack
        st.gemini.fail_next(status=503, times=50, message="model overloaded")
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)

        def root_failed():
            root = slack.thread(ALERT_CHANNEL, alert_ts)[0]
            return "x" in root.reactions and "eyes" not in root.reactions

        await slack.wait_for(root_failed, timeout=30)
        await st.settle()
        session = await find_session_by_slack_thread(st.app.db, ALERT_CHANNEL, alert_ts)
        assert session is not None and session.status == "failed"
        assert session.error and "503" in session.error
        card = slack.thread(ALERT_CHANNEL, alert_ts)[1]
        assert "Failed:" in message_text(card) and "503" in message_text(card)
        # a re-run is one click away once the LLM is back
        assert any("tarsy_rerun" in buttons(m) for m in slack.thread(ALERT_CHANNEL, alert_ts))

        # Ops hears about it as it happens, not at the next health poll...
        await slack.wait_for(lambda: len(slack.messages(OPS)) >= 1, timeout=10)
        final = slack.thread(ALERT_CHANNEL, alert_ts)[-1]
        assert "Recommendation" not in message_text(final)
        assert "tarsy_feedback_up" not in buttons(final)  # nothing to rate
        # ...and once: probes see the outage but the warning is not repeated.
        for _ in range(3):
            status, health = await _get_health(st.url)
            assert status == 503 and any(r.startswith("llm:") for r in health["reasons"])
        ops = slack.messages(OPS)
        assert len(ops) == 1, [m.text for m in ops]
        assert "llm" in ops[0].text and "503" in ops[0].text


async def test_resolved_notifications_close_the_incident_with_one_note(tmp_path):
    async with DevStack(tmp_path) as st:
        slack = st.slack
        # --- webhook: firing, investigated, then resolved
        firing = fixture_bytes("alertmanager-webhook.json")
        status, data = await _post(st.url + "/webhooks/alertmanager", firing)
        assert status == 202
        sid = data["session_id"]

        async def completed(sid=sid):
            row = await get_session(st.app.db, sid)
            return row.status == "completed" and row.slack_thread_ts

        await eventually(completed, wait_s=30)
        await st.settle()
        thread_ts = (await get_session(st.app.db, sid)).slack_thread_ts
        n_requests = len(st.gemini.requests)
        n_thread = len(slack.thread(INCIDENT_CHANNEL, thread_ts))

        resolved = json.loads(firing)
        resolved["status"] = "resolved"
        for a in resolved["alerts"]:
            a["status"] = "resolved"
            a["endsAt"] = "2026-12-04T15:20:00Z"
        status, data = await _post(st.url + "/webhooks/alertmanager", json.dumps(resolved).encode())
        assert status == 202 and data["resolved"] is True and data["session_id"] == sid
        await st.settle()
        thread = slack.thread(INCIDENT_CHANNEL, thread_ts)
        notes = [m for m in thread if "resolved" in message_text(m).lower() and "✅" in m.text]
        assert len(notes) == 1 and len(thread) == n_thread + 1
        assert (await get_session(st.app.db, sid)).resolved_at is not None
        assert len(await list_sessions(st.app.db)) == 1
        assert len(st.gemini.requests) == n_requests  # no new investigation

        # --- Slack: an Alertmanager message in the alert channel, then its RESOLVED message
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)
        await slack.wait_for(
            lambda: "white_check_mark" in slack.thread(ALERT_CHANNEL, alert_ts)[0].reactions,
            timeout=30,
        )
        await st.settle()
        session = await find_session_by_slack_thread(st.app.db, ALERT_CHANNEL, alert_ts)
        n_requests = len(st.gemini.requests)
        n_thread = len(slack.thread(ALERT_CHANNEL, alert_ts))
        res_body = _resolved_message(body)
        await slack.post_event(res_body)

        async def closed():
            return (await get_session(st.app.db, session.id)).resolved_at is not None

        await eventually(closed, wait_s=10)
        await st.settle()
        thread = slack.thread(ALERT_CHANNEL, alert_ts)
        assert len(thread) == n_thread + 1 and "resolved" in thread[-1].text.lower()
        assert len(slack.thread(ALERT_CHANNEL, res_body["event"]["ts"])) == 1  # no reply there
        assert len(await list_sessions(st.app.db)) == 2
        assert len(st.gemini.requests) == n_requests


def _resolved_message(firing: dict) -> dict:
    body = copy.deepcopy(firing)
    body["event_id"] = "Ev0RESOLVED01"
    ev = body["event"]
    ev["ts"] = ev["event_ts"] = "1796397000.000100"
    att = ev["attachments"][0]
    for key in ("title", "fallback"):
        att[key] = att[key].replace("[FIRING:2]", "[RESOLVED]")
    att["color"] = "2eb886"
    return body


async def _post(url: str, body: bytes) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers={"Content-Type": "application/json"}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)
