"""The Bolt `AsyncApp`: alert-channel triage, follow-ups, `/tarsy`, the message shortcut, buttons.

Listeners stay thin: parse, check who may do what, hand over to `BotServices`, answer the
person. Events are acked by Bolt at once and processed once per `event_id` (stored in the
database, so redeliveries and other replicas are ignored). Commands, shortcuts and buttons are
acked within Slack's 3 s budget before any slow work.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.presenter import blocks as ui
from bot.services import BotServices, session_view
from chains.alert import Alert, SlackRef
from config.models import SlackSettings

log = logging.getLogger(__name__)

SHORTCUT_ID = "tarsy_investigate_message"
GROUP_CACHE_S = 300.0


class SlackSurface:
    """Holds what listeners share (settings, services, our own identity)."""

    def __init__(self, settings: SlackSettings, services: BotServices, metrics: Any) -> None:
        self.settings = settings
        self.services = services
        self.metrics = metrics
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None
        self.team_id: str | None = None
        self._groups: dict[str, tuple[float, set[str]]] = {}

    # ------------------------------------------------------------------ helpers

    async def identify(self, client: Any) -> None:
        """Learn our own user id / bot id (to ignore our messages and spot mentions)."""
        resp = await client.auth_test()
        self.bot_user_id = resp.get("user_id")
        self.bot_id = resp.get("bot_id")
        self.team_id = resp.get("team_id")

    async def first_time(self, body: dict[str, Any]) -> bool:
        event_id = body.get("event_id")
        if not event_id:
            return True
        return await self.services.mark_event_seen(event_id)

    def in_alert_channel(self, channel: str, channel_name: str | None = None) -> bool:
        chans = self.settings.alert_channels
        return channel in chans or (channel_name is not None and channel_name in chans)

    async def may_use_command(
        self, client: Any, user: str, channel: str, channel_name: str | None
    ) -> str | None:
        """None when allowed, else a polite refusal."""
        s = self.settings
        if s.allowed_channels and not (
            channel in s.allowed_channels
            or (channel_name and channel_name in s.allowed_channels)
            or (channel_name and f"#{channel_name}" in s.allowed_channels)
        ):
            where = ", ".join(f"<#{c}>" if c[:1] in "CG" else f"#{c}" for c in s.allowed_channels)
            return (
                "Sorry, TARSy isn't enabled in this channel. "
                f"Please use it in {where} (an admin can change `slack.allowed_channels`)."
            )
        if s.allowed_users and not await self._user_allowed(client, user):
            return (
                "Sorry, you're not on the list of people who can run TARSy here. "
                "Ask an admin to add you (or your user group) to `slack.allowed_users`."
            )
        return None

    async def _user_allowed(self, client: Any, user: str) -> bool:
        allowed = self.settings.allowed_users
        if user in allowed:
            return True
        for group in (g for g in allowed if g.startswith("S")):
            if user in await self._group_members(client, group):
                return True
        return False

    async def _group_members(self, client: Any, group: str) -> set[str]:
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < GROUP_CACHE_S:
            return cached[1]
        members: set[str] = set()
        try:
            resp = await client.usergroups_users_list(usergroup=group)
            members = set(resp.get("users") or [])
        except SlackApiError as e:
            log.warning(
                "usergroups.users.list %s failed (%s); treating the group as empty",
                group,
                e.response.get("error"),
            )
        self._groups[group] = (time.monotonic(), members)
        return members

    def parse_alert(self, event: dict[str, Any]) -> Alert | None:
        from bot.parsers.errors import PayloadError
        from bot.parsers.slack_message import parse_alert_message

        try:
            return parse_alert_message(
                event,
                alert_bots=self.settings.alert_bots,
                alert_patterns=self.settings.alert_patterns,
                own_bot_id=self.bot_id,
                own_user_id=self.bot_user_id,
            )
        except PayloadError as e:
            log.info(
                "message %s in %s is not a readable alert: %s",
                event.get("ts"),
                event.get("channel"),
                e,
            )
            return None

    def mentions_us(self, text: str) -> bool:
        return bool(self.bot_user_id) and f"<@{self.bot_user_id}" in (text or "")

    def strip_mention(self, text: str) -> str:
        if not self.bot_user_id:
            return text.strip()
        return re.sub(rf"<@{re.escape(self.bot_user_id)}(\|[^>]*)?>", "", text).strip()


# ---------------------------------------------------------------------- app factory


def build_bolt_app(
    surface: SlackSurface, client: Any, *, signing_secret: str | None, token_verification: bool
) -> AsyncApp:
    """The Bolt app. HTTP mode verifies signatures (`signing_secret`); Socket Mode does not."""
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "socket-mode-does-not-sign",
        request_verification_enabled=bool(signing_secret),
        ignoring_self_events_enabled=True,
        process_before_response=False,
    )
    register_listeners(app, surface)
    return app


def register_listeners(app: AsyncApp, surface: SlackSurface) -> None:
    services = surface.services

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], client: Any) -> None:
        subtype = event.get("subtype")
        if subtype in ("message_changed", "message_deleted", "channel_join", "channel_leave"):
            return
        if event.get("bot_id") and event.get("bot_id") == surface.bot_id:
            return
        channel = event.get("channel", "")
        ts = event.get("ts", "")
        thread_ts = event.get("thread_ts")
        if thread_ts and thread_ts != ts:
            await _maybe_followup(surface, event, body, client)
            return
        if not surface.in_alert_channel(channel):
            return
        alert = surface.parse_alert(event)
        if alert is None:
            return
        if not await surface.first_time(body):
            log.info("event %s already processed; ignoring redelivery", body.get("event_id"))
            return
        alert.slack = SlackRef(channel=channel, ts=ts, team=body.get("team_id"))
        result = await services.submit_alert(alert)
        surface.metrics.alerts_received.labels(
            f"slack:{alert.source}", "new" if result.created else "duplicate"
        ).inc()

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        # Follow-ups are handled from the `message` event (a mention arrives as both);
        # this listener exists so Socket Mode acks app_mention envelopes.
        return None

    @app.command("/tarsy")
    async def on_command(ack: Any, command: dict[str, Any], client: Any, respond: Any) -> None:
        await _handle_command(surface, ack, command, client, respond)

    @app.shortcut(SHORTCUT_ID)
    async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: Any) -> None:
        await ack()
        await _handle_shortcut(surface, shortcut, client)

    @app.action("tarsy_cancel")
    async def on_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any):
        await ack()
        user = body.get("user", {}).get("id")
        status = await services.cancel(action.get("value", ""), by=user)
        await _ephemeral(client, body, _cancel_text(status, action.get("value", "")))

    @app.action("tarsy_rerun")
    async def on_rerun(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any):
        await ack()
        user = body.get("user", {}).get("id")
        try:
            new_id = await services.rerun(action.get("value", ""), by=user)
        except Exception as e:
            log.exception("re-run of %s failed", action.get("value"))
            await _ephemeral(client, body, f"❌ Could not re-run the investigation: {e}")
            return
        await _ephemeral(client, body, f"🔁 Re-running the investigation (session `{new_id[:8]}`).")

    for action_id, value in (("tarsy_feedback_up", "up"), ("tarsy_feedback_down", "down")):
        app.action(action_id)(_feedback_handler(surface, value))

    @app.action("tarsy_details")
    async def on_details(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any):
        await ack()
        timeline = await services.timeline(action.get("value", ""))
        if timeline is None:
            await _ephemeral(client, body, "I can't find that investigation any more.")
            return
        from bot.services import timeline_dict

        await client.views_open(
            trigger_id=body.get("trigger_id"), view=ui.details_modal(timeline_dict(timeline))
        )

    @app.action(re.compile(".*"))
    async def on_other_action(ack: Any) -> None:
        await ack()  # link buttons (runbook, dashboard) also send block_actions


def _feedback_handler(surface: SlackSurface, value: str):
    async def on_feedback(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any):
        await ack()
        user = body.get("user", {}).get("id")
        await surface.services.add_feedback(action.get("value", ""), value, user)
        thanks = (
            "Thanks for the 👍 — glad it helped!"
            if value == "up"
            else ("Thanks for the 👎 — noted. A follow-up question in the thread helps me improve.")
        )
        await _ephemeral(client, body, thanks)

    return on_feedback


async def _ephemeral(client: Any, body: dict[str, Any], text: str) -> None:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    user = (body.get("user") or {}).get("id")
    thread_ts = (body.get("message") or {}).get("thread_ts") or (body.get("container") or {}).get(
        "thread_ts"
    )
    if not channel or not user:
        return
    await _post_ephemeral(client, channel, user, text, thread_ts)


async def _post_ephemeral(
    client: Any, channel: str, user: str, text: str, thread_ts: str | None
) -> None:
    """chat.postEphemeral (in the thread when given); a Slack error is logged, not raised."""
    try:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        await client.chat_postEphemeral(**kwargs)
    except SlackApiError as e:
        log.warning("chat.postEphemeral failed: %s", e.response.get("error"))


def _cancel_text(status: str | None, session_id: str) -> str:
    if status is None:
        return f"I don't know an investigation `{session_id}`. `/tarsy status` lists recent ones."
    if status == "cancelled":
        return f"🚫 Cancelled investigation `{session_id[:8]}`."
    if status == "running":
        return f"🚫 Cancelling investigation `{session_id[:8]}` — it stops after the current step."
    return f"Investigation `{session_id[:8]}` already ended ({status}); nothing to cancel."


async def _maybe_followup(
    surface: SlackSurface, event: dict[str, Any], body: dict[str, Any], client: Any
) -> None:
    if event.get("bot_id") or event.get("subtype") == "bot_message":
        return
    text = event.get("text") or ""
    mentioned = surface.mentions_us(text)
    if not mentioned and surface.settings.followups != "any_reply":
        return
    channel, thread_ts = event.get("channel", ""), event.get("thread_ts", "")
    session = await surface.services.session_for_thread(channel, thread_ts)
    if session is None:
        return
    if not await surface.first_time(body):
        return
    question = surface.strip_mention(text)
    if not question:
        return
    await surface.services.submit_followup(
        session.id, question, event.get("user"), channel, event.get("ts", "")
    )
    if session.status in ("queued", "running") and event.get("user"):
        # Asked mid-investigation: say when it will be answered (only the asker sees it).
        with contextlib.suppress(SlackApiError):
            await client.chat_postEphemeral(
                channel=channel,
                user=event["user"],
                thread_ts=thread_ts,
                text="🕑 Got your question — I'll answer it here once the investigation finishes.",
            )


async def _handle_command(
    surface: SlackSurface, ack: Any, command: dict[str, Any], client: Any, respond: Any
) -> None:
    from bot.parsers.errors import PayloadError
    from bot.parsers.freeform import (
        CancelCommand,
        HelpCommand,
        InvestigateCommand,
        StatusCommand,
        parse_slash_command,
    )

    user = command.get("user_id", "")
    channel = command.get("channel_id", "")
    team = command.get("team_id")
    refusal = await surface.may_use_command(client, user, channel, command.get("channel_name"))
    if refusal:
        await ack(text=refusal, response_type="ephemeral")
        return
    try:
        cmd = parse_slash_command(command.get("text", ""), channel=channel, user=user, team=team)
    except PayloadError as e:
        await ack(text=f"⚠️ I couldn't read that: {e}", response_type="ephemeral")
        return
    services = surface.services
    if isinstance(cmd, HelpCommand):
        await ack(text=ui.help_text(cmd.hint), response_type="ephemeral")
    elif isinstance(cmd, StatusCommand):
        await ack()
        await respond(text=await _status_reply(services, cmd.session_id), response_type="ephemeral")
    elif isinstance(cmd, CancelCommand):
        await ack()
        sid = await services.resolve_id(cmd.session_id) or cmd.session_id
        status = await services.cancel(sid, by=user)
        await respond(text=_cancel_text(status, sid), response_type="ephemeral")
    elif isinstance(cmd, InvestigateCommand):
        req = cmd.request
        if req.message_link is None:
            titles = ", ".join(f"“{a.title}”" for a in req.alerts[:3]) or "your request"
            await ack(
                text=f"🔍 On it — investigating {titles}. I'll post the thread in this channel.",
                response_type="ephemeral",
            )
            alerts = req.alerts
        else:
            await ack(text="🔍 Fetching that message to investigate it…", response_type="ephemeral")
            alert, problem = await _alert_from_link(surface, client, req)
            if alert is None:
                await respond(text=f"⚠️ {problem}", response_type="ephemeral")
                return
            link = req.message_link
            # Investigate in the linked message's own thread (where the alert lives).
            alert.slack = SlackRef(
                channel=link.channel, ts=link.thread_ts or link.ts, user=user, team=team
            )
            result = await _submit(surface, alert, "slash", respond)
            if result is not None and result.created:
                await respond(
                    text=f"🔍 Investigating “{alert.title}” in the thread of <{link.url}|that "
                    "message>.",
                    response_type="ephemeral",
                )
            return
        for alert in alerts:
            alert.slack = SlackRef(channel=channel, ts=None, user=user, team=team)
            await _submit(surface, alert, "slash", respond)


async def _submit(
    surface: SlackSurface, alert: Alert, source: str, respond: Any | None
) -> Any | None:
    """Store the alert; tell the person about duplicates / resolved notices. None on error."""
    try:
        result = await surface.services.submit_alert(alert)
    except Exception as e:
        log.exception("storing the %s alert failed", source)
        if respond is not None:
            await respond(
                text=f"❌ Could not start the investigation: {e}", response_type="ephemeral"
            )
        return None
    surface.metrics.alerts_received.labels(source, "new" if result.created else "duplicate").inc()
    if respond is not None and not result.created:
        await respond(text=_not_created_text(result), response_type="ephemeral")
    return result


def _not_created_text(result: Any) -> str:
    if getattr(result, "resolved", False):
        if result.session_id:
            return (
                f"That is a resolved notification; I marked incident `{result.session_id[:8]}` "
                "resolved instead of starting an investigation."
            )
        return "That is a resolved notification and no open incident matches it; nothing to do."
    return (
        f"This looks like an incident already being handled (session "
        f"`{(result.session_id or '')[:8]}`, seen {result.occurrences}×); I added it there."
    )


async def _alert_from_link(
    surface: SlackSurface, client: Any, req: Any
) -> tuple[Alert | None, str]:
    link = req.message_link
    message = await _fetch_message(client, link.channel, link.ts, link.thread_ts)
    if message is None:
        return None, (
            f"I couldn't read that message (channel {link.channel}). Make sure TARSy is a member "
            "of the channel, or paste the alert text instead."
        )
    message.setdefault("channel", link.channel)
    alert = surface.parse_alert(message) or _manual_alert(message, link.channel)
    if req.note:
        alert.description = f"{req.note}\n\n{alert.description}".strip()
    return alert, ""


async def _fetch_message(
    client: Any, channel: str, ts: str, thread_ts: str | None
) -> dict[str, Any] | None:
    try:
        if thread_ts and thread_ts != ts:
            resp = await client.conversations_replies(
                channel=channel, ts=thread_ts, latest=ts, inclusive=True, limit=20
            )
        else:
            resp = await client.conversations_history(
                channel=channel, latest=ts, inclusive=True, limit=1
            )
    except SlackApiError as e:
        log.info("fetching %s/%s failed: %s", channel, ts, e.response.get("error"))
        return None
    for msg in resp.get("messages") or []:
        if msg.get("ts") == ts:
            return dict(msg)
    return None


def _manual_alert(message: dict[str, Any], channel: str) -> Alert:
    from bot.parsers.common import slack_to_plain, stable_fingerprint
    from bot.parsers.slack_content import flatten_message

    try:
        text = flatten_message(message).text
    except Exception:
        text = message.get("text") or ""
    text = slack_to_plain(text).strip() or "(empty message)"
    first = text.splitlines()[0][:150]
    return Alert(
        source="slack",
        kind="manual",
        title=first,
        description=text,
        fingerprint=stable_fingerprint("message", channel, message.get("ts", "")),
        payload={"text": text, "channel": channel, "ts": message.get("ts")},
    )


async def _handle_shortcut(surface: SlackSurface, shortcut: dict[str, Any], client: Any) -> None:
    message = dict(shortcut.get("message") or {})
    channel_obj = shortcut.get("channel") or {}
    channel = channel_obj.get("id", "")
    user = (shortcut.get("user") or {}).get("id") or ""
    team = (shortcut.get("team") or {}).get("id")
    message.setdefault("channel", channel)
    ts = message.get("ts")
    # Investigate in the message's own thread (or the thread it is part of).
    thread = message.get("thread_ts") or ts

    async def tell(text: str) -> None:
        await _post_ephemeral(client, channel, user, text, thread)

    refusal = await surface.may_use_command(client, user, channel, channel_obj.get("name"))
    if refusal:
        await tell(refusal)
        return
    alert = surface.parse_alert(message) or _manual_alert(message, channel)
    alert.slack = SlackRef(channel=channel, ts=thread, user=user, team=team)

    async def respond(text: str, response_type: str = "ephemeral") -> None:
        await tell(text)

    await _submit(surface, alert, "shortcut", respond)


async def _status_reply(services: BotServices, session_id: str | None) -> str:
    if session_id:
        sid = await services.resolve_id(session_id)
        row = await services.get_session(sid) if sid else None
        if row is None:
            return f"I don't know an investigation `{session_id}`. Try `/tarsy status`."
        return ui.status_text([session_view(row)])
    rows = await services.recent_sessions(limit=10)
    if not rows:
        return "No investigations yet."
    return ui.status_text([session_view(r) for r in rows])
