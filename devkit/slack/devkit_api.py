"""`/_devkit/` JSON API: drive and inspect the emulator from other processes (the demo)."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from devkit.slack.emulator import SlackEmulator


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj


def _ok(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda d: json.dumps(d, default=_plain))


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def add_devkit_routes(app: web.Application, slack: SlackEmulator) -> None:  # noqa: C901
    async def body(request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except json.JSONDecodeError as exc:
            raise web.HTTPBadRequest(text=f"request body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="request body must be a JSON object")
        return data

    async def info(request: web.Request) -> web.Response:
        return _ok(slack.info())

    async def channels(request: web.Request) -> web.Response:
        return _ok({"channels": slack.channels})

    async def add_channel(request: web.Request) -> web.Response:
        data = await body(request)
        if not data.get("id") or not data.get("name"):
            return _bad('give \'id\' and \'name\', e.g. {"id": "C0NEW00001", "name": "new"}')
        slack.add_channel(data["id"], data["name"], bot_member=data.get("bot_member"))
        return _ok({"ok": True})

    async def messages(request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        return _ok({"messages": [m.to_api() for m in slack.messages(channel)]})

    async def thread(request: web.Request) -> web.Response:
        channel, ts = request.match_info["channel"], request.match_info["ts"]
        return _ok(
            {
                "messages": slack.thread(channel, ts),
                "rendered": slack.render_thread(channel, ts),
            }
        )

    async def render(request: web.Request) -> web.Response:
        channel, ts = request.match_info["channel"], request.match_info["ts"]
        return web.Response(text=slack.render_thread(channel, ts))

    async def post_message(request: web.Request) -> web.Response:
        data = await body(request)
        allowed = {
            "channel",
            "text",
            "user",
            "bot_id",
            "username",
            "subtype",
            "attachments",
            "blocks",
            "thread_ts",
        }
        try:
            ts = await slack.post_message(**{k: v for k, v in data.items() if k in allowed})
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _ok({"ok": True, "ts": ts, "channel": data.get("channel")})

    async def post_event(request: web.Request) -> web.Response:
        return _ok({"ok": True, "event_id": await slack.post_event(await body(request))})

    async def slash(request: web.Request) -> web.Response:
        data = await body(request)
        allowed = {"text", "channel", "user", "command"}
        try:
            d = await slack.send_slash_command(**{k: v for k, v in data.items() if k in allowed})
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _ok({"ok": True, "delivery_id": d.id})

    async def click(request: web.Request) -> web.Response:
        data = await body(request)
        allowed = {"channel", "message_ts", "action_id", "value", "user"}
        try:
            d = await slack.click_button(**{k: v for k, v in data.items() if k in allowed})
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _ok({"ok": True, "delivery_id": d.id})

    async def shortcut(request: web.Request) -> web.Response:
        data = await body(request)
        allowed = {"channel", "message_ts", "callback_id", "user"}
        try:
            d = await slack.message_shortcut(**{k: v for k, v in data.items() if k in allowed})
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _ok({"ok": True, "delivery_id": d.id})

    async def calls(request: web.Request) -> web.Response:
        return _ok({"calls": slack.calls(request.query.get("method"))})

    async def listing(request: web.Request) -> web.Response:
        name = request.match_info["what"]
        items: Any = {
            "ephemerals": slack.ephemerals(request.query.get("channel"), request.query.get("user")),
            "responses": slack.responses,
            "statuses": slack.statuses,
            "views": slack.views,
            "deliveries": slack.delivered(request.query.get("kind")),
        }.get(name)
        if items is None:
            return _bad(f"unknown listing {name!r}", status=404)
        return _ok({name: items})

    async def rate_limits(request: web.Request) -> web.Response:
        data = await body(request)
        if "enabled" in data:
            slack.rate_limiter.enabled = bool(data["enabled"])
        if data.get("method") and data.get("force_times"):
            slack.force_rate_limit(data["method"], int(data["force_times"]))
        if data.get("method") and data.get("per_second"):
            slack.set_rate_limit(
                data["method"], float(data["per_second"]), int(data.get("burst", 1))
            )
        return _ok({"ok": True, "enabled": slack.rate_limiter.enabled})

    async def disconnect(request: web.Request) -> web.Response:
        data = await body(request) if request.can_read_body else {}
        await slack.disconnect_clients(data.get("reason", "refresh_requested"))
        return _ok({"ok": True})

    async def request_url(request: web.Request) -> web.Response:
        data = await body(request)
        slack.set_request_url(data.get("url"), data.get("signing_secret"))
        return _ok({"ok": True})

    async def save(request: web.Request) -> web.Response:
        data = await body(request)
        if not data.get("path"):
            return _bad("give 'path' of the JSON file to write")
        slack.save_state(data["path"])
        return _ok({"ok": True})

    r = app.router
    r.add_get("/_devkit/info", info)
    r.add_get("/_devkit/channels", channels)
    r.add_post("/_devkit/channels", add_channel)
    r.add_get("/_devkit/channels/{channel}/messages", messages)
    r.add_get("/_devkit/channels/{channel}/threads/{ts}", thread)
    r.add_get("/_devkit/channels/{channel}/threads/{ts}/render", render)
    r.add_post("/_devkit/messages", post_message)
    r.add_post("/_devkit/events", post_event)
    r.add_post("/_devkit/slash_commands", slash)
    r.add_post("/_devkit/click", click)
    r.add_post("/_devkit/shortcut", shortcut)
    r.add_get("/_devkit/calls", calls)
    r.add_get("/_devkit/{what}", listing)
    r.add_post("/_devkit/rate_limits", rate_limits)
    r.add_post("/_devkit/disconnect", disconnect)
    r.add_post("/_devkit/request_url", request_url)
    r.add_post("/_devkit/save", save)
