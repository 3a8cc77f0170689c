"""`/tarsy` (allowed / refused, investigate, status, cancel), follow-ups and buttons."""

from __future__ import annotations

import pytest

from storage.repositories.feedback import list_feedback
from storage.repositories.sessions import list_sessions
from storage.repositories.timeline import get_timeline
from tests.helpers.stack import (
    ALERT_CHANNEL,
    OTHER_CHANNEL,
    SRE_CHANNEL,
    DevStack,
    buttons,
    eventually,
    fixture_json,
    message_text,
)

SLOW_SCRIPT_DELAY = {"chunk_delay_ms": 400}


@pytest.fixture
async def sstack(tmp_path):
    async with DevStack(
        tmp_path, slack_overrides={"allowed_channels": [SRE_CHANNEL, ALERT_CHANNEL]}
    ) as st:
        yield st


def _responses_text(st) -> str:
    return "\n".join(str(r) for r in st.slack.responses)


async def test_investigate_from_allowed_and_refused_channel(sstack):
    slack = sstack.slack
    d = await slack.send_slash_command(
        "investigate checkout pods crash looping in payments",
        channel=SRE_CHANNEL,
        user="U0SRE00001",
    )
    await slack.wait_acked(d)
    assert "investigating" in _responses_text(sstack).lower()

    def final_in_sre():
        return any(
            any("tarsy_rerun" in buttons(r) for r in slack.thread(SRE_CHANNEL, m.ts))
            for m in slack.messages(SRE_CHANNEL)
        )

    await slack.wait_for(final_in_sre, timeout=30)
    root = slack.messages(SRE_CHANNEL)[0]
    assert "checkout pods crash looping" in message_text(root)
    # requesting user present: stages streamed
    assert any(m.stream_chunks for m in slack.thread(SRE_CHANNEL, root.ts))

    d = await slack.send_slash_command(
        "investigate something", channel=OTHER_CHANNEL, user="U0SRE00001"
    )
    await slack.wait_acked(d)
    assert "isn't enabled in this channel" in _responses_text(sstack)
    await sstack.settle()
    assert slack.messages(OTHER_CHANNEL) == []
    assert len(await list_sessions(sstack.app.db)) == 1


async def test_status_help_and_cancel(sstack):
    slack = sstack.slack
    await sstack.app.worker.stop()  # keep the session queued so cancel is deterministic
    d = await slack.send_slash_command(
        "investigate disk full on db-primary-0", channel=SRE_CHANNEL, user="U1"
    )
    await slack.wait_acked(d)
    await slack.wait_for(
        lambda: sstack.app.presenter is not None and len(slack.messages(SRE_CHANNEL)) == 1
    )
    sid = (await list_sessions(sstack.app.db))[0].id
    d = await slack.send_slash_command("status", channel=SRE_CHANNEL, user="U1")
    await slack.wait_for(lambda: "disk full" in _responses_text(sstack), timeout=10)
    d = await slack.send_slash_command(f"cancel {sid[:10]}", channel=SRE_CHANNEL, user="U1")
    await slack.wait_for(lambda: "Cancelled" in _responses_text(sstack), timeout=10)
    assert (await list_sessions(sstack.app.db))[0].status == "cancelled"
    d = await slack.send_slash_command("help", channel=SRE_CHANNEL, user="U1")
    await slack.wait_for(lambda: "/tarsy investigate" in _responses_text(sstack), timeout=10)


async def test_followup_rerun_feedback_and_duplicate_event(sstack):
    slack = sstack.slack
    body = fixture_json("slack-event-alert-message.json")
    alert_ts = body["event"]["ts"]
    await slack.post_event(body)
    await slack.post_event(dict(body))  # redelivered: same event_id

    def final_msg():
        return next(
            (m for m in slack.thread(ALERT_CHANNEL, alert_ts) if "tarsy_rerun" in buttons(m)), None
        )

    await slack.wait_for(final_msg, timeout=30)
    final = final_msg()
    sid = buttons(final)["tarsy_rerun"]
    assert len(await list_sessions(sstack.app.db)) == 1

    # follow-up question mentioning the bot
    n_before = len(sstack.gemini.requests)
    await slack.post_message(
        ALERT_CHANNEL,
        text=f"<@{slack.bot_user_id}> did the 14:50 rollout change the memory limit?",
        user="U0SRE00001",
        thread_ts=alert_ts,
    )
    await slack.wait_for(
        lambda: any(
            "512Mi to 128Mi" in message_text(m) and "Revision 42" in message_text(m)
            for m in slack.thread(ALERT_CHANNEL, alert_ts)
        ),
        timeout=30,
    )
    chat_reqs = [r for r in sstack.gemini.requests[n_before:] if "Follow-up chat" in str(r.body)]
    assert chat_reqs and "Xmx384m" in str(chat_reqs[0].body)  # stage results were sent

    async def answered():
        tl = await get_timeline(sstack.app.db, sid)
        return tl.followups and tl.followups[0].status == "answered"

    await eventually(answered)

    # a human reply without a mention is not a question
    n = len(slack.thread(ALERT_CHANNEL, alert_ts))
    await slack.post_message(ALERT_CHANNEL, text="thanks!", user="U2", thread_ts=alert_ts)
    await sstack.settle()
    assert len(slack.thread(ALERT_CHANNEL, alert_ts)) == n + 1

    # feedback
    d = await slack.click_button(ALERT_CHANNEL, final.ts, "tarsy_feedback_up", user="U0SRE00001")
    await slack.wait_acked(d)
    await slack.wait_for(
        lambda: any("Thanks" in e.text for e in slack.ephemerals(user="U0SRE00001")), timeout=10
    )
    assert [f.value for f in await list_feedback(sstack.app.db, sid)] == ["up"]

    # details modal
    d = await slack.click_button(ALERT_CHANNEL, final.ts, "tarsy_details", user="U0SRE00001")
    await slack.wait_for(lambda: slack.views, timeout=10)
    assert "triage" in str(slack.views[0])

    # re-run: a second investigation
    d = await slack.click_button(ALERT_CHANNEL, final.ts, "tarsy_rerun", user="U0SRE00001")
    await slack.wait_for(
        lambda: (
            len([m for m in slack.thread(ALERT_CHANNEL, alert_ts) if "tarsy_rerun" in buttons(m)])
            == 2
        ),
        timeout=30,
    )
    sessions = await list_sessions(sstack.app.db)
    assert len(sessions) == 2
