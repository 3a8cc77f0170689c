"""An Alertmanager bot message in an alert channel is investigated in its own thread."""

from __future__ import annotations

import copy

from storage.repositories.sessions import find_session_by_slack_thread
from storage.repositories.slack import list_slack_messages
from tests.helpers.stack import ALERT_CHANNEL, buttons, fixture_json, message_text


async def test_alert_message_is_investigated_in_its_thread(stack):
    body = fixture_json("slack-event-alert-message.json")
    alert_ts = body["event"]["ts"]
    await stack.slack.post_event(body)

    def final_posted():
        return any("tarsy_rerun" in buttons(m) for m in stack.slack.thread(ALERT_CHANNEL, alert_ts))

    await stack.slack.wait_for(final_posted, timeout=30)
    await stack.settle()
    thread = stack.slack.thread(ALERT_CHANNEL, alert_ts)
    root, replies = thread[0], thread[1:]
    assert root.ts == alert_ts
    texts = [message_text(m) for m in replies]
    # status card first, edited to done, with cause; stages streamed; final with buttons
    assert "Done" in texts[0]
    assert any("Stage 1/3" in t and "triage" in t for t in texts)
    assert any("Stage 3/3" in t for t in texts)
    assert any("pods_list" in t for t in texts)
    assert "rollout undo" in texts[-1]
    assert set(buttons(replies[-1])) >= {
        "tarsy_rerun",
        "tarsy_feedback_up",
        "tarsy_feedback_down",
        "tarsy_details",
    }
    # reactions: done, not investigating
    await stack.slack.wait_for(
        lambda: "white_check_mark" in stack.slack.thread(ALERT_CHANNEL, alert_ts)[0].reactions
    )
    assert "eyes" not in stack.slack.thread(ALERT_CHANNEL, alert_ts)[0].reactions
    # stored
    session = await find_session_by_slack_thread(stack.app.db, ALERT_CHANNEL, alert_ts)
    assert session is not None and session.status == "completed"
    stored = await list_slack_messages(stack.app.db, session.id)
    assert {m.ts for m in stored} == {m.ts for m in replies}


async def test_human_chatter_and_duplicates_are_ignored(stack):
    await stack.slack.post_message(ALERT_CHANNEL, text="anyone looking at checkout?", user="U1")
    body = fixture_json("slack-event-alert-message.json")
    await stack.slack.post_event(body)
    await stack.slack.post_event(copy.deepcopy(body))  # same event_id redelivered
    alert_ts = body["event"]["ts"]
    await stack.slack.wait_for(
        lambda: any(
            "tarsy_rerun" in buttons(m) for m in stack.slack.thread(ALERT_CHANNEL, alert_ts)
        ),
        timeout=30,
    )
    await stack.settle()
    from storage.repositories.sessions import list_sessions

    sessions = await list_sessions(stack.app.db)
    assert len(sessions) == 1
    assert sessions[0].occurrences == 1
    # chatter got no reply
    human = [m for m in stack.slack.messages(ALERT_CHANNEL) if m.user == "U1"]
    assert len(stack.slack.thread(ALERT_CHANNEL, human[0].ts)) == 1
