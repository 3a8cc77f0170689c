"""Slack economy end to end: one investigation's Web API calls, counted at the emulator.

The real app (Socket Mode) runs the shipped 3-stage checkout chain against the Slack
emulator with its rate limits on, the shipped edit interval (1.5 s) and a model that streams
at 4 chunks/s, so stage messages are edited while they are written. The thread must keep
its full UX (status card, stage progress, recommendation with buttons, 👀 -> ✅) within
15 calls per investigation.
"""

from __future__ import annotations

import aiohttp

from bot.demo.load import WEBHOOK_PATH
from bot.demo.payloads import alertmanager_payload
from bot.demo.runner import paced_script
from tests.helpers.stack import (
    ALERT_CHANNEL,
    PAYMENTS_CHANNEL,
    SRE_CHANNEL,
    DevStack,
    buttons,
    fixture_json,
    message_text,
)

MAX_CALLS = 15
STARTUP = {"auth.test", "apps.connections.open"}


def channel_of(call) -> str | None:  # noqa: ANN001
    return call.params.get("channel") or call.params.get("channel_id")


def done_in(slack, channel: str, root: str | None) -> bool:  # noqa: ANN001
    if root is None:
        tops = slack.messages(channel)
        if not tops:
            return False
        root = tops[0].ts
    texts = [message_text(m) for m in slack.thread(channel, root)]
    has_final = any("tarsy_rerun" in t for t in texts)
    return has_final and any("✅ Done" in t for t in texts)


async def quiet(slack, window_s: float = 2.0) -> None:  # noqa: ANN001
    """Return once no Web API call arrived for `window_s` (everything was flushed)."""
    for _ in range(30):
        seen = len(slack.calls())
        try:
            await slack.wait_for(lambda n=seen: len(slack.calls()) > n, timeout=window_s)
        except TimeoutError:
            return
    raise AssertionError("the app kept calling Slack")


async def test_an_investigation_costs_at_most_15_slack_calls_and_keeps_its_ux(tmp_path):
    async with DevStack(
        tmp_path, script=paced_script(250), slack_overrides={"edit_interval_s": 1.5}
    ) as st:
        slack = st.slack
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)
        async with aiohttp.ClientSession() as http:
            payload = alertmanager_payload("economy-webhook")
            async with http.post(st.url + WEBHOOK_PATH, json=payload) as resp:
                assert resp.status == 202, await resp.text()
        await slack.wait_for(
            lambda: (
                done_in(slack, ALERT_CHANNEL, alert_ts) and done_in(slack, PAYMENTS_CHANNEL, None)
            ),
            timeout=60,
        )
        await quiet(slack)
        calls = [c for c in slack.calls() if c.method not in STARTUP]

        # --- the alert-message investigation (thread under the alert, reactions on it)
        alert_calls = [c for c in calls if channel_of(c) == ALERT_CHANNEL]
        by_method = sorted(c.method for c in alert_calls)
        assert len(alert_calls) <= MAX_CALLS, by_method
        assert all(c.ok for c in alert_calls), [(c.method, c.status) for c in alert_calls]
        thread = slack.thread(ALERT_CHANNEL, alert_ts)
        texts = [message_text(m) for m in thread[1:]]
        assert "✅ Done" in texts[0]  # the status card, edited to done
        for n in (1, 2, 3):  # every stage is visible in the thread
            assert any(f"Stage {n}/3" in t for t in texts), (n, texts)
        assert set(buttons(thread[-1])) >= {"tarsy_rerun", "tarsy_feedback_up", "tarsy_details"}
        assert "rollout undo" in texts[-1]
        reactions = thread[0].reactions
        assert "white_check_mark" in reactions and "eyes" not in reactions
        assert by_method.count("reactions.add") == 2  # 👀 then ✅
        # "is investigating…" is shown between updates: Slack clears it on each reply, so it is
        # set again after a stage post while running; the final reply clears it for good.
        statuses = [c.params.get("status") for c in alert_calls if "setStatus" in c.method]
        assert statuses and set(statuses) == {"is investigating…"}, statuses
        posts_before_final = by_method.count("chat.postMessage") - 1
        assert len(statuses) <= posts_before_final, (statuses, by_method)
        assert "is investigating" not in slack.render_thread(ALERT_CHANNEL, alert_ts)
        # ✅ only once the recommendation is in the thread
        final_at = max(c.at for c in alert_calls if c.method == "chat.postMessage")
        done_at = next(c.at for c in alert_calls if c.params.get("name") == "white_check_mark")
        assert done_at >= final_at

        # --- the webhook incident (status card is the thread root)
        hook_calls = [c for c in calls if channel_of(c) == PAYMENTS_CHANNEL]
        assert len(hook_calls) <= MAX_CALLS, sorted(c.method for c in hook_calls)
        root = slack.messages(PAYMENTS_CHANNEL)[0]
        hook_texts = [message_text(m) for m in slack.thread(PAYMENTS_CHANNEL, root.ts)]
        assert "✅ Done" in hook_texts[0]
        assert all(any(f"Stage {n}/3" in t for t in hook_texts) for n in (1, 2, 3))

        # at most one edit per message per 1.5 s
        edits: dict[str, list[float]] = {}
        for c in calls:
            if c.method == "chat.update":
                edits.setdefault(str(c.params.get("ts")), []).append(c.at)
        for ts, times in edits.items():
            gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
            assert all(g >= 1.4 for g in gaps), (ts, gaps)


async def test_streamed_stage_messages_show_their_text_once(tmp_path):
    async with DevStack(
        tmp_path, script=paced_script(150), slack_overrides={"allowed_channels": [SRE_CHANNEL]}
    ) as st:
        slack = st.slack
        d = await slack.send_slash_command(
            "investigate checkout pods crash looping in payments",
            channel=SRE_CHANNEL,
            user="U0SRE00001",
        )
        await slack.wait_acked(d)
        await slack.wait_for(lambda: done_in(slack, SRE_CHANNEL, None), timeout=60)
        await st.settle()
        root = slack.messages(SRE_CHANNEL)[0]
        streamed = [m for m in slack.thread(SRE_CHANNEL, root.ts) if m.stream_chunks]
        assert streamed, "stages of a person's run are streamed"
        for msg in streamed:
            assert not msg.streaming  # every stream was stopped
            rendered = slack.render_thread(SRE_CHANNEL, root.ts)
            title = msg.text.splitlines()[0]
            assert title.startswith("*Stage "), msg.text
            # Slack renders stop-blocks below the streamed text: none may repeat it
            assert rendered.count(title) == 1, rendered
