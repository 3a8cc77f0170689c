"""`/tarsy` text -> a command; `/tarsy investigate <...>` text -> what to investigate.

Investigate accepts three kinds of text:
- free text -> one Alert(kind="manual", title=first line, description=the text);
- pasted alert JSON (optionally in ``` fences) -> `detect_and_parse`;
- a Slack message link (`https://<ws>.slack.com/archives/C123/p1796396292345600`) ->
  `message_ref`; the bot fetches that message and runs it through `parse_alert_message`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chains.alert import Alert, SlackRef

from .common import TITLE_MAX, stable_fingerprint, truncate
from .errors import PayloadError
from .webhooks import detect_and_parse

_MESSAGE_LINK = re.compile(
    r"<?(https://[\w.\-]+\.slack\.com/archives/([CGD][A-Z0-9]{2,})/p(\d{10})(\d{6})"
    r"(?:\?([^\s|>]*))?)(?:\|[^>]*)?>?"
)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)


@dataclass(slots=True)
class MessageLink:
    """A Slack message the user pointed at; `thread_ts` set when it is a thread reply."""

    channel: str
    ts: str
    thread_ts: str | None = None
    url: str = ""


@dataclass(slots=True)
class InvestigateRequest:
    """What `/tarsy investigate` asked for: ready alerts, or a message the bot must fetch."""

    alerts: list[Alert] = field(default_factory=list)
    message_link: MessageLink | None = None
    note: str = ""  # text around a message link (context the user added)
    requested_by: SlackRef | None = None


@dataclass(slots=True)
class InvestigateCommand:
    request: InvestigateRequest


@dataclass(slots=True)
class StatusCommand:
    session_id: str | None = None


@dataclass(slots=True)
class CancelCommand:
    session_id: str


@dataclass(slots=True)
class HelpCommand:
    hint: str | None = None  # why help is shown (unknown sub-command, missing argument)


SlashCommand = InvestigateCommand | StatusCommand | CancelCommand | HelpCommand


def parse_slash_command(text: str, *, channel: str, user: str, team: str | None) -> SlashCommand:
    """Parse the text after `/tarsy`. Raises `PayloadError` only for broken pasted JSON."""
    text = (text or "").strip()
    word, _, rest = text.partition(" ")
    if "\n" in word:  # "investigate\n{json}"
        word, _, more = word.partition("\n")
        rest = more + (" " + rest if rest else "")
    cmd = word.lower()
    rest = rest.strip()
    if cmd in ("", "help", "-h", "--help"):
        return HelpCommand()
    if cmd == "investigate":
        if not rest:
            return HelpCommand(
                hint="`investigate` needs something to look at: text, alert "
                "JSON or a Slack message link"
            )
        return InvestigateCommand(
            parse_investigate_text(rest, channel=channel, user=user, team=team)
        )
    if cmd == "status":
        return StatusCommand(session_id=rest.split()[0] if rest else None)
    if cmd == "cancel":
        if not rest:
            return HelpCommand(hint="`cancel` needs a session id, e.g. `/tarsy cancel 3f2a9c`")
        return CancelCommand(session_id=rest.split()[0])
    return HelpCommand(
        hint=f"unknown sub-command `{word[:40]}` - did you mean `/tarsy investigate {word[:40]} …`?"
    )


def parse_investigate_text(
    text: str, *, channel: str, user: str, team: str | None
) -> InvestigateRequest:
    """Turn investigate text into alerts or a message link (see module docstring)."""
    requested_by = SlackRef(channel=channel, ts=None, user=user, team=team)
    body = _unescape(text.strip())
    if not body:
        raise PayloadError("nothing to investigate: the text is empty", "text")

    link = _MESSAGE_LINK.search(body)
    if link:
        ts = f"{link.group(3)}.{link.group(4)}"
        query = link.group(5) or ""
        thread = re.search(r"thread_ts=(\d+\.\d+)", query)
        note = (body[: link.start()] + " " + body[link.end() :]).strip()
        return InvestigateRequest(
            message_link=MessageLink(
                channel=link.group(2),
                ts=ts,
                thread_ts=thread.group(1) if thread else None,
                url=link.group(1),
            ),
            note=note,
            requested_by=requested_by,
        )

    payload = _maybe_json(body)
    if payload is not None:
        items = payload if isinstance(payload, list) else [payload]
        alerts: list[Alert] = []
        for item in items:
            for alert in detect_and_parse(item):
                alert.slack = SlackRef(channel=channel, ts=None, user=user, team=team)
                alerts.append(alert)
        return InvestigateRequest(alerts=alerts, requested_by=requested_by)

    first = next(line.strip() for line in body.splitlines() if line.strip())
    title = truncate(first, TITLE_MAX)
    alert = Alert(
        source="slack",
        kind="manual",
        title=title,
        description=body,
        fingerprint=stable_fingerprint("manual", channel, " ".join(body.lower().split())),
        payload={"text": body, "user": user, "channel": channel},
        slack=SlackRef(channel=channel, ts=None, user=user, team=team),
    )
    return InvestigateRequest(alerts=[alert], requested_by=requested_by)


def _unescape(text: str) -> str:
    """Slack escapes `& < >` in command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _maybe_json(body: str) -> Any | None:
    """Parsed JSON when the text is JSON (optionally fenced); None when it is prose."""
    fenced = _FENCE.match(body)
    candidate = fenced.group(1).strip() if fenced else body
    if not candidate.startswith(("{", "[")):
        return None
    for attempt in (candidate, _straighten_quotes(candidate)):
        try:
            return json.loads(attempt)
        except json.JSONDecodeError as err:
            error = err
    raise PayloadError(
        f"looks like JSON but is not valid: {error.msg} at line {error.lineno} column "
        f"{error.colno}; paste the alert payload unchanged (``` fences are fine)",
        "text",
    )


def _straighten_quotes(text: str) -> str:
    """Slack clients may turn `"` into typographic quotes when users type JSON by hand."""
    return text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))
