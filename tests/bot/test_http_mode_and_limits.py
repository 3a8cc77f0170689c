"""HTTP mode with signed requests, Slack rate limits (429) and alert storms."""

from __future__ import annotations

import aiohttp

from storage.repositories.sessions import list_sessions
from tests.helpers.stack import (
    ALERT_CHANNEL,
    INCIDENT_CHANNEL,
    SRE_CHANNEL,
    DevStack,
    buttons,
    fixture_json,
    message_text,
)


async def test_http_mode_events_and_commands_with_signatures(tmp_path):
    async with DevStack(tmp_path, mode="http") as st:
        slack = st.slack
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)
        await slack.wait_for(
            lambda: any("tarsy_rerun" in buttons(m) for m in slack.thread(ALERT_CHANNEL, alert_ts)),
            timeout=30,
        )
        d = await slack.send_slash_command("help", channel=SRE_CHANNEL, user="U1")
        await slack.wait_acked(d)
        assert "/tarsy investigate" in "\n".join(str(r) for r in slack.responses)
        attempts = [a for x in slack.delivered() for a in x.attempts]
        assert attempts and all(a.transport == "http" and a.status == 200 for a in attempts)
        # a request with a bad signature is refused by Bolt
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                st.url + "/slack/events",
                data=b'{"type":"event_callback"}',
                headers={"X-Slack-Signature": "v0=bad", "X-Slack-Request-Timestamp": "1"},
            ) as resp,
        ):
            assert resp.status == 401
        async with aiohttp.ClientSession() as http, http.get(st.url + "/health") as resp:
            data = await resp.json()
            assert resp.status == 200, data
            assert data["checks"]["database"]["ok"] and data["checks"]["slack"]["ok"]
        async with aiohttp.ClientSession() as http, http.get(st.url + "/metrics") as resp:
            text = await resp.text()
            assert 'tarsy_sessions_finished_total{status="completed"} 1.0' in text
            assert "tarsy_slack_api_calls_total" in text


async def test_every_message_arrives_in_order_under_429s(tmp_path):
    async with DevStack(tmp_path) as st:
        slack = st.slack
        slack.force_rate_limit("chat.postMessage", times=3)
        slack.force_rate_limit("chat.update", times=3)
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)
        await slack.wait_for(
            lambda: any("tarsy_rerun" in buttons(m) for m in slack.thread(ALERT_CHANNEL, alert_ts)),
            timeout=45,
        )
        await st.settle()
        assert any(c.status == 429 for c in slack.calls())
        texts = [message_text(m) for m in slack.thread(ALERT_CHANNEL, alert_ts)[1:]]
        assert "Done" in texts[0]
        order = [next(i for i, t in enumerate(texts) if f"Stage {k}/3" in t) for k in (1, 2, 3)]
        assert order == sorted(order)
        assert "tarsy_rerun" in texts[-1]
        metrics = await st.app.metrics.render()
        assert b"tarsy_slack_rate_limited_total" in metrics


async def test_alert_storm_is_one_investigation_one_note(tmp_path):
    script = {
        "turns": [
            {
                "id": "slow",
                "match": {"system_contains": "Stage: triage"},
                "respond": {"text": ["scoping ", "the incident"], "chunk_delay_ms": 300},
            }
        ],
        "default": {"text": ["ok"]},
    }
    async with DevStack(tmp_path, script=script) as st:
        payload = fixture_json("generic-alert.json")
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                async with http.post(st.url + "/api/v1/alerts", json=payload) as resp:
                    assert resp.status == 202
        slack = st.slack
        await slack.wait_for(
            lambda: any(
                "tarsy_rerun" in buttons(r)
                for m in slack.messages(INCIDENT_CHANNEL)
                for r in slack.thread(INCIDENT_CHANNEL, m.ts)
            ),
            timeout=45,
        )
        await st.settle()
        sessions = await list_sessions(st.app.db)
        assert len(sessions) == 1 and sessions[0].occurrences == 100
        roots = slack.messages(INCIDENT_CHANNEL)
        assert len(roots) == 1
        thread = slack.thread(INCIDENT_CHANNEL, roots[0].ts)
        notes = [m for m in thread if "fired again" in message_text(m)]
        assert len(notes) == 1
        assert "100×" in message_text(roots[0])
