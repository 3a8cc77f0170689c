"""Plain-text rendering of a thread: roughly what a person sees in the Slack client."""

from __future__ import annotations

import time

from devkit.slack.blocks import render_blocks
from devkit.slack.models import Message
from devkit.slack.state import Workspace


def _author(ws: Workspace, msg: Message) -> str:
    if msg.username:
        return msg.username
    if msg.user and msg.user in ws.users:
        return str(ws.users[msg.user]["name"])
    return msg.user or msg.bot_id or "?"


def message_body(msg: Message, *, attachment_fallback: bool = True) -> list[str]:
    """The text chunks a person reads in one message: text, blocks, attachments, in order.

    `attachment_fallback`: show an attachment's `fallback` when it has no pretext/title/text.
    """
    body: list[str] = []
    if msg.blocks:
        body.extend(render_blocks(msg.blocks))
    # A posted message with blocks shows only its blocks (`text` is the notification
    # fallback). A streamed message shows its streamed text AND, below it, the blocks given to
    # chat.stopStream: Slack documents them as "rendered at the bottom of the finalized
    # message". So content sent both ways really appears twice; the sender must not do that.
    if msg.text and (not msg.blocks or msg.streaming or msg.stream_chunks):
        body.insert(0, msg.text)
    for att in msg.attachments or []:
        for key in ("pretext", "title", "text"):
            if att.get(key):
                body.append(str(att[key]))
        if (
            attachment_fallback
            and not any(att.get(k) for k in ("pretext", "title", "text"))
            and att.get("fallback")
        ):
            body.append(str(att["fallback"]))
        if att.get("blocks"):
            body.extend(render_blocks(att["blocks"]))
    return body


def render_message(ws: Workspace, msg: Message, indent: str = "") -> list[str]:
    clock = time.strftime("%H:%M:%S", time.localtime(float(msg.ts)))
    flags = []
    if msg.edits:
        flags.append("(edited)")
    if msg.streaming:
        flags.append("(streaming…)")
    header = f"{indent}[{clock}] {_author(ws, msg)}" + (" " + " ".join(flags) if flags else "")
    lines = [header]
    for chunk in message_body(msg):
        lines.extend(f"{indent}  {line}" for line in str(chunk).splitlines() or [""])
    if msg.reactions:
        reacts = "  ".join(f":{name}: {len(users)}" for name, users in msg.reactions.items())
        lines.append(f"{indent}  {reacts}")
    return lines


def render_thread(ws: Workspace, channel: str, ts: str) -> str:
    """Root message, then replies indented; buttons as [Label], reactions as :name: N."""
    msgs = ws.thread(channel, ts)
    if not msgs:
        return f"(no message {ts} in {channel})"
    name = ws.channels.get(channel, {}).get("name", channel)
    lines = [f"#{name}"]
    for i, msg in enumerate(msgs):
        lines.extend(render_message(ws, msg, indent="" if i == 0 else "    "))
    statuses = [s for s in ws.statuses if s["channel"] == channel and s["thread_ts"] == ts]
    if statuses and statuses[-1]["status"]:
        lines.append(f"    tarsy {statuses[-1]['status']}")
    return "\n".join(lines)
