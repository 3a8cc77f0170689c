"""Paced Slack writer: keeps TARSy inside Slack's posting and editing limits.

- `post()` is serialised per channel and paced by a token bucket: sustained at most one post
  per `post_interval_per_channel`, with short bursts of up to `post_burst_per_channel` (Slack
  shows about one message per second per channel, tolerates short bursts, and may hide
  longer ones). Normal posts leave one token for `priority=True` posts.
- Posts go out in the order they were asked for, except that a `priority=True` post (a new
  incident's status card) goes ahead of waiting normal posts of OTHER threads. Order within
  one thread (same `thread_ts`) is always kept.
- `update()` is coalesced: it only records the latest content of a message; at most one
  `chat.update` per message per `min_edit_interval` is sent, always with the newest content.
  A message just posted counts as written: its first edit waits one interval too, so a
  change right after the post (e.g. "queued" -> "investigating") costs no extra call.
- `flush()` returns once everything asked for so far has been sent; `aclose()` flushes and
  stops the per-channel tasks.

Rate limits: the app MUST attach slack_sdk's retry handler to the client, e.g.
`client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))`, so a 429
is retried after `Retry-After`. If Slack still answers `ratelimited`, the writer waits the
advised time and tries again itself (content is not dropped; after `max_ratelimit_rounds`
rounds the item is given up and logged). Other Slack errors are logged with the method and
the error code and never raised into the caller: `post()` then returns None.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

_BLOCK_ERRORS = {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"}


@dataclass(slots=True, eq=False)  # eq=False: a queue removes THIS job, not an equal one
class _Post:
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]] | None
    extra: dict[str, Any]
    done: asyncio.Future[str | None]
    priority: bool = False
    rounds: int = 0


@dataclass(slots=True)
class _Update:
    text: str
    blocks: list[dict[str, Any]] | None
    rounds: int = 0


@dataclass
class _Channel:
    """One channel's queue: pending posts (FIFO) and the latest wanted content per message."""

    name: str
    posts: deque[_Post] = field(default_factory=deque)
    updates: dict[str, _Update] = field(default_factory=dict)  # ts -> latest content
    next_edit_at: dict[str, float] = field(default_factory=dict)  # ts -> loop time
    tokens: float = 0.0  # post tokens left (refilled by `SlackWriter._refill`)
    refilled_at: float | None = None  # loop time of the last refill; None = bucket full
    blocked_until: float = 0.0  # Slack said "rate limited": no post before this loop time
    busy: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def has_work(self) -> bool:
        return bool(self.posts or self.updates or self.busy)


