"""SlackEmulator: an aiohttp server that real slack_sdk / slack-bolt clients talk to unchanged."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from devkit.slack.blocks import find_button
from devkit.slack.delivery import DeliveryManager
from devkit.slack.models import ApiCall, Delivery, Ephemeral, Message, Response
from devkit.slack.ratelimit import RateLimiter
from devkit.slack.render import render_thread
from devkit.slack.socket_mode import SocketModeHub
from devkit.slack.state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Workspace,
)
from devkit.slack.webapi import WebApi

log = logging.getLogger("devkit.slack")
MENTION = f"<@{BOT_USER_ID}>"


class SlackEmulator:
    """Local Slack: Web API, Socket Mode, HTTP-mode delivery, plus injection/inspection."""

    def __init__(
        self,
        port: int = 0,
        channels: dict[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        rate_limits: bool = True,
        ack_timeout: float = 3.0,
        signing_secret: str = "devkit-signing-secret",
        bot_token: str = "xoxb-devkit-0000000000-tarsy",
        app_token: str = "xapp-devkit-1-A0TARSY001-tarsy",
        bot_in_channels: bool = True,
        deliver_bot_messages: bool = True,
        state_file: str | Path | None = None,
    ):
        self.host, self.port = host, port
        self.ack_timeout = ack_timeout
        self.signing_secret = signing_secret
        self.bot_token, self.app_token = bot_token, app_token
        self.bot_user_id, self.bot_id, self.app_id, self.team_id = (
            BOT_USER_ID,
            BOT_ID,
            APP_ID,
            TEAM_ID,
        )
        self.deliver_bot_messages = deliver_bot_messages
        self.workspace = Workspace(channels, bot_in_channels=bot_in_channels)
        self.state_file = Path(state_file) if state_file else None
        if self.state_file and self.state_file.exists():
            self.workspace.load(self.state_file)
        self.rate_limiter = RateLimiter(enabled=rate_limits)
        self.web_api = WebApi(self)
        self.socket_mode = SocketModeHub(self)
        self.deliveries = DeliveryManager(self)
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self._event_seq = 0

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> SlackEmulator:
        from devkit.slack.devkit_api import add_devkit_routes

        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/link/", self.socket_mode.handle)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/archives/{channel}/{pts}", self._handle_permalink)
        add_devkit_routes(app, self)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        await self.deliveries.close()
        await self.socket_mode.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.state_file:
            self.save_state(self.state_file)

    async def __aenter__(self) -> SlackEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}api/"

    @property
    def ws_base_url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    # -- HTTP handlers -----------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    return web.json_response({"ok": False, "error": "invalid_json"})
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update(dict(await request.post()))
        token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        status, body, headers = await self.web_api.call(request.match_info["method"], params, token)
        return web.json_response(body, status=status, headers=headers)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        ctx = self._response_urls.get(request.match_info["rid"])
        if ctx is None:
            return web.Response(status=404, text="expired_url")
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        self.workspace.responses.append(
            Response("response_url", ctx["source"], payload, ctx["channel"], ctx["user"])
        )
        original = self.workspace.get(ctx["channel"] or "", ctx.get("message_ts") or "")
        if payload.get("delete_original") and original is not None:
            original.deleted = True
        elif payload.get("replace_original") and original is not None:
            original.text = payload.get("text", original.text)
            original.blocks = payload.get("blocks", original.blocks)
        else:
            self._show_response(payload, ctx["channel"], ctx["user"])
        self.workspace.changed()
        return web.json_response({"ok": True})

    async def _handle_permalink(self, request: web.Request) -> web.Response:
        channel, pts = request.match_info["channel"], request.match_info["pts"].lstrip("p")
        ts = request.query.get("thread_ts") or f"{pts[:-6]}.{pts[-6:]}"
        return web.Response(text=self.render_thread(channel, ts))

    def _show_response(
        self, payload: dict[str, Any], channel: str | None, user: str | None
    ) -> None:
        """Show an ack/response_url payload the way Slack would: in channel or ephemeral."""
        if not channel:
            return
        if payload.get("response_type") == "in_channel":
            thread_ts = payload.get("thread_ts")
            msg = Message(
                channel=channel,
                ts=self.workspace.next_ts(),
                text=str(payload.get("text") or ""),
                user=BOT_USER_ID,
                bot_id=BOT_ID,
                app_id=APP_ID,
                blocks=payload.get("blocks"),
                thread_ts=thread_ts,
            )
            self.workspace.store(msg)
        else:
            self.workspace.ephemerals.append(
                Ephemeral(
                    channel,
                    user or "",
                    str(payload.get("text") or ""),
                    payload.get("blocks"),
                    payload.get("thread_ts"),
                    self.workspace.next_ts(),
                    source="response",
                )
            )
        self.workspace.changed()

    def _record_call(
        self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]
    ) -> None:
        self.workspace.calls.append(
            ApiCall(method, params, time.time(), status, bool(body.get("ok")), body.get("error"))
        )
        self.workspace.changed()

    # -- events ------------------------------------------------------------------------------
    def _event_id(self) -> str:
        self._event_seq += 1
        return f"Ev0DEVKIT{self._event_seq:06d}{secrets.token_hex(2).upper()}"

    def _wrap_event(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "devkit-verification-token",
            "team_id": TEAM_ID,
            "context_team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def _message_event(self, msg: Message) -> dict[str, Any]:
        event = {**msg.to_api(), "channel": msg.channel, "event_ts": msg.ts, "team": TEAM_ID}
        event["channel_type"] = "im" if msg.channel.startswith("D") else "channel"
        for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply", "reactions"):
            event.pop(key, None)
        if msg.thread_ts and msg.thread_ts != msg.ts:
            root = self.workspace.get(msg.channel, msg.thread_ts)
            if root is not None and (root.user or root.bot_id):
                event["parent_user_id"] = root.user or root.bot_id
        else:
            event.pop("thread_ts", None)
        return event

    def _emit_message_event(self, msg: Message) -> None:
        """Deliver the `message` (and `app_mention`) events Slack sends for a new message."""
        if msg.bot_id == BOT_ID and not self.deliver_bot_messages:
            return
        event = self._message_event(msg)
        self.deliveries.submit("events_api", self._wrap_event(event))
        if MENTION in msg.text and msg.bot_id != BOT_ID:
            mention = {**event, "type": "app_mention"}
            mention.pop("subtype", None)
            mention.pop("channel_type", None)
            self.deliveries.submit("events_api", self._wrap_event(mention))

    # -- injection API -----------------------------------------------------------------------
    def add_channel(
        self, channel_id: str, name: str, *, bot_member: bool | None = None, private: bool = False
    ) -> None:
        self.workspace.add_channel(channel_id, name, bot_member=bot_member, private=private)

    def add_user(self, user_id: str, name: str | None = None) -> None:
        self.workspace.add_user(user_id, name)

    def _require_channel(self, channel: str) -> None:
        if channel not in self.workspace.channels:
            raise ValueError(
                f"Slack emulator: channel {channel!r} does not exist; known channels: "
                f"{sorted(self.workspace.channels)}. Add it with add_channel({channel!r}, 'name')."
            )

    async def post_message(
        self,
        channel: str,
        text: str = "",
        user: str | None = "U123",
        bot_id: str | None = None,
        username: str | None = None,
        subtype: str | None = None,
        attachments: list[dict] | None = None,
        blocks: list[dict] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Post as a person (or another app, with `bot_id`) and deliver the events."""
        self._require_channel(channel)
        if bot_id:
            subtype, user = subtype or "bot_message", None
        elif user:
            self.workspace.add_user(user)
        if thread_ts:
            root = self.workspace.get(channel, thread_ts)
            if root is None:
                raise ValueError(f"Slack emulator: no message {thread_ts} in {channel} to reply to")
            thread_ts = root.thread_ts or root.ts
        msg = Message(
            channel=channel,
            ts=self.workspace.next_ts(),
            text=text,
            user=user,
            bot_id=bot_id,
            username=username,
            subtype=subtype,
            attachments=attachments,
            blocks=blocks,
            thread_ts=thread_ts,
        )
        self.workspace.store(msg)
        self._emit_message_event(msg)
        return msg.ts

    async def post_event(self, event: dict[str, Any]) -> str:
        """Deliver an event_callback body (or a bare event); message events are also stored."""
        body = dict(event) if "event" in event else self._wrap_event(dict(event))
        body.setdefault("event_id", self._event_id())
        body.setdefault("event_time", int(time.time()))
        body.setdefault("type", "event_callback")
        body.setdefault("team_id", TEAM_ID)
        body.setdefault("api_app_id", APP_ID)
        ev = body["event"]
        if (
            ev.get("type") == "message"
            and ev.get("channel") in self.workspace.channels
            and ev.get("ts")
            and ev.get("subtype") not in ("message_changed", "message_deleted")
            and self.workspace.get(ev["channel"], ev["ts"]) is None
        ):
            self.workspace.store(
                Message(
                    channel=ev["channel"],
                    ts=ev["ts"],
                    text=ev.get("text") or "",
                    user=ev.get("user"),
                    bot_id=ev.get("bot_id"),
                    username=ev.get("username"),
                    subtype=ev.get("subtype"),
                    blocks=ev.get("blocks"),
                    attachments=ev.get("attachments"),
                    thread_ts=ev.get("thread_ts"),
                )
            )
        self.deliveries.submit("events_api", body)
        return str(body["event_id"])

    def _response_url(self, source: str, channel: str | None, user: str, **ctx: Any) -> str:
        rid = secrets.token_urlsafe(12)
        self._response_urls[rid] = {"source": source, "channel": channel, "user": user, **ctx}
        return f"{self.base_url}response/{rid}"

    @staticmethod
    def _trigger_id() -> str:
        return f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"

    def _user_obj(self, user: str) -> dict[str, Any]:
        info = self.workspace.add_user(user)
        return {"id": user, "username": info["name"], "name": info["name"], "team_id": TEAM_ID}

    async def send_slash_command(
        self,
        text: str = "",
        channel: str = "C0ALERTS01",
        user: str = "U123",
        command: str = "/tarsy",
    ) -> Delivery:
        self._require_channel(channel)
        info = self.workspace.add_user(user)
        payload = {
            "token": "devkit-verification-token",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": self.workspace.channels[channel]["name"],
            "user_id": user,
            "user_name": info["name"],
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url("slash_command", channel, user),
            "trigger_id": self._trigger_id(),
        }
        return self.deliveries.submit("slash_commands", payload)

    def _find_message(self, channel: str, ts: str) -> Message:
        self._require_channel(channel)
        msg = self.workspace.get(channel, ts)
        if msg is None or msg.deleted:
            raise ValueError(f"Slack emulator: no message {ts} in channel {channel}")
        return msg

    async def click_button(
        self,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        user: str = "U123",
    ) -> Delivery:
        """A user clicks a button that is on the message (fails if the button is not there)."""
        msg = self._find_message(channel, message_ts)
        found = find_button(msg.blocks, action_id)
        if found is None:
            raise ValueError(
                f"Slack emulator: message {message_ts} in {channel} has no element with "
                f"action_id {action_id!r}"
            )
        block_id, element = found
        action = {
            "type": element.get("type", "button"),
            "action_id": action_id,
            "block_id": block_id or "",
            "text": element.get("text"),
            "value": value if value is not None else element.get("value"),
            "action_ts": f"{time.time():.6f}",
        }
        if element.get("style"):
            action["style"] = element["style"]
        payload = {
            "type": "block_actions",
            "user": self._user_obj(user),
            "api_app_id": APP_ID,
            "token": "devkit-verification-token",
            "container": {
                "type": "message",
                "message_ts": msg.ts,
                "channel_id": channel,
                "is_ephemeral": False,
                **({"thread_ts": msg.thread_ts} if msg.thread_ts else {}),
            },
            "trigger_id": self._trigger_id(),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": self.workspace.channels[channel]["name"]},
            "message": {**msg.to_api(), "team": TEAM_ID},
            "state": {"values": {}},
            "response_url": self._response_url("block_actions", channel, user, message_ts=msg.ts),
            "actions": [action],
        }
        return self.deliveries.submit("interactive", payload)

    async def message_shortcut(
        self, channel: str, message_ts: str, callback_id: str, user: str = "U123"
    ) -> Delivery:
        msg = self._find_message(channel, message_ts)
        payload = {
            "type": "message_action",
            "token": "devkit-verification-token",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_obj(user),
            "channel": {"id": channel, "name": self.workspace.channels[channel]["name"]},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self._trigger_id(),
            "message_ts": msg.ts,
            "message": msg.to_api(),
            "response_url": self._response_url("message_action", channel, user),
        }
        return self.deliveries.submit("interactive", payload)

    async def submit_view(
        self, view_id: str, values: dict[str, Any] | None = None, user: str = "U123"
    ) -> Delivery:
        """Submit a modal opened with views.open; `values` is Slack's state.values shape."""
        view = next((v for v in self.workspace.views if v["id"] == view_id), None)
        if view is None:
            raise ValueError(f"Slack emulator: no open view {view_id!r}")
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_obj(user),
            "api_app_id": APP_ID,
            "token": "devkit-verification-token",
            "trigger_id": self._trigger_id(),
            "view": {**view, "state": {"values": values or {}}},
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return self.deliveries.submit("interactive", payload)

    def set_request_url(self, url: str | None, signing_secret: str | None = None) -> None:
        """Deliver over signed HTTP POSTs to `url` (None: back to Socket Mode).

        `signing_secret` overrides the secret used to sign (to test signature rejection).
        """
        self.deliveries.request_url = url
        self.deliveries.request_signing_secret = signing_secret
        if url:
            self.deliveries._flush_backlog()

    async def disconnect_clients(self, reason: str = "refresh_requested") -> None:
        await self.socket_mode.disconnect_all(reason)

    # -- inspection --------------------------------------------------------------------------
    def messages(self, channel: str, include_deleted: bool = False) -> list[Message]:
        return self.workspace.top_level(channel, include_deleted)

    def thread(self, channel: str, ts: str, include_deleted: bool = False) -> list[Message]:
        return self.workspace.thread(channel, ts, include_deleted)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        return [
            e
            for e in self.workspace.ephemerals
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    @property
    def responses(self) -> list[Response]:
        return self.workspace.responses

    @property
    def statuses(self) -> list[dict[str, Any]]:
        return self.workspace.statuses

    @property
    def views(self) -> list[dict[str, Any]]:
        return self.workspace.views

    @property
    def channels(self) -> dict[str, str]:
        return {cid: ch["name"] for cid, ch in self.workspace.channels.items()}

    def calls(self, method: str | None = None) -> list[ApiCall]:
        return [c for c in self.workspace.calls if method is None or c.method == method]

    def delivered(self, kind: str | None = None) -> list[Delivery]:
        return [d for d in self.workspace.deliveries if kind is None or d.kind == kind]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
        return await self.workspace.wait_for(predicate, timeout)

    async def wait_acked(self, delivery: Delivery, timeout: float = 10.0) -> Delivery:  # noqa: ASYNC109
        await self.wait_for(lambda: delivery.acked or delivery.gave_up, timeout)
        return delivery

    def force_rate_limit(self, method: str, times: int = 1) -> None:
        self.rate_limiter.force(method, times)

    def set_rate_limit(self, method: str, per_second: float, burst: int = 1) -> None:
        self.rate_limiter.set_limit(method, per_second, burst)

    def render_thread(self, channel: str, ts: str) -> str:
        return render_thread(self.workspace, channel, ts)

    def save_state(self, path: str | Path) -> None:
        self.workspace.save(path)

    def info(self) -> dict[str, Any]:
        return {
            "api_url": self.api_url,
            "devkit_url": f"{self.base_url}_devkit/",
            "bot_token": self.bot_token,
            "app_token": self.app_token,
            "signing_secret": self.signing_secret,
            "team_id": TEAM_ID,
            "bot_user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "channels": self.channels,
        }
