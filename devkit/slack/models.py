"""In-memory workspace state of the Slack emulator: messages, calls, deliveries."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Edit:
    """A prior version of a message, kept when `chat.update` replaces it."""

    text: str
    blocks: list[dict] | None
    attachments: list[dict] | None
    replaced_at: float


@dataclass
class Message:
    """One Slack message as the workspace holds it (current state plus history)."""

    channel: str
    ts: str
    text: str = ""
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    username: str | None = None
    subtype: str | None = None
    blocks: list[dict] | None = None
    attachments: list[dict] | None = None
    thread_ts: str | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edits: list[Edit] = field(default_factory=list)
    stream_chunks: list[dict] = field(default_factory=list)
    streaming: bool = False
    deleted: bool = False
    metadata: dict | None = None
    reply_users: list[str] = field(default_factory=list)
    reply_count: int = 0
    latest_reply: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Render as Slack's Web API / event message object."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.subtype:
            out["subtype"] = self.subtype
        for key in ("user", "bot_id", "app_id", "username", "blocks", "attachments", "metadata"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.bot_id and self.app_id:
            out["bot_profile"] = {"id": self.bot_id, "app_id": self.app_id, "name": "tarsy"}
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.reply_count:
            out["reply_count"] = self.reply_count
            out["reply_users_count"] = len(self.reply_users)
            out["reply_users"] = list(self.reply_users)
            out["latest_reply"] = self.latest_reply
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if self.edits:
            edited_at = self.edits[-1].replaced_at
            out["edited"] = {"user": self.user or "", "ts": f"{edited_at:.6f}"}
        return out

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Message:
        data = dict(data)
        data["edits"] = [Edit(**e) for e in data.get("edits", [])]
        return cls(**data)


@dataclass
class ApiCall:
    """One Web API call as the emulator saw it (including rejected ones)."""

    method: str
    params: dict[str, Any]
    at: float
    status: int
    ok: bool
    error: str | None = None


@dataclass
class Response:
    """What the app showed a user: an ack payload or a `response_url` post."""

    kind: str  # "ack" | "response_url"
    source: str  # "slash_command" | "block_actions" | "message_action" | "view_submission"
    payload: dict[str, Any]
    channel: str | None
    user: str | None
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or "")

    @property
    def response_type(self) -> str:
        return str(self.payload.get("response_type") or "ephemeral")


@dataclass
class Ephemeral:
    """A message only one user sees (`chat.postEphemeral` or an ephemeral response)."""

    channel: str
    user: str
    text: str
    blocks: list[dict] | None
    thread_ts: str | None
    ts: str
    source: str = "chat.postEphemeral"


@dataclass
class DeliveryAttempt:
    """One try at handing an envelope/request to the app."""

    attempt: int
    at: float
    transport: str  # "socket_mode" | "http"
    envelope_id: str | None = None
    status: int | None = None  # HTTP status (HTTP mode)
    body: str | None = None  # HTTP response body (HTTP mode)
    error: str | None = None  # e.g. "timeout", "connection refused"
    retry_reason: str | None = None


@dataclass
class Delivery:
    """Something Slack sends to the app: an event, slash command or interaction."""

    id: str
    kind: str  # "events_api" | "slash_commands" | "interactive"
    payload: dict[str, Any]
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    acked: bool = False
    ack_payload: dict[str, Any] | None = None
    gave_up: bool = False

    @property
    def event_id(self) -> str | None:
        return self.payload.get("event_id")

    @property
    def statuses(self) -> list[int | None]:
        return [a.status for a in self.attempts]
