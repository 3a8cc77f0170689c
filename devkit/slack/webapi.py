"""Slack Web API methods (`/api/<method>`) over the emulated workspace."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from devkit.slack.blocks import BlockError, check_message_size, parse_blocks, validate_blocks
from devkit.slack.models import Edit, Ephemeral, Message
from devkit.slack.state import APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

if TYPE_CHECKING:
    from devkit.slack.emulator import SlackEmulator


class ApiError(Exception):
    """A Slack `{"ok": false, "error": code}` answer (HTTP 200)."""

    def __init__(self, code: str, **extra: Any):
        super().__init__(code)
        self.code = code
        self.extra = extra


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
APP_TOKEN_METHODS = {"apps.connections.open"}
STREAM_CHUNK_MAX = 12000


def _json_param(params: dict[str, Any], key: str) -> Any:
    value = params.get(key)
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError("invalid_arguments", detail=f"{key} is not valid JSON") from exc
    return value


def _blocks(params: dict[str, Any]) -> list[dict] | None:
    try:
        blocks = parse_blocks(params.get("blocks"))
        if blocks is not None:
            validate_blocks(blocks)
        return blocks
    except BlockError as exc:
        raise ApiError(exc.code, errors=exc.messages) from exc


def _size(text: str, blocks: list[dict] | None) -> None:
    try:
        check_message_size(text, blocks)
    except BlockError as exc:
        raise ApiError(exc.code, errors=exc.messages) from exc


class WebApi:
    """Implements each method; `call()` does auth, rate limits and the call log."""

    def __init__(self, emulator: SlackEmulator):
        self.emu = emulator
        self.ws = emulator.workspace
        # user-group id (S…) -> member user ids; tests fill it (`emulator.web_api.usergroups`)
        self.usergroups: dict[str, list[str]] = {}
        self.handlers: dict[str, Handler] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.startStream": self.chat_start_stream,
            "chat.appendStream": self.chat_append_stream,
            "chat.stopStream": self.chat_stop_stream,
            "chat.getPermalink": self.chat_get_permalink,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "conversations.info": self.conversations_info,
            "reactions.add": self.reactions_add,
            "reactions.remove": self.reactions_remove,
            "users.info": self.users_info,
            "usergroups.users.list": self.usergroups_users_list,
            "assistant.threads.setStatus": self.assistant_set_status,
            "views.open": self.views_open,
        }

    async def call(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Run one call; returns (HTTP status, JSON body, extra headers)."""
        status, headers = 200, {}
        try:
            self._authorize(method, token)
            handler = self.handlers.get(method)
            if handler is None:
                raise ApiError("unknown_method")
            key = str(params.get("channel") or params.get("channel_id") or "")
            retry_after = self.emu.rate_limiter.check(method, key)
            if retry_after is not None:
                status, headers = 429, {"Retry-After": str(retry_after)}
                raise ApiError("ratelimited")
            body = await handler(params)
            body = {"ok": True, **body}
        except ApiError as exc:
            body = {"ok": False, "error": exc.code}
            if "errors" in exc.extra:
                body["errors"] = exc.extra["errors"]
                body["response_metadata"] = {
                    "messages": [f"[ERROR] {e}" for e in exc.extra["errors"]]
                }
            elif exc.extra:
                body.update(exc.extra)
        self.emu._record_call(method, params, status, body)
        return status, body, headers

    def _authorize(self, method: str, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        if token == self.emu.app_token:
            if method not in APP_TOKEN_METHODS:
                raise ApiError("not_allowed_token_type")
        elif token == self.emu.bot_token:
            if method in APP_TOKEN_METHODS:
                raise ApiError("not_allowed_token_type")
        else:
            raise ApiError("invalid_auth")

    # -- helpers -----------------------------------------------------------------------------
    def _channel(self, params: dict[str, Any], key: str = "channel", write: bool = False) -> str:
        channel = params.get(key)
        if not channel:
            raise ApiError("invalid_arguments", detail=f"missing required argument '{key}'")
        if channel not in self.ws.channels:
            raise ApiError("channel_not_found")
        if write and BOT_USER_ID not in self.ws.channels[channel]["members"]:
            raise ApiError("not_in_channel")
        return str(channel)

    def _message(self, channel: str, ts: Any) -> Message:
        msg = self.ws.get(channel, str(ts or ""))
        if msg is None or msg.deleted:
            raise ApiError("message_not_found")
        return msg

    def _bot_message(self, channel: str, text: str, **fields: Any) -> Message:
        return Message(
            channel=channel,
            ts=self.ws.next_ts(),
            text=text,
            user=BOT_USER_ID,
            bot_id=BOT_ID,
            app_id=APP_ID,
            **fields,
        )

    def _thread_root(self, channel: str, thread_ts: Any) -> str | None:
        if not thread_ts:
            return None
        root = self.ws.get(channel, str(thread_ts))
        if root is None or root.deleted:
            raise ApiError("thread_not_found")
        # Replying to a reply threads onto the reply's root, as Slack does.
        return root.thread_ts if root.thread_ts and root.thread_ts != root.ts else root.ts

    # -- methods -----------------------------------------------------------------------------
    async def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Acme",
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    async def apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.emu.socket_mode.new_url()}

    async def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, write=True)
        text = str(params.get("text") or "")
        blocks = _blocks(params)
        attachments = _json_param(params, "attachments") or None
        if not text and not blocks and not attachments:
            raise ApiError("no_text")
        _size(text, blocks)
        thread_ts = self._thread_root(channel, params.get("thread_ts"))
        msg = self._bot_message(
            channel,
            text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=thread_ts,
            username=params.get("username"),
            metadata=_json_param(params, "metadata") or None,
        )
        self.ws.store(msg)
        self._clear_status_on_reply(channel, thread_ts)
        self.emu._emit_message_event(msg)
        return {"channel": channel, "ts": msg.ts, "message": {**msg.to_api(), "team": TEAM_ID}}

    async def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._message(channel, params.get("ts"))
        if msg.bot_id != BOT_ID:
            raise ApiError("cant_update_message")
        has_text = params.get("text") not in (None, "")
        blocks = _blocks(params) if "blocks" in params else msg.blocks
        attachments = (
            _json_param(params, "attachments") if "attachments" in params else msg.attachments
        )
        if not has_text and not params.get("blocks") and not params.get("attachments"):
            raise ApiError("no_text")
        text = str(params["text"]) if has_text else msg.text
        _size(text, blocks)
        msg.edits.append(Edit(msg.text, msg.blocks, msg.attachments, time.time()))
        msg.text, msg.blocks, msg.attachments = text, blocks or None, attachments or None
        self.ws.changed()
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    async def chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._message(channel, params.get("ts"))
        if msg.bot_id != BOT_ID:
            raise ApiError("cant_delete_message")
        msg.deleted = True
        self.ws.changed()
        return {"channel": channel, "ts": msg.ts}

    async def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, write=True)
        user = params.get("user")
        if not user:
            raise ApiError("user_not_found")
        text = str(params.get("text") or "")
        blocks = _blocks(params)
        if not text and not blocks and not params.get("attachments"):
            raise ApiError("no_text")
        _size(text, blocks)
        ts = self.ws.next_ts()
        self.ws.ephemerals.append(
            Ephemeral(channel, str(user), text, blocks, params.get("thread_ts"), ts)
        )
        self.ws.changed()
        return {"message_ts": ts}

    async def chat_start_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, write=True)
        if not params.get("thread_ts"):
            raise ApiError("invalid_arguments", detail="missing required argument 'thread_ts'")
        thread_ts = self._thread_root(channel, params.get("thread_ts"))
        if not channel.startswith("D"):
            if not params.get("recipient_team_id"):
                raise ApiError("missing_recipient_team_id")
            if not params.get("recipient_user_id"):
                raise ApiError("missing_recipient_user_id")
        msg = self._bot_message(channel, "", thread_ts=thread_ts, streaming=True)
        self._append_chunks(msg, params)
        self.ws.store(msg)
        self._clear_status_on_reply(channel, thread_ts)
        return {"channel": channel, "ts": msg.ts}

    async def chat_append_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._message(channel, params.get("ts"))
        if not msg.streaming:
            raise ApiError("message_not_in_streaming_state")
        if not params.get("markdown_text") and not params.get("chunks"):
            raise ApiError("invalid_arguments", detail="markdown_text or chunks is required")
        self._append_chunks(msg, params)
        self.ws.changed()
        return {"channel": channel, "ts": msg.ts}

    async def chat_stop_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._message(channel, params.get("ts"))
        if not msg.streaming:
            raise ApiError("message_not_in_streaming_state")
        blocks = _blocks(params)
        self._append_chunks(msg, params)
        msg.streaming = False
        if blocks:
            msg.blocks = blocks
        msg.metadata = _json_param(params, "metadata") or msg.metadata
        self.ws.changed()
        return {"channel": channel, "ts": msg.ts, "message": msg.to_api()}

    def _append_chunks(self, msg: Message, params: dict[str, Any]) -> None:
        chunks = list(_json_param(params, "chunks") or [])
        if params.get("markdown_text"):
            chunks.insert(0, {"type": "markdown_text", "text": str(params["markdown_text"])})
        for chunk in chunks:
            if not isinstance(chunk, dict) or "type" not in chunk:
                raise ApiError("invalid_chunks")
            if chunk["type"] == "markdown_text" and len(str(chunk.get("text"))) > STREAM_CHUNK_MAX:
                raise ApiError("msg_too_long")
        added = "".join(str(c.get("text") or "") for c in chunks if c["type"] == "markdown_text")
        if len(msg.text) + len(added) > 40000:
            raise ApiError("msg_too_long")
        for chunk in chunks:
            msg.stream_chunks.append(chunk)
            if chunk["type"] == "markdown_text":
                msg.text += str(chunk.get("text") or "")

    async def chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._message(channel, params.get("message_ts"))
        link = f"{self.emu.base_url}archives/{channel}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _page(self, msgs: list[Message], params: dict[str, Any]) -> list[dict[str, Any]]:
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or 0) or float("inf")
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        out = []
        for m in msgs:
            t = float(m.ts)
            if (oldest < t < latest) or (inclusive and t in (oldest, latest)):
                out.append(m)
        return [m.to_api() for m in out]

    async def conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        root = self._message(channel, params.get("ts"))
        thread = self.ws.thread(channel, root.thread_ts or root.ts)
        limit = int(params.get("limit") or 1000)
        messages = self._page(thread, {**params, "inclusive": True})[:limit]
        return {"messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    async def conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        limit = int(params.get("limit") or 100)
        messages = list(reversed(self._page(self.ws.top_level(channel), params)))
        return {
            "messages": messages[:limit],
            "has_more": len(messages) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    async def conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self.ws.channel_info(self._channel(params))}

    async def reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._message(channel, params.get("timestamp"))
        name = str(params.get("name") or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        users = msg.reactions.setdefault(name, [])
        if BOT_USER_ID in users:
            raise ApiError("already_reacted")
        users.append(BOT_USER_ID)
        self.ws.changed()
        return {}

    async def reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        msg = self._message(channel, params.get("timestamp"))
        name = str(params.get("name") or "").strip(":")
        users = msg.reactions.get(name, [])
        if BOT_USER_ID not in users:
            raise ApiError("no_reaction")
        users.remove(BOT_USER_ID)
        if not users:
            del msg.reactions[name]
        self.ws.changed()
        return {}

    async def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.ws.users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user}

    async def usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = str(params.get("usergroup") or "")
        if not group:
            raise ApiError("invalid_arguments", detail="missing required argument 'usergroup'")
        if group not in self.usergroups:
            raise ApiError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _clear_status_on_reply(self, channel: str, thread_ts: str | None) -> None:
        """Slack clears a thread's "is thinking…" status when the app replies in it."""
        if not thread_ts:
            return
        last = next(
            (
                st
                for st in reversed(self.ws.statuses)
                if st["channel"] == channel and st["thread_ts"] == thread_ts
            ),
            None,
        )
        if last and last["status"]:
            self.ws.statuses.append(
                {
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "status": "",
                    "loading_messages": None,
                    "at": time.time(),
                    "cleared_by": "reply",
                }
            )

    async def assistant_set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, key="channel_id", write=True)
        if not params.get("thread_ts"):
            raise ApiError("invalid_arguments", detail="missing required argument 'thread_ts'")
        self.ws.statuses.append(
            {
                "channel": channel,
                "thread_ts": str(params["thread_ts"]),
                "status": str(params.get("status") or ""),
                "loading_messages": _json_param(params, "loading_messages"),
                "at": time.time(),
            }
        )
        self.ws.changed()
        return {}

    async def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            raise ApiError("invalid_arguments", detail="missing required argument 'trigger_id'")
        view = _json_param(params, "view")
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise ApiError("invalid_arguments", detail="view must be a modal")
        if view.get("blocks"):
            _blocks({"blocks": view["blocks"]})
        opened = {
            **view,
            "id": f"V{len(self.ws.views) + 1:010d}",
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "state": {"values": {}},
            "trigger_id": params["trigger_id"],
        }
        self.ws.views.append(opened)
        self.ws.changed()
        return {"view": opened}
