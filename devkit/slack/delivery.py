"""Delivering events, slash commands and interactions to the app, with acks and retries.

Socket Mode when no Request URL is set (envelopes over the app's WebSocket), otherwise
signed HTTP POSTs like Slack's Events API / interactivity requests.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

import aiohttp

from devkit.slack.models import Delivery, DeliveryAttempt, Ephemeral, Response

if TYPE_CHECKING:
    from devkit.slack.emulator import SlackEmulator

log = logging.getLogger("devkit.slack.delivery")
MAX_RETRIES = 3
BACKLOG_MAX = 1000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class DeliveryManager:
    def __init__(self, emulator: SlackEmulator):
        self.emu = emulator
        self.request_url: str | None = None
        self.request_signing_secret: str | None = None
        self.retry_delay = 0.2
        self._by_envelope: dict[str, Delivery] = {}
        self._ack_events: dict[str, asyncio.Event] = {}
        self._backlog: collections.deque[Delivery] = collections.deque(maxlen=BACKLOG_MAX)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def submit(self, kind: str, payload: dict[str, Any]) -> Delivery:
        delivery = Delivery(id=f"D{secrets.token_hex(6)}", kind=kind, payload=payload)
        self.emu.workspace.deliveries.append(delivery)
        self._ack_events[delivery.id] = asyncio.Event()
        if self.request_url or self.emu.socket_mode.pick() is not None:
            self._start(delivery)
        else:
            self._backlog.append(delivery)
        self.emu.workspace.changed()
        return delivery

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.get_running_loop().create_task(self._run(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _flush_backlog(self) -> None:
        while self._backlog:
            self._start(self._backlog.popleft())

    async def wait_acked(self, delivery: Delivery, timeout: float) -> bool:  # noqa: ASYNC109
        try:
            await asyncio.wait_for(self._ack_events[delivery.id].wait(), timeout)
            return True
        except TimeoutError:
            return False

    # -- the retry loop ----------------------------------------------------------------------
    async def _run(self, delivery: Delivery) -> None:
        retries = MAX_RETRIES if delivery.kind == "events_api" else 0
        reason: str | None = None
        for attempt in range(retries + 1):
            if self.request_url:
                ok, reason = await self._http_attempt(delivery, attempt, reason)
            else:
                ok, reason = await self._socket_attempt(delivery, attempt, reason)
            if ok:
                return
            if attempt < retries and self.request_url:
                await asyncio.sleep(self.retry_delay)
        delivery.gave_up = True
        if delivery.kind == "slash_commands":
            self._show_timeout(delivery)
        self.emu.workspace.changed()

    def _show_timeout(self, delivery: Delivery) -> None:
        """What a user sees when the app never acks their command."""
        p = delivery.payload
        self.emu.workspace.ephemerals.append(
            Ephemeral(
                channel=str(p.get("channel_id")),
                user=str(p.get("user_id")),
                text=f'{p.get("command")} failed with the error "operation_timeout"',
                blocks=None,
                thread_ts=None,
                ts=self.emu.workspace.next_ts(),
                source="slack",
            )
        )

    async def _socket_attempt(
        self, delivery: Delivery, attempt: int, reason: str | None
    ) -> tuple[bool, str | None]:
        ws = self.emu.socket_mode.pick()
        while ws is None:
            await self.emu.socket_mode.connected.wait()
            ws = self.emu.socket_mode.pick()
        envelope_id = secrets.token_hex(16)
        envelope = {
            "envelope_id": envelope_id,
            "payload": delivery.payload,
            "type": delivery.kind,
            "accepts_response_payload": delivery.kind != "events_api",
            "retry_attempt": attempt,
            "retry_reason": reason or "",
        }
        self._by_envelope[envelope_id] = delivery
        delivery.attempts.append(
            DeliveryAttempt(attempt, time.time(), "socket_mode", envelope_id, retry_reason=reason)
        )
        self.emu.workspace.changed()
        if not await self.emu.socket_mode.send(ws, envelope):
            delivery.attempts[-1].error = "send_failed"
            return False, "timeout"
        if await self.wait_acked(delivery, self.emu.ack_timeout):
            return True, None
        delivery.attempts[-1].error = "timeout"
        self.emu.workspace.changed()
        return False, "timeout"

    def on_socket_ack(self, envelope_id: str, payload: dict[str, Any]) -> None:
        delivery = self._by_envelope.get(envelope_id)
        if delivery is None or delivery.acked:
            return
        self._acked(delivery, payload)

    def _acked(self, delivery: Delivery, payload: dict[str, Any]) -> None:
        delivery.acked = True
        delivery.ack_payload = payload
        if payload:
            self._record_ack(delivery, payload)
        self._ack_events[delivery.id].set()
        self.emu.workspace.changed()

    def _record_ack(self, delivery: Delivery, payload: dict[str, Any]) -> None:
        p = delivery.payload
        if delivery.kind == "slash_commands":
            source, channel, user = "slash_command", p.get("channel_id"), p.get("user_id")
        else:
            source = str(p.get("type"))
            channel = (p.get("channel") or {}).get("id")
            user = (p.get("user") or {}).get("id")
        self.emu.workspace.responses.append(Response("ack", source, payload, channel, user))
        if source == "slash_command" and (payload.get("text") or payload.get("blocks")):
            self.emu._show_response(payload, channel, user)

    # -- HTTP mode ---------------------------------------------------------------------------
    def _http_body(self, delivery: Delivery) -> tuple[bytes, str]:
        if delivery.kind == "events_api":
            return json.dumps(delivery.payload).encode(), "application/json"
        if delivery.kind == "slash_commands":
            form = {k: str(v) for k, v in delivery.payload.items()}
            return urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode({"payload": json.dumps(delivery.payload)}).encode()
        return body, "application/x-www-form-urlencoded"

    async def _http_attempt(
        self, delivery: Delivery, attempt: int, reason: str | None
    ) -> tuple[bool, str | None]:
        assert self.request_url
        if self._http is None:
            self._http = aiohttp.ClientSession()
        body, content_type = self._http_body(delivery)
        ts = str(int(time.time()))
        secret = self.request_signing_secret or self.emu.signing_secret
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if attempt:
            headers["X-Slack-Retry-Num"] = str(attempt)
            headers["X-Slack-Retry-Reason"] = reason or "http_error"
        record = DeliveryAttempt(attempt, time.time(), "http", retry_reason=reason)
        delivery.attempts.append(record)
        try:
            async with self._http.post(
                self.request_url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.emu.ack_timeout),
            ) as resp:
                record.status = resp.status
                record.body = await resp.text()
        except TimeoutError:
            record.error = "timeout"
            self.emu.workspace.changed()
            return False, "http_timeout"
        except aiohttp.ClientError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.emu.workspace.changed()
            return False, "http_error"
        if 200 <= record.status < 300:
            payload: dict[str, Any] = {}
            if record.body:
                try:
                    parsed = json.loads(record.body)
                    payload = parsed if isinstance(parsed, dict) else {"text": record.body}
                except json.JSONDecodeError:
                    payload = {"text": record.body}
            self._acked(delivery, payload)
            return True, None
        self.emu.workspace.changed()
        return False, "http_error"
