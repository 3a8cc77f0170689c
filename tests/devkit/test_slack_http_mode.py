"""Signed HTTP deliveries to a real Bolt app (`app.web_app()`) and to a raw aiohttp endpoint."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from devkit.slack import SlackEmulator

ALERTS = "C0ALERTS01"


@pytest.fixture
async def slack():
    async with SlackEmulator(channels={ALERTS: "alerts"}, ack_timeout=1.0) as emu:
        emu.deliveries.retry_delay = 0.05
        yield emu


async def serve(app: web.Application):
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


@pytest.fixture
async def bolt_url(slack):
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=slack.signing_secret,
    )

    @app.event("message")
    async def on_message(event, say):
        if "subtype" not in event and not event.get("bot_id"):
            await say(text="on it", thread_ts=event["ts"])

    @app.command("/tarsy")
    async def on_command(ack, command):
        await ack(text=f"Investigating: {command['text']}")

    @app.action("go")
    async def on_go(ack, respond):
        await ack()
        await respond(text="clicked", response_type="in_channel")

    runner, port = await serve(app.web_app(path="/slack/events"))
    yield f"http://127.0.0.1:{port}/slack/events"
    await runner.cleanup()


async def test_bolt_http_mode_receives_signed_events_commands_and_actions(slack, bolt_url):
    slack.set_request_url(bolt_url)
    ts = await slack.post_message(ALERTS, text="pods crash looping", user="U0SRE00001")
    await slack.wait_for(lambda: len(slack.thread(ALERTS, ts)) == 2)
    assert slack.thread(ALERTS, ts)[1].text == "on it"

    cmd = await slack.send_slash_command(text="investigate payments", user="U0SRE00001")
    await slack.wait_acked(cmd, timeout=5)
    assert cmd.attempts[0].status == 200
    assert [e.text for e in slack.ephemerals(user="U0SRE00001")] == [
        "Investigating: investigate payments"
    ]

    blocks = [
        {
            "type": "actions",
            "elements": [
                {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}
            ],
        }
    ]
    posted = await AsyncWebClient(token=slack.bot_token, base_url=slack.api_url).chat_postMessage(
        channel=ALERTS, text="press", blocks=blocks
    )
    click = await slack.click_button(ALERTS, posted["ts"], "go")
    await slack.wait_acked(click, timeout=5)
    await slack.wait_for(lambda: any(m.text == "clicked" for m in slack.messages(ALERTS)))


async def test_bad_signature_is_rejected_by_bolt_and_recorded(slack, bolt_url):
    slack.set_request_url(bolt_url, signing_secret="not-the-app-secret")
    await slack.post_message(ALERTS, text="hello", user="U0SRE00001")
    (delivery,) = slack.delivered()
    await slack.wait_for(lambda: delivery.gave_up, timeout=10)
    assert delivery.statuses == [401, 401, 401, 401]
    assert not delivery.acked and len(slack.messages(ALERTS)) == 1


async def test_retries_carry_retry_headers_and_valid_signatures(slack):
    seen: list[dict] = []
    verifier = SignatureVerifier(slack.signing_secret)

    async def endpoint(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(
            {
                "valid": verifier.is_valid_request(body, dict(request.headers)),
                "retry": request.headers.get("X-Slack-Retry-Num"),
                "reason": request.headers.get("X-Slack-Retry-Reason"),
                "event_id": json.loads(body)["event_id"],
            }
        )
        return web.Response(status=500 if len(seen) < 3 else 200)

    app = web.Application()
    app.router.add_post("/events", endpoint)
    runner, port = await serve(app)
    try:
        slack.set_request_url(f"http://127.0.0.1:{port}/events")
        event_id = await slack.post_event({"type": "reaction_added", "reaction": "eyes"})
        (delivery,) = slack.delivered()
        await slack.wait_acked(delivery, timeout=10)
    finally:
        await runner.cleanup()
    assert [(s["retry"], s["reason"]) for s in seen] == [
        (None, None),
        ("1", "http_error"),
        ("2", "http_error"),
    ]
    assert all(s["valid"] and s["event_id"] == event_id for s in seen)
    assert delivery.statuses == [500, 500, 200]
