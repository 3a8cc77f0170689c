from __future__ import annotations

import asyncio
import logging

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.presenter.writer import SlackWriter

from .fake_slack import FakeSlack


def client_for(slack: FakeSlack, retry: bool = False) -> AsyncWebClient:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.url, timeout=5)
    if retry:
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


async def test_rapid_updates_are_coalesced_and_the_last_one_wins():
    async with FakeSlack() as slack:
        writer = SlackWriter(client_for(slack), min_edit_interval=0.2, post_interval_per_channel=0)
        ts = await writer.post("C1", None, "start", None)
        assert ts
        for i in range(100):
            writer.update(
                "C1",
                ts,
                f"update {i}",
                [{"type": "section", "text": {"type": "mrkdwn", "text": f"update {i}"}}],
            )
            if i % 20 == 0:
                await asyncio.sleep(0.01)  # the producer streams over ~50 ms
        await asyncio.wait_for(writer.flush(), 5)
        updates = slack.of("chat.update")
        assert 1 <= len(updates) <= 4, [u.args["text"] for u in updates]
        assert updates[-1].args["text"] == "update 99"
        assert updates[-1].args["blocks"][0]["text"]["text"] == "update 99"
        gaps = [b.at - a.at for a, b in zip(updates, updates[1:], strict=False)]
        assert all(g >= 0.18 for g in gaps), gaps
        await writer.aclose()


async def test_posts_burst_then_keep_the_sustained_pace_and_their_order():
    async with FakeSlack() as slack:
        writer = SlackWriter(
            client_for(slack),
            min_edit_interval=0.1,
            post_interval_per_channel=0.1,
            post_burst_per_channel=3,
        )
        c1 = [asyncio.create_task(writer.post("C1", "9.9", f"msg {i}", None)) for i in range(8)]
        c2 = asyncio.create_task(writer.post("C2", None, "other channel", None))
        results = await asyncio.wait_for(asyncio.gather(*c1, c2), 5)
        posts = [c for c in slack.of("chat.postMessage") if c.args["channel"] == "C1"]
        assert [p.args["text"] for p in posts] == [f"msg {i}" for i in range(8)]
        assert all(p.args["thread_ts"] == "9.9" for p in posts)
        gaps = [b.at - a.at for a, b in zip(posts, posts[1:], strict=False)]
        # normal posts burst 2 (one token stays for a new incident's card), then 1 per interval
        assert gaps[0] < 0.05, gaps
        assert all(g >= 0.09 for g in gaps[1:]), gaps
        span = posts[-1].at - posts[0].at
        assert span >= 0.6 - 0.02, span  # 8 posts: 2 at once, 6 paced: sustained 1/interval
        assert results[:8] == sorted(results[:8])  # ts order == request order
        other = [c for c in slack.of("chat.postMessage") if c.args["channel"] == "C2"][0]
        assert other.at < posts[2].at  # C2 does not wait behind C1
        await writer.aclose()


async def test_strict_pacing_without_burst():
    async with FakeSlack() as slack:
        writer = SlackWriter(
            client_for(slack), post_interval_per_channel=0.1, post_burst_per_channel=1
        )
        await asyncio.wait_for(
            asyncio.gather(*(writer.post("C1", None, f"m{i}", None) for i in range(4))), 5
        )
        posts = slack.of("chat.postMessage")
        gaps = [b.at - a.at for a, b in zip(posts, posts[1:], strict=False)]
        assert len(posts) == 4 and all(g >= 0.09 for g in gaps), gaps
        await writer.aclose()


async def test_new_incident_card_jumps_other_threads_but_not_its_own():
    async with FakeSlack() as slack:
        writer = SlackWriter(
            client_for(slack), post_interval_per_channel=0.2, post_burst_per_channel=2
        )
        t0 = asyncio.get_running_loop().time()
        # a running investigation queues four stage messages in thread 1.0 ...
        stages = [
            asyncio.create_task(writer.post("C1", "1.0", f"stage {i}", None)) for i in range(4)
        ]
        await slack.wait_for(lambda: len(slack.of("chat.postMessage")) >= 1)
        # ... then a new incident's card (root), and a card under an alert whose thread
        # already has a waiting message of ours
        card = asyncio.create_task(writer.post("C1", None, "card B", None, priority=True))
        reply = asyncio.create_task(writer.post("C1", "2.0", "note in 2.0", None))
        card2 = asyncio.create_task(writer.post("C1", "2.0", "card C", None, priority=True))
        await asyncio.wait_for(asyncio.gather(*stages, card, reply, card2), 5)
        texts = [c.args["text"] for c in slack.of("chat.postMessage")]
        assert texts[:2] == ["stage 0", "card B"], texts
        # order within one thread is kept: the earlier note in 2.0 stays first
        assert texts.index("note in 2.0") < texts.index("card C")
        assert [t for t in texts if t.startswith("stage")] == [f"stage {i}" for i in range(4)]
        card_at = next(c.at for c in slack.of("chat.postMessage") if c.args["text"] == "card B")
        assert card_at - t0 < 0.15  # the reserved token: no wait behind the paced stages
        await writer.aclose()


