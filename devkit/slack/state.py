"""The emulated workspace: channels, users, messages and everything recorded for tests."""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devkit.slack.models import ApiCall, Delivery, Ephemeral, Message, Response

TEAM_ID = "T0ACME0001"
TEAM_DOMAIN = "acme"
BOT_USER_ID = "U0TARSYBOT"
BOT_ID = "B0TARSY001"
APP_ID = "A0TARSY001"
BOT_NAME = "tarsy"


class Workspace:
    """All mutable state. Every mutation calls `changed()` so waiters wake up."""

    def __init__(self, channels: dict[str, str] | None = None, bot_in_channels: bool = True):
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.responses: list[Response] = []
        self.statuses: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.calls: collections.deque[ApiCall] = collections.deque(maxlen=100_000)
        self.deliveries: list[Delivery] = []
        self.bot_in_channels = bot_in_channels
        self._last_ts_us = 0
        self._waiters: list[asyncio.Future[None]] = []
        self.add_user(BOT_USER_ID, BOT_NAME, is_bot=True, bot_id=BOT_ID)
        for cid, name in (channels or {}).items():
            self.add_channel(cid, name)

    # -- change notification -------------------------------------------------------------
    def changed(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,  # noqa: ASYNC109 - the documented test API
        what: str = "",
    ) -> Any:
        """Wait until `predicate()` is truthy; re-checked on every state change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [f"{c.method}:{c.status}:{c.error or 'ok'}" for c in list(self.calls)[-8:]]
                raise TimeoutError(
                    f"Slack emulator: condition {what or predicate!r} not met within {timeout}s "
                    f"(last API calls: {recent})"
                )
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            # Wake on a change, or re-check periodically for conditions on outside state.
            await asyncio.wait({fut}, timeout=min(remaining, 0.25))

    # -- ids -------------------------------------------------------------------------------
    def next_ts(self) -> str:
        """Unique, strictly increasing message timestamps like "1796396292.000100"."""
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def observe_ts(self, ts: str) -> None:
        try:
            sec, _, frac = ts.partition(".")
            us = int(sec) * 1_000_000 + int((frac or "0").ljust(6, "0")[:6])
        except ValueError:
            return
        self._last_ts_us = max(self._last_ts_us, us)

    # -- directory -------------------------------------------------------------------------
    def add_channel(
        self, channel_id: str, name: str, *, bot_member: bool | None = None, private: bool = False
    ) -> None:
        member = self.bot_in_channels if bot_member is None else bot_member
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_private": private,
            "members": {BOT_USER_ID} if member else set(),
            "created": int(time.time()),
        }
        self.messages.setdefault(channel_id, {})
        self.changed()

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        is_bot: bool = False,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        if user_id not in self.users:
            self.users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name or user_id.lower(),
                "real_name": name or user_id,
                "is_bot": is_bot,
                "deleted": False,
                "tz": "Europe/Berlin",
                "profile": {
                    "display_name": name or user_id.lower(),
                    "real_name": name or user_id,
                    **({"bot_id": bot_id} if bot_id else {}),
                },
            }
        return self.users[user_id]

    def channel_info(self, channel_id: str) -> dict[str, Any]:
        ch = self.channels[channel_id]
        return {
            "id": ch["id"],
            "name": ch["name"],
            "is_channel": not ch["is_private"],
            "is_group": False,
            "is_im": channel_id.startswith("D"),
            "is_private": ch["is_private"],
            "is_archived": False,
            "is_member": BOT_USER_ID in ch["members"],
            "created": ch["created"],
            "context_team_id": TEAM_ID,
            "num_members": len(ch["members"]),
        }

    # -- messages --------------------------------------------------------------------------
    def store(self, msg: Message) -> Message:
        """Add a message; thread replies update their root's reply fields."""
        if msg.channel not in self.channels:
            self.add_channel(msg.channel, msg.channel.lower())
        self.observe_ts(msg.ts)
        self.messages[msg.channel][msg.ts] = msg
        if msg.thread_ts and msg.thread_ts != msg.ts:
            root = self.messages[msg.channel].get(msg.thread_ts)
            if root is not None:
                root.thread_ts = root.ts
                root.reply_count += 1
                root.latest_reply = msg.ts
                who = msg.user or msg.bot_id or ""
                if who and who not in root.reply_users:
                    root.reply_users.append(who)
        self.changed()
        return msg

    def get(self, channel: str, ts: str) -> Message | None:
        return self.messages.get(channel, {}).get(ts)

    def top_level(self, channel: str, include_deleted: bool = False) -> list[Message]:
        out = [
            m
            for m in self.messages.get(channel, {}).values()
            if (not m.thread_ts or m.thread_ts == m.ts) and (include_deleted or not m.deleted)
        ]
        return sorted(out, key=lambda m: float(m.ts))

    def thread(self, channel: str, ts: str, include_deleted: bool = False) -> list[Message]:
        msgs = self.messages.get(channel, {})
        root = msgs.get(ts)
        replies = [m for m in msgs.values() if m.thread_ts == ts and m.ts != ts]
        replies = [m for m in replies if include_deleted or not m.deleted]
        replies.sort(key=lambda m: float(m.ts))
        return ([root] if root and (include_deleted or not root.deleted) else []) + replies

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        data = {
            "channels": {
                cid: {**ch, "members": sorted(ch["members"])} for cid, ch in self.channels.items()
            },
            "users": self.users,
            "messages": [m.to_state() for ch in self.messages.values() for m in ch.values()],
            "last_ts_us": self._last_ts_us,
        }
        Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")

    def load(self, path: str | Path) -> None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for cid, ch in data.get("channels", {}).items():
            self.channels[cid] = {**ch, "members": set(ch.get("members", []))}
            self.messages.setdefault(cid, {})
        self.users.update(data.get("users", {}))
        for raw in data.get("messages", []):
            msg = Message.from_state(raw)
            self.messages.setdefault(msg.channel, {})[msg.ts] = msg
        self._last_ts_us = max(self._last_ts_us, int(data.get("last_ts_us", 0)))
        self.changed()
