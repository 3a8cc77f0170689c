"""A real slack-bolt AsyncApp in Socket Mode against the emulator, plus raw-protocol checks."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from devkit.slack import SlackEmulator

ALERTS = "C0ALERTS01"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Recommendation: raise the limit"}},
    {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            {
                "type": "button",
                "action_id": "feedback_up",
                "text": {"type": "plain_text", "text": "Helpful"},
                "value": "up",
            }
        ],
    },
]


@pytest.fixture
async def slack():
    async with SlackEmulator(channels={ALERTS: "alerts"}, ack_timeout=0.5) as emu:
        yield emu


def make_app(slack: SlackEmulator) -> tuple[AsyncApp, list[dict]]:
    seen: list[dict] = []
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=slack.signing_secret,
    )

    @app.event("message")
    async def on_message(event, say):
        seen.append(event)
        if "subtype" not in event:
            await say(text=f"Looking into: {event['text']}", thread_ts=event["ts"])

    @app.event("app_mention")
    async def on_mention(event):
        seen.append(event)

    @app.command("/tarsy")
    async def on_command(ack, command, respond):
        await ack(text=f"Investigating: {command['text']}")
        await respond(text="Thread opened in #alerts", response_type="ephemeral")

    @app.action("feedback_up")
    async def on_feedback(ack, body, respond):
        await ack()
        await respond(replace_original=True, text=f"Thanks <@{body['user']['id']}>!")

    return app, seen


@pytest.fixture
async def bolt(slack):
    app, seen = make_app(slack)
    handler = AsyncSocketModeHandler(app, slack.app_token, web_client=app.client)
    await handler.connect_async()
    await slack.wait_for(lambda: slack.socket_mode.connects >= 1, timeout=5)
    yield app, seen
    await handler.close_async()


async def test_bolt_replies_in_thread_to_a_user_mention(slack, bolt):
    _, seen = bolt
    ts = await slack.post_message(ALERTS, text="<@U0TARSYBOT> checkout is down", user="U0SRE00001")
    thread = await slack.wait_for(
        lambda: len(slack.thread(ALERTS, ts)) == 2 and slack.thread(ALERTS, ts)
    )
    assert thread[1].text == "Looking into: <@U0TARSYBOT> checkout is down"
    assert thread[1].bot_id == "B0TARSY001" and thread[1].thread_ts == ts
    await slack.wait_for(lambda: {e["type"] for e in seen} == {"message", "app_mention"})
    # the bot's own reply came back as a message event, was acked, and Bolt ignored it
    own = await slack.wait_for(
        lambda: [d for d in slack.delivered() if d.payload["event"].get("bot_id") and d.acked]
    )
    assert own[0].payload["event"]["thread_ts"] == ts
    assert all(e.get("bot_id") is None for e in seen)


async def test_fixture_alert_event_is_stored_and_answered(slack, bolt):
    body = json.loads(FIXTURES.joinpath("slack-event-alert-message.json").read_text())
    event_id = await slack.post_event(body)
    assert event_id == "Ev0ALERT000001"
    delivery = slack.delivered()[0]
    await slack.wait_acked(delivery, timeout=5)
    assert delivery.acked and delivery.attempts[0].transport == "socket_mode"
    assert slack.messages(ALERTS)[0].attachments[0]["title"].startswith("[FIRING:2]")


async def test_slash_command_ack_and_respond_are_what_the_user_sees(slack, bolt):
    delivery = await slack.send_slash_command(text="investigate checkout", user="U0SRE00001")
    await slack.wait_acked(delivery, timeout=5)
    await slack.wait_for(lambda: len(slack.ephemerals(user="U0SRE00001")) == 2)
    seen = {e.text for e in slack.ephemerals(channel=ALERTS, user="U0SRE00001")}
    assert seen == {"Investigating: investigate checkout", "Thread opened in #alerts"}
    assert sorted(r.kind for r in slack.responses) == ["ack", "response_url"]
    assert delivery.payload["command"] == "/tarsy"


async def test_button_click_reaches_bolt_and_replaces_the_message(slack, bolt):
    app, _ = bolt
    posted = await app.client.chat_postMessage(channel=ALERTS, text="rec", blocks=BUTTONS)
    delivery = await slack.click_button(ALERTS, posted["ts"], "feedback_up", user="U0SRE00001")
    await slack.wait_acked(delivery, timeout=5)
    msg = await slack.wait_for(lambda: [m for m in slack.messages(ALERTS) if "Thanks" in m.text])
    assert msg[0].text == "Thanks <@U0SRE00001>!"
    with pytest.raises(ValueError, match="no element with action_id"):
        await slack.click_button(ALERTS, posted["ts"], "not_a_button")


async def test_disconnect_makes_bolt_reconnect_and_keep_working(slack, bolt):
    await slack.disconnect_clients()
    await slack.wait_for(lambda: slack.socket_mode.connects >= 2, timeout=10)
    ts = await slack.post_message(ALERTS, text="still there?", user="U0SRE00001")
    await slack.wait_for(lambda: len(slack.thread(ALERTS, ts)) == 2, timeout=10)


async def test_unacked_event_is_redelivered_with_same_event_id(slack):
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    url = (await client.apps_connections_open(app_token=slack.app_token))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == "A0TARSY001"
        event_id = await slack.post_event({"type": "reaction_added", "reaction": "eyes"})
        first = await ws.receive_json(timeout=5)
        second = await ws.receive_json(timeout=5)  # not acked: Slack tries again
        assert first["type"] == "events_api" and first["accepts_response_payload"] is False
        assert (first["retry_attempt"], second["retry_attempt"]) == (0, 1)
        assert second["retry_reason"] == "timeout"
        assert first["payload"]["event_id"] == second["payload"]["event_id"] == event_id
        await ws.send_json({"envelope_id": second["envelope_id"]})
        (delivery,) = slack.delivered()
        await slack.wait_acked(delivery, timeout=5)
        assert delivery.acked and len(delivery.attempts) == 2
        # a used ticket cannot be reused
        async with http.get(url.replace("ws://", "http://")) as resp:
            assert resp.status == 401


async def test_redelivery_stops_after_three_retries(slack):
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    url = (await client.apps_connections_open(app_token=slack.app_token))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_json(timeout=5)
        await slack.post_event({"type": "reaction_added", "reaction": "eyes"})
        attempts = [(await ws.receive_json(timeout=5))["retry_attempt"] for _ in range(4)]
        assert attempts == [0, 1, 2, 3]
        (delivery,) = slack.delivered()
        await slack.wait_for(lambda: delivery.gave_up, timeout=5)
        assert not delivery.acked


async def test_events_wait_for_a_connection_and_commands_time_out_visibly(slack):
    delivery = await slack.send_slash_command(text="hi", user="U0SRE00001")
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    url = (await client.apps_connections_open(app_token=slack.app_token))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_json(timeout=5)
        envelope = await ws.receive_json(timeout=5)
        assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"]
        assert envelope["payload"]["text"] == "hi"
        await slack.wait_for(lambda: delivery.gave_up, timeout=5)
    (shown,) = slack.ephemerals(user="U0SRE00001")
    assert "operation_timeout" in shown.text