async def test_an_edit_right_after_the_post_is_folded_into_the_next_interval():
    async with FakeSlack() as slack:
        writer = SlackWriter(client_for(slack), min_edit_interval=0.3)
        ts = await writer.post("C1", None, "queued", None)
        writer.update("C1", ts, "investigating")  # at once after the post
        writer.update("C1", ts, "investigating: stage 1/3")
        await asyncio.wait_for(writer.flush(), 5)
        updates = slack.of("chat.update")
        assert [u.args["text"] for u in updates] == ["investigating: stage 1/3"]
        post = slack.of("chat.postMessage")[0]
        assert updates[0].at - post.at >= 0.28
        await writer.aclose()


async def test_rate_limited_post_is_retried_not_dropped():
    async with FakeSlack(rate_limit_next=2, retry_after="0") as slack:
        writer = SlackWriter(client_for(slack), post_interval_per_channel=0)
        ts = await asyncio.wait_for(writer.post("C1", None, "important", None), 5)
        assert ts
        assert len(slack.of("chat.postMessage:429")) == 2
        assert [c.args["text"] for c in slack.of("chat.postMessage")] == ["important"]
        await writer.aclose()


async def test_rate_limit_with_sdk_retry_handler_attached():
    async with FakeSlack(rate_limit_next=1, retry_after="0") as slack:
        writer = SlackWriter(client_for(slack, retry=True), min_edit_interval=0)
        ts = await asyncio.wait_for(writer.post("C1", None, "hello", None), 5)
        writer.update("C1", ts, "edited")
        await asyncio.wait_for(writer.flush(), 5)
        assert [c.args["text"] for c in slack.of("chat.update")] == ["edited"]
        await writer.aclose()


async def test_slack_errors_are_logged_not_raised(caplog):
    async with FakeSlack(fail_with={"C404": "channel_not_found"}) as slack:
        writer = SlackWriter(client_for(slack), post_interval_per_channel=0)
        with caplog.at_level(logging.ERROR, logger="bot.presenter.writer"):
            assert await asyncio.wait_for(writer.post("C404", None, "x", None), 5) is None
            writer.update("C404", "1.2", "y")
            await asyncio.wait_for(writer.flush(), 5)
        messages = [r.getMessage() for r in caplog.records]
        assert any("chat.postMessage" in m and "channel_not_found" in m for m in messages)
        assert any("chat.update" in m and "channel_not_found" in m for m in messages)
        assert await writer.post("C1", None, "still works", None)
        await writer.aclose()


async def test_rejected_blocks_fall_back_to_text():
    async with FakeSlack(reject_blocks_once=True) as slack:
        writer = SlackWriter(client_for(slack), post_interval_per_channel=0)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]
        ts = await asyncio.wait_for(writer.post("C1", None, "fallback text", blocks), 5)
        assert ts
        last = slack.of("chat.postMessage")[-1]
        assert last.args["text"] == "fallback text" and not last.args.get("blocks")
        await writer.aclose()


async def test_aclose_sends_the_latest_pending_edit():
    async with FakeSlack() as slack:
        writer = SlackWriter(client_for(slack), min_edit_interval=0.3)
        ts = await writer.post("C1", None, "a", None)
        writer.update("C1", ts, "first edit")
        await slack.wait_for(lambda: len(slack.of("chat.update")) == 1)
        writer.update("C1", ts, "second edit")
        writer.update("C1", ts, "final edit")
        await asyncio.wait_for(writer.aclose(), 5)
        assert [c.args["text"] for c in slack.of("chat.update")] == ["first edit", "final edit"]
