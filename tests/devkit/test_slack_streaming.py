"""chat.startStream / appendStream / stopStream through slack_sdk's chat_stream helper."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.slack import SlackEmulator

ALERTS = "C0ALERTS01"
FEEDBACK = [
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "up", "text": {"type": "plain_text", "text": "👍"}}
        ],
    }
]


@pytest.fixture
async def slack():
    async with SlackEmulator(channels={ALERTS: "alerts"}) as emu:
        yield emu


async def test_chat_stream_appends_and_stops_as_one_message(slack):
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    root = await client.chat_postMessage(channel=ALERTS, text="Alert: checkout OOM")
    stream = await client.chat_stream(
        channel=ALERTS,
        thread_ts=root["ts"],
        recipient_team_id=slack.team_id,
        recipient_user_id="U0SRE00001",
        buffer_size=10,
    )
    for part in ["## Findings\n", "Memory limit 256Mi ", "is too low.", " Raise it."]:
        await stream.append(markdown_text=part)
    in_progress = slack.thread(ALERTS, root["ts"])[1]
    assert in_progress.streaming and in_progress.text.startswith("## Findings")
    await stream.stop(blocks=FEEDBACK)

    thread = slack.thread(ALERTS, root["ts"])
    assert len(thread) == 2
    streamed = thread[1]
    assert streamed.text == "## Findings\nMemory limit 256Mi is too low. Raise it."
    assert not streamed.streaming and streamed.blocks == FEEDBACK
    assert len(streamed.stream_chunks) >= 3
    assert all(c["type"] == "markdown_text" for c in streamed.stream_chunks)
    assert [c.method for c in slack.calls() if c.method.endswith("Stream")][0] == "chat.startStream"
    assert slack.calls()[-1].method == "chat.stopStream"
    assert "[👍]" in slack.render_thread(ALERTS, root["ts"])


async def test_stream_errors(slack):
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    root = await client.chat_postMessage(channel=ALERTS, text="root")
    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel=ALERTS, thread_ts=root["ts"], markdown_text="x")
    assert err.value.response["error"] == "missing_recipient_team_id"
    started = await client.chat_startStream(
        channel=ALERTS,
        thread_ts=root["ts"],
        recipient_team_id=slack.team_id,
        recipient_user_id="U0SRE00001",
        markdown_text="hi",
    )
    await client.chat_stopStream(channel=ALERTS, ts=started["ts"])
    with pytest.raises(SlackApiError) as err:
        await client.chat_appendStream(channel=ALERTS, ts=started["ts"], markdown_text="late")
    assert err.value.response["error"] == "message_not_in_streaming_state"
    # the post-and-edit fallback still works on a stopped stream
    await client.chat_update(channel=ALERTS, ts=started["ts"], text="final")
    assert slack.thread(ALERTS, root["ts"])[1].text == "final"
