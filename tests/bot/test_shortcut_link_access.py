"""Message shortcut, `/tarsy investigate <message link>` and `slack.allowed_users`."""

from __future__ import annotations

import copy

from storage.repositories.sessions import find_session_by_slack_thread, list_sessions
from tests.helpers.stack import (
    ALERT_CHANNEL,
    OTHER_CHANNEL,
    SRE_CHANNEL,
    DevStack,
    buttons,
    fixture_json,
    message_text,
)

SHORTCUT = "tarsy_investigate_message"
ALLOWED = "U0ALLOWED1"
GROUPED = "U0GROUPED1"
REFUSED = "U0REFUSED1"
GROUP = "S0ONCALL01"
ALERT_LINK = "https://acme.slack.com/archives/C0ALERTS01/p1796396292345600"


def _final_in_thread(slack, channel: str, ts: str):
    return next((m for m in slack.thread(channel, ts) if "tarsy_rerun" in buttons(m)), None)


def _ephemeral_texts(slack, user: str) -> str:
    return "\n".join(e.text for e in slack.ephemerals(user=user))


def _responses_text(slack) -> str:
    return "\n".join(str(r) for r in slack.responses)


def _alert_event(channel: str, event_id: str) -> dict:
    body = copy.deepcopy(fixture_json("slack-event-alert-message.json"))
    body["event"]["channel"] = channel
    body["event_id"] = event_id
    return body


async def test_shortcut_and_allowed_users_and_groups(tmp_path):
    async with DevStack(tmp_path, slack_overrides={"allowed_users": [ALLOWED, GROUP]}) as st:
        slack = st.slack
        slack.web_api.usergroups[GROUP] = [GROUPED]

        human_ts = await slack.post_message(
            SRE_CHANNEL, text="checkout pods in payments keep restarting since 14:50", user=ALLOWED
        )
        # Not allowed: a polite refusal only that person sees; nothing starts.
        d = await slack.message_shortcut(SRE_CHANNEL, human_ts, SHORTCUT, user=REFUSED)
        await slack.wait_acked(d)
        await slack.wait_for(lambda: "not on the list" in _ephemeral_texts(slack, REFUSED))
        assert "slack.allowed_users" in _ephemeral_texts(slack, REFUSED)
        d = await slack.send_slash_command(
            "investigate disk full", channel=SRE_CHANNEL, user=REFUSED
        )
        await slack.wait_acked(d)
        await slack.wait_for(lambda: "not on the list" in _responses_text(slack))
        assert await list_sessions(st.app.db) == []

        # A member of an allowed user group: the human message is investigated in its thread.
        d = await slack.message_shortcut(SRE_CHANNEL, human_ts, SHORTCUT, user=GROUPED)
        await slack.wait_acked(d)
        await slack.wait_for(lambda: _final_in_thread(slack, SRE_CHANNEL, human_ts), timeout=30)
        session = await find_session_by_slack_thread(st.app.db, SRE_CHANNEL, human_ts)
        assert session is not None and "keep restarting" in session.alert_title
        assert len(slack.messages(SRE_CHANNEL)) == 1  # no new top-level thread

        # An alert-bot message outside the alert channels, by an allowed user id.
        alert_ts = "1796396292.345600"
        await slack.post_event(_alert_event(SRE_CHANNEL, "Ev0SHORTCUT01"))
        d = await slack.message_shortcut(SRE_CHANNEL, alert_ts, SHORTCUT, user=ALLOWED)
        await slack.wait_acked(d)
        await slack.wait_for(lambda: _final_in_thread(slack, SRE_CHANNEL, alert_ts), timeout=30)
        alert_session = await find_session_by_slack_thread(st.app.db, SRE_CHANNEL, alert_ts)
        assert alert_session is not None
        assert "KubePodCrashLooping" in alert_session.alert_title
        assert alert_session.alert_source != "slack"  # parsed as an Alertmanager alert
        assert "rollout undo" in message_text(_final_in_thread(slack, SRE_CHANNEL, alert_ts))

        # The same message again: no second investigation, and the person is told so.
        d = await slack.message_shortcut(SRE_CHANNEL, alert_ts, SHORTCUT, user=ALLOWED)
        await slack.wait_acked(d)
        await slack.wait_for(lambda: "already being handled" in _ephemeral_texts(slack, ALLOWED))
        assert len(await list_sessions(st.app.db)) == 2
        # the group was looked up once (cached), through the real Web API method
        assert len(slack.calls("usergroups.users.list")) == 1


async def test_investigate_a_message_link_in_its_own_thread(tmp_path):
    # The alert channel is elsewhere, so the alert message is only investigated on request.
    async with DevStack(tmp_path, slack_overrides={"alert_channels": [OTHER_CHANNEL]}) as st:
        slack = st.slack
        alert_ts = "1796396292.345600"
        await slack.post_event(_alert_event(ALERT_CHANNEL, "Ev0LINK00001"))

        missing = "https://acme.slack.com/archives/C0ALERTS01/p1796390000000100"
        d = await slack.send_slash_command(f"investigate {missing}", channel=SRE_CHANNEL)
        await slack.wait_acked(d)
        await slack.wait_for(lambda: "couldn't read that message" in _responses_text(slack))
        assert await list_sessions(st.app.db) == []

        d = await slack.send_slash_command(
            f"investigate {ALERT_LINK}", channel=SRE_CHANNEL, user="U0SRE00001"
        )
        await slack.wait_acked(d)
        await slack.wait_for(lambda: _final_in_thread(slack, ALERT_CHANNEL, alert_ts), timeout=30)
        assert "in the thread of" in _responses_text(slack)
        assert slack.messages(SRE_CHANNEL) == []  # nothing posted where the command was typed
        session = await find_session_by_slack_thread(st.app.db, ALERT_CHANNEL, alert_ts)
        assert session is not None and "KubePodCrashLooping" in session.alert_title
        assert session.slack_user == "U0SRE00001"

        d = await slack.send_slash_command(f"investigate {ALERT_LINK}", channel=SRE_CHANNEL)
        await slack.wait_acked(d)
        await slack.wait_for(lambda: "already being handled" in _responses_text(slack))
        assert len(await list_sessions(st.app.db)) == 1