class PacedMessage:
    """Handle on one posted message: `update()` goes through the writer's coalescing."""

    def __init__(self, writer: SlackWriter, channel: str, ts: str) -> None:
        self.writer = writer
        self.channel = channel
        self.ts = ts

    def update(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self.writer.update(self.channel, self.ts, text, blocks)


class SlackWriter:
    def __init__(
        self,
        client: AsyncWebClient,
        min_edit_interval: float = 1.5,
        post_interval_per_channel: float = 1.0,
        *,
        post_burst_per_channel: int = 3,
        call_timeout: float = 30.0,
        max_ratelimit_rounds: int = 5,
    ) -> None:
        self.client = client
        self.min_edit_interval = min_edit_interval
        self.post_interval = post_interval_per_channel
        self.post_burst = max(1, post_burst_per_channel)
        # tokens a normal post needs: one more than a priority post, if the bucket has room
        self._normal_need = 2.0 if self.post_burst >= 2 else 1.0
        self.call_timeout = call_timeout
        self.max_ratelimit_rounds = max_ratelimit_rounds
        self._channels: dict[str, _Channel] = {}
        self._closing = False

    # ------------------------------------------------------------------ public API

    async def post(
        self,
        channel: str,
        thread_ts: str | None,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        priority: bool = False,
        **extra: Any,
    ) -> str | None:
        """Queue a `chat.postMessage`; returns its ts once sent (None if Slack refused it).

        `priority=True` is for the first message of a new incident (its status card): it
        goes ahead of waiting posts of other threads and may use the last burst token.
        """
        if self._closing:
            raise RuntimeError("SlackWriter is closed")
        ch = self._channel(channel)
        done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        job = _Post(thread_ts, text, blocks, extra, done, priority)
        if priority:
            ch.posts.insert(_priority_slot(ch.posts, thread_ts), job)
        else:
            ch.posts.append(job)
        self._kick(ch)
        return await done

    async def message(
        self, channel: str, thread_ts: str | None, text: str, blocks: list[dict[str, Any]] | None
    ) -> PacedMessage | None:
        """`post()` returning a handle whose `update()` is paced."""
        ts = await self.post(channel, thread_ts, text, blocks)
        return PacedMessage(self, channel, ts) if ts else None

    def update(
        self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Ask for a message to show this content. Returns at once; the newest content wins."""
        if not ts:
            return
        ch = self._channel(channel)
        previous = ch.updates.get(ts)
        ch.updates[ts] = _Update(text, blocks, previous.rounds if previous else 0)
        self._kick(ch)

    async def flush(self) -> None:
        """Wait until every post and the latest content of every message has been sent.

        Bound it with `asyncio.timeout(...)` if needed; at most one edit interval per
        message is waited for.
        """
        while True:
            busy = [ch for ch in self._channels.values() if ch.has_work()]
            if not busy:
                return
            await asyncio.gather(*(ch.idle.wait() for ch in busy))

    async def aclose(self, grace_s: float = 10.0) -> None:
        """Flush (within `grace_s`), then stop the channel tasks."""
        self._closing = True
        try:
            async with asyncio.timeout(grace_s):
                await self.flush()
        except TimeoutError:
            pending = sum(len(c.posts) + len(c.updates) for c in self._channels.values())
            log.warning("SlackWriter closed with %d unsent Slack messages/edits", pending)
        for ch in self._channels.values():
            if ch.task:
                ch.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ch.task
            for post in ch.posts:
                if not post.done.done():
                    post.done.set_result(None)
        self._channels.clear()

    # ------------------------------------------------------------------ internals

    def _channel(self, channel: str) -> _Channel:
        ch = self._channels.get(channel)
        if ch is None:
            ch = self._channels[channel] = _Channel(channel)
        if ch.task is None or ch.task.done():
            ch.task = asyncio.get_running_loop().create_task(
                self._run(ch), name=f"slack-writer:{channel}"
            )
        return ch

    @staticmethod
    def _kick(ch: _Channel) -> None:
        ch.idle.clear()
        ch.wake.set()

    def _post_wait(self, ch: _Channel, job: _Post, now: float) -> float:
        """Seconds until `job` may be posted (0 = now), refilling the channel's bucket."""
        if now < ch.blocked_until:
            return ch.blocked_until - now
        if self.post_interval <= 0:
            return 0.0
        if ch.refilled_at is None:
            ch.tokens, ch.refilled_at = float(self.post_burst), now
        else:
            gained = (now - ch.refilled_at) / self.post_interval
            ch.tokens = min(float(self.post_burst), ch.tokens + gained)
            ch.refilled_at = now
        need = 1.0 if job.priority else self._normal_need
        if ch.tokens >= need - 1e-9:
            return 0.0
        return (need - ch.tokens) * self.post_interval

    async def _run(self, ch: _Channel) -> None:
        loop = asyncio.get_running_loop()
        while True:
            ch.wake.clear()
            now = loop.time()
            post_wait = self._post_wait(ch, ch.posts[0], now) if ch.posts else 0.0
            if ch.posts and post_wait <= 0:
                await self._send_post(ch, ch.posts[0])
                continue
            due = [ts for ts in ch.updates if now >= ch.next_edit_at.get(ts, 0.0)]
            if due:
                ts = due[0]
                await self._send_update(ch, ts, ch.updates.pop(ts))
                continue
            if not ch.posts and not ch.updates:
                ch.idle.set()
                await ch.wake.wait()
                continue
            deadlines = [now + post_wait] if ch.posts else []
            deadlines += [ch.next_edit_at.get(ts, 0.0) for ts in ch.updates]
            delay = max(0.0, min(deadlines) - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ch.wake.wait(), delay)

    async def _send_post(self, ch: _Channel, job: _Post) -> None:
        loop = asyncio.get_running_loop()
        args: dict[str, Any] = {"channel": ch.name, "text": job.text, **job.extra}
        if job.thread_ts:
            args["thread_ts"] = job.thread_ts
        if job.blocks:
            args["blocks"] = job.blocks
        args.setdefault("unfurl_links", False)
        args.setdefault("unfurl_media", False)
        ch.busy = True
        ch.tokens -= 1.0  # Slack counts the attempt, whatever the answer
        try:
            resp = await self._call("chat.postMessage", self.client.chat_postMessage, args)
            if resp.get("retry_after") is not None and job.rounds < self.max_ratelimit_rounds:
                job.rounds += 1  # stays first in the queue: order is kept
                ch.blocked_until = loop.time() + resp["retry_after"]
                ch.tokens = min(ch.tokens, 0.0)
                return
            if resp.get("retry_after") is not None:
                log.error("Slack chat.postMessage in %s gave up after rate limits", ch.name)
            ch.posts.remove(job)
            ts = resp.get("ts")
            if ts and self.min_edit_interval > 0:
                # a fresh message counts as just written: no edit within one interval
                ch.next_edit_at[str(ts)] = loop.time() + self.min_edit_interval
            if not job.done.done():
                job.done.set_result(ts)
        finally:
            ch.busy = False

    async def _send_update(self, ch: _Channel, ts: str, upd: _Update) -> None:
        loop = asyncio.get_running_loop()
        args: dict[str, Any] = {"channel": ch.name, "ts": ts, "text": upd.text}
        args["blocks"] = upd.blocks or []
        ch.busy = True
        try:
            resp = await self._call("chat.update", self.client.chat_update, args)
            if resp.get("retry_after") is not None and upd.rounds < self.max_ratelimit_rounds:
                upd.rounds += 1
                ch.updates.setdefault(ts, upd)  # newer content, if any, already wins
                ch.next_edit_at[ts] = loop.time() + resp["retry_after"]
                return
            if resp.get("retry_after") is not None:
                log.error("Slack chat.update of %s in %s gave up after rate limits", ts, ch.name)
            now = loop.time()
            if len(ch.next_edit_at) > 512:  # forget messages not edited recently
                ch.next_edit_at = {k: v for k, v in ch.next_edit_at.items() if v > now}
            ch.next_edit_at[ts] = now + self.min_edit_interval
        finally:
            ch.busy = False

    async def _call(self, method: str, fn: Any, args: dict[str, Any]) -> dict[str, Any]:
        """Call Slack; return the response data, `{"retry_after": s}` on rate limit, or `{}`."""
        for attempt in (1, 2):
            try:
                resp = await asyncio.wait_for(fn(**args), self.call_timeout)
                return dict(resp.data) if isinstance(resp.data, dict) else {}
            except SlackApiError as err:
                code = err.response.get("error") if err.response is not None else None
                if err.response is not None and (
                    err.response.status_code == 429 or code == "ratelimited"
                ):
                    retry_after = _retry_after(err)
                    log.warning(
                        "Slack %s rate limited in %s; retrying in %.1f s",
                        method,
                        args.get("channel"),
                        retry_after,
                    )
                    return {"retry_after": retry_after}
                if attempt == 1 and code in _BLOCK_ERRORS and args.get("blocks"):
                    log.warning(
                        "Slack %s rejected blocks (%s) in %s; sending text only",
                        method,
                        code,
                        args.get("channel"),
                    )
                    args = {**args, "blocks": []}
                    continue
                log.error(
                    "Slack %s failed in %s: %s (ts=%s)",
                    method,
                    args.get("channel"),
                    code or err,
                    args.get("ts") or args.get("thread_ts"),
                )
                return {}
            except TimeoutError:
                log.error(
                    "Slack %s timed out after %.0f s in %s",
                    method,
                    self.call_timeout,
                    args.get("channel"),
                )
                return {}
            except Exception as err:  # network errors: log, never raise into the runner
                log.error("Slack %s failed in %s: %r", method, args.get("channel"), err)
                return {}
        return {}


def _priority_slot(posts: deque[_Post], thread_ts: str | None) -> int:
    """Where a priority post goes: after other priority posts and after every waiting post
    of its own thread (order within a thread is kept), ahead of the rest."""
    slot = 0
    for i, other in enumerate(posts):
        if other.priority or (thread_ts is not None and other.thread_ts == thread_ts):
            slot = i + 1
    return slot


def _retry_after(err: SlackApiError) -> float:
    headers = getattr(err.response, "headers", None) or {}
    value = None
    for key, val in dict(headers).items():
        if str(key).lower() == "retry-after":
            value = val[0] if isinstance(val, list) else val
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
