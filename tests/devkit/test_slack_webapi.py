"""The real slack_sdk AsyncWebClient against the Slack emulator's Web API."""

from __future__ import annotations

import time

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from devkit.slack import SlackEmulator

ALERTS = "C0ALERTS01"


@pytest.fixture
async def slack():
    async with SlackEmulator(channels={ALERTS: "alerts", "C0OPS00001": "ops"}) as emu:
        yield emu


@pytest.fixture
def client(slack: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def _error(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


async def test_startup_is_fast_and_auth_test_names_the_bot():
    started = time.monotonic()
    async with SlackEmulator(channels={ALERTS: "alerts"}) as slack:
        assert time.monotonic() - started < 1.0
        resp = await AsyncWebClient(token=slack.bot_token, base_url=slack.api_url).auth_test()
        assert (resp["user_id"], resp["bot_id"], resp["team_id"]) == (
            "U0TARSYBOT",
            "B0TARSY001",
            "T0ACME0001",
        )


async def test_post_update_replies_reactions_round_trip(slack, client):
    root = await client.chat_postMessage(channel=ALERTS, text="Investigating checkout OOM")
    assert root["ok"] and root["channel"] == ALERTS and root["message"]["text"].startswith("Inv")
    reply = await client.chat_postMessage(channel=ALERTS, text="Stage 1 done", thread_ts=root["ts"])
    updated = await client.chat_update(channel=ALERTS, ts=root["ts"], text="Resolved: OOM")
    assert updated["message"]["text"] == "Resolved: OOM"
    await client.reactions_add(channel=ALERTS, timestamp=root["ts"], name="white_check_mark")

    replies = await client.conversations_replies(channel=ALERTS, ts=root["ts"])
    texts = [m["text"] for m in replies["messages"]]
    assert texts == ["Resolved: OOM", "Stage 1 done"]
    head = replies["messages"][0]
    assert head["reply_count"] == 1 and head["latest_reply"] == reply["ts"]
    assert head["reactions"] == [{"name": "white_check_mark", "users": ["U0TARSYBOT"], "count": 1}]

    (msg,) = slack.messages(ALERTS)
    assert msg.text == "Resolved: OOM" and [e.text for e in msg.edits] == [
        "Investigating checkout OOM"
    ]
    assert msg.reactions == {"white_check_mark": ["U0TARSYBOT"]}
    assert [m.text for m in slack.thread(ALERTS, root["ts"])] == ["Resolved: OOM", "Stage 1 done"]

    await client.reactions_remove(channel=ALERTS, timestamp=root["ts"], name="white_check_mark")
    await client.chat_delete(channel=ALERTS, ts=reply["ts"])
    assert slack.messages(ALERTS)[0].reactions == {}
    assert [m.text for m in slack.thread(ALERTS, root["ts"])] == ["Resolved: OOM"]
    history = await client.conversations_history(channel=ALERTS)
    assert [m["text"] for m in history["messages"]] == ["Resolved: OOM"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_error_codes_match_slack(slack, client):
    slack.add_channel("C0NOBOT001", "private-stuff", bot_member=False)
    user_ts = await slack.post_message(ALERTS, text="a person wrote this", user="U0SRE00001")
    bot = await client.chat_postMessage(channel=ALERTS, text="x")
    cases = [
        (client.chat_postMessage(channel="C0NOPE0000", text="x"), "channel_not_found"),
        (client.chat_postMessage(channel="C0NOBOT001", text="x"), "not_in_channel"),
        (client.chat_postMessage(channel=ALERTS), "no_text"),
        (client.chat_update(channel=ALERTS, ts="1.000001", text="x"), "message_not_found"),
        (client.chat_update(channel=ALERTS, ts=user_ts, text="x"), "cant_update_message"),
        (client.reactions_remove(channel=ALERTS, timestamp=bot["ts"], name="eyes"), "no_reaction"),
        (client.apps_connections_open(app_token=slack.bot_token), "not_allowed_token_type"),
        (
            AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url).auth_test(),
            "invalid_auth",
        ),
        (AsyncWebClient(base_url=slack.api_url).auth_test(), "not_authed"),
    ]
    for call, code in cases:
        err = await _error(call)
        assert err.response["error"] == code
        assert err.response.status_code == 200
    await client.reactions_add(channel=ALERTS, timestamp=bot["ts"], name="eyes")
    err = await _error(client.reactions_add(channel=ALERTS, timestamp=bot["ts"], name="eyes"))
    assert err.response["error"] == "already_reacted"
    failed = [c for c in slack.calls() if not c.ok]
    assert {c.error for c in failed} >= {"channel_not_found", "invalid_auth", "already_reacted"}


async def test_block_kit_limits(slack, client):
    slack.rate_limiter.enabled = False  # many rejected posts in one channel

    def section(n: int) -> dict:
        return {"type": "section", "text": {"type": "mrkdwn", "text": "x" * n}}

    too_many = [section(1) for _ in range(51)]
    err = await _error(client.chat_postMessage(channel=ALERTS, text="t", blocks=too_many))
    assert err.response["error"] == "invalid_blocks"
    err = await _error(client.chat_postMessage(channel=ALERTS, text="t", blocks=[section(3001)]))
    assert err.response["error"] == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in err.response["errors"][0]
    header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    err = await _error(client.chat_postMessage(channel=ALERTS, text="t", blocks=header))
    assert err.response["error"] == "invalid_blocks"
    big = [{"type": "markdown", "text": "m" * 12001}]
    err = await _error(client.chat_postMessage(channel=ALERTS, text="t", blocks=big))
    assert err.response["error"] == "invalid_blocks"

    five_full = [section(2900) for _ in range(5)]  # every block valid, 14.5k in total
    err = await _error(client.chat_postMessage(channel=ALERTS, text="t", blocks=five_full))
    assert err.response["error"] == "msg_too_long"
    err = await _error(client.chat_postMessage(channel=ALERTS, text="y" * 40001))
    assert err.response["error"] == "msg_too_long"
    ok = await client.chat_postMessage(channel=ALERTS, text="t", blocks=[section(3000)] * 3)
    assert ok["ok"] and len(slack.messages(ALERTS)) == 1


async def test_form_encoded_calls_and_token_param(slack):
    async with aiohttp.ClientSession() as http:
        form = {"token": slack.bot_token, "channel": ALERTS, "text": "from a form"}
        async with http.post(f"{slack.api_url}chat.postMessage", data=form) as resp:
            body = await resp.json()
    assert body["ok"] and slack.messages(ALERTS)[0].text == "from a form"


async def test_rate_limit_answers_429_without_changing_state(slack, client):
    slack.set_rate_limit("chat.postMessage", per_second=0.5, burst=2)
    await client.chat_postMessage(channel=ALERTS, text="1")
    await client.chat_postMessage(channel=ALERTS, text="2")
    err = await _error(client.chat_postMessage(channel=ALERTS, text="3"))
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert int(err.response.headers["Retry-After"]) >= 1
    assert [m.text for m in slack.messages(ALERTS)] == ["1", "2"]
    # the bucket is per channel: another channel is still free
    await client.chat_postMessage(channel="C0OPS00001", text="elsewhere")


async def test_sdk_retry_handler_waits_out_a_forced_429(slack):
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.force_rate_limit("chat.postMessage", times=1)
    started = time.monotonic()
    resp = await client.chat_postMessage(channel=ALERTS, text="after the wait")
    assert resp["ok"] and time.monotonic() - started >= 1.0
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
    assert [m.text for m in slack.messages(ALERTS)] == ["after the wait"]


async def test_timestamps_unique_and_increasing(slack, client):
    slack.rate_limiter.enabled = False
    tss = [(await client.chat_postMessage(channel=ALERTS, text=str(i)))["ts"] for i in range(30)]
    assert len(set(tss)) == 30
    assert [float(t) for t in tss] == sorted(float(t) for t in tss)
    assert all(len(t.split(".")[1]) == 6 for t in tss)


async def test_permalink_users_and_channel_info(slack, client):
    posted = await client.chat_postMessage(channel=ALERTS, text="see this")
    link = (await client.chat_getPermalink(channel=ALERTS, message_ts=posted["ts"]))["permalink"]
    async with aiohttp.ClientSession() as http, http.get(link) as resp:
        assert "see this" in await resp.text()
    info = await client.conversations_info(channel=ALERTS)
    assert info["channel"]["name"] == "alerts" and info["channel"]["is_member"] is True
    await slack.post_message(ALERTS, text="hello", user="U0SRE00001")
    assert (await client.users_info(user="U0SRE00001"))["user"]["id"] == "U0SRE00001"
    err = await _error(client.users_info(user="U0NOBODY00"))
    assert err.response["error"] == "user_not_found"


async def test_ephemeral_status_and_views_are_recorded(slack, client):
    root = await client.chat_postMessage(channel=ALERTS, text="root")
    await client.chat_postEphemeral(channel=ALERTS, user="U0SRE00001", text="only you")
    await client.assistant_threads_setStatus(
        channel_id=ALERTS, thread_ts=root["ts"], status="is investigating…"
    )
    opened = await client.views_open(
        trigger_id="1.2.abc",
        view={"type": "modal", "title": {"type": "plain_text", "text": "Feedback"}, "blocks": []},
    )
    assert [e.text for e in slack.ephemerals(user="U0SRE00001")] == ["only you"]
    assert slack.statuses[-1]["status"] == "is investigating…"
    assert slack.views[0]["id"] == opened["view"]["id"]
    assert "is investigating…" in slack.render_thread(ALERTS, root["ts"])
    # like Slack, the app's next reply in the thread clears the status
    await client.chat_postMessage(channel=ALERTS, thread_ts=root["ts"], text="found it")
    assert slack.statuses[-1]["status"] == "" and slack.statuses[-1]["cleared_by"] == "reply"
    assert "is investigating…" not in slack.render_thread(ALERTS, root["ts"])


async def test_state_survives_save_and_load(tmp_path, slack, client):
    root = await client.chat_postMessage(channel=ALERTS, text="kept")
    await client.chat_postMessage(channel=ALERTS, text="reply kept", thread_ts=root["ts"])
    path = tmp_path / "slack.json"
    slack.save_state(path)
    async with SlackEmulator(state_file=path) as again:
        assert [m.text for m in again.thread(ALERTS, root["ts"])] == ["kept", "reply kept"]
        c = AsyncWebClient(token=again.bot_token, base_url=again.api_url)
        new = await c.chat_postMessage(channel=ALERTS, text="newer")
        assert float(new["ts"]) > float(root["ts"])
