"""Print a Slack thread (held by the devkit emulator) live, as a transcript that reads top-down.

Each message is printed when it appears; later edits and streamed text print only the lines
that are new for that message, under a short "updated" marker. The last line of a message
that is still changing is held back until it is complete, so streamed text does not print
half-sentences. Works without a TTY (CI logs, `tarsy demo | tee`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from devkit.slack.models import Message
from devkit.slack.render import message_body


def message_lines(msg: Message) -> list[str]:
    """What a person reads in one message: text, blocks, attachments (emulator rendering)."""
    lines: list[str] = []
    for chunk in message_body(msg, attachment_fallback=False):
        lines.extend(line.rstrip() for line in str(chunk).splitlines())
    return [line for line in lines if line.strip()]


@dataclass
class _Seen:
    printed: set[str] = field(default_factory=set)
    last: list[str] = field(default_factory=list)
    header_done: bool = False
    reactions: str = ""


class ThreadPrinter:
    """Follows one thread in a `SlackEmulator` and writes what changed to `out`."""

    def __init__(
        self,
        slack: Any,
        channel: str,
        thread_ts: str,
        out: TextIO,
        *,
        names: dict[str, str] | None = None,
    ) -> None:
        self.slack = slack
        self.channel = channel
        self.thread_ts = thread_ts
        self.out = out
        self.names = names or {}
        self._seen: dict[str, _Seen] = {}
        self._status = ""
        self._changes = 0

    # ------------------------------------------------------------------ rendering

    def _author(self, msg: Message) -> str:
        if msg.username:
            return msg.username
        if msg.user == getattr(self.slack, "bot_user_id", None):
            return "TARSy"
        if msg.user in self.names:
            return self.names[msg.user]
        users = getattr(getattr(self.slack, "workspace", None), "users", {})
        if msg.user in users and users[msg.user].get("name"):
            return str(users[msg.user]["name"])
        return msg.user or msg.bot_id or "?"

    def _write(self, line: str = "") -> None:
        self.out.write(line + "\n")

    def _emit(self, msg: Message, indent: str, final: bool) -> None:
        first = msg.ts not in self._seen
        seen = self._seen.setdefault(msg.ts, _Seen())
        lines = message_lines(msg)
        # Being streamed or edited right now: its last line may be half a sentence.
        changing = msg.streaming or (not first and lines != seen.last)
        seen.last = lines
        ready = lines if (final or not changing) else lines[:-1]
        new = [ln for ln in ready if ln not in seen.printed]
        clock = time.strftime("%H:%M:%S", time.localtime(float(msg.ts)))
        if new:
            if not seen.header_done:
                seen.header_done = True
                self._write(f"{indent}[{clock}] {self._author(msg)}:")
            else:
                self._write(f"{indent}  ~ {self._author(msg)}'s {clock} message, updated:")
            for ln in new:
                self._write(f"{indent}    {ln}")
                seen.printed.add(ln)
            self._changes += 1
        reactions = " ".join(f":{name}:" for name in msg.reactions)
        if reactions != seen.reactions:
            seen.reactions = reactions
            if seen.header_done:
                self._write(f"{indent}  (reactions on the {clock} message: {reactions or 'none'})")
                self._changes += 1

    def poll(self, final: bool = False) -> int:
        """Print what changed since the last call; returns how many updates were printed."""
        self._changes = 0
        msgs = self.slack.thread(self.channel, self.thread_ts)
        for i, msg in enumerate(msgs):
            self._emit(msg, "" if i == 0 else "    ", final)
        statuses = [
            s
            for s in self.slack.statuses
            if s["channel"] == self.channel and s["thread_ts"] == self.thread_ts
        ]
        status = statuses[-1]["status"] if statuses else ""
        if status != self._status:
            self._status = status
            if status:
                self._write(f"    (TARSy {status})")
        self.out.flush()
        return self._changes

    # ------------------------------------------------------------------ following

    async def follow_until(
        self,
        done: Callable[[], Any],
        timeout: float,  # noqa: ASYNC109
        *,
        what: str,
        tick: float = 0.25,
    ) -> Any:
        """Print changes until `done()` is truthy; raises TimeoutError naming `what`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.poll()
            result = done()
            if result:
                self.poll(final=True)
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.poll(final=True)
                raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
            # Batch bursts of edits: wake on the next state change, at most every `tick`.
            try:
                await self.slack.wait_for(lambda: done(), timeout=min(tick, remaining))
            except TimeoutError:
                pass
