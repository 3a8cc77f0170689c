"""The Slack thread presenter: an event-bus sink that turns one investigation into one thread.

Model: each session has a `SessionPresenter` (own queue + task, so one slow thread never
delays another). Events are applied to an in-memory picture of the thread (status card,
stage messages, notes, final message, follow-up answers, reactions); then `_sync` makes Slack
match the picture with as few calls as possible. Events that pile up while a call is paced
are applied together, so fast stages cost one post instead of a post and many edits.

Thread layout: for an alert posted in Slack (or a shortcut on a message) the thread is that
message's thread and the status card is TARSy's first reply; otherwise the status card IS the
thread root. Stage text is streamed (`chat.startStream/appendStream/stopStream`) when a person
asked for the run (slash command / shortcut), else posted and edited.

Nothing here reads Slack history: thread state is loaded from the database on first sight of
a session (e.g. after a restart) via the `PresenterStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError

from agents.events import (
    AgentWarning,
    Event,
    LlmTurnStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from bot.presenter import blocks as ui
from config.models import SlackSettings

log = logging.getLogger(__name__)

STATUS_TEXT = "is investigating…"
STATUS_REFRESH_S = 90.0  # Slack clears the status after 2 minutes
IDLE_EXIT_S = 300.0
STAGE_POST_DELAY_S = 2.0  # a stage shorter than this is posted once, finished
LAST_STAGE_HOLD_S = 1.0  # a finished last stage waits this long to be folded into the final


@dataclass
class ThreadInfo:
    """What the database knows about a session's Slack thread and alert."""

    session_id: str
    channel: str | None
    thread_ts: str | None = None  # thread root (alert message, or our status card)
    status_ts: str | None = None  # the status card message
    alert_ts: str | None = None  # alert message ts when the alert itself is in Slack
    user: str | None = None
    team: str | None = None
    title: str = ""
    severity: str = "unknown"
    source: str = ""
    status: str = "queued"
    occurrences: int = 1
    links: list[dict[str, str]] = field(default_factory=list)


class PresenterStore(Protocol):
    async def load_thread(self, session_id: str) -> ThreadInfo | None: ...

    async def save_thread(
        self, session_id: str, *, channel: str, thread_ts: str, status_ts: str
    ) -> None: ...

    async def record_message(
        self, session_id: str | None, *, channel: str, ts: str, thread_ts: str | None, purpose: str
    ) -> None: ...


@dataclass
class _Item:
    """One message of ours in the thread."""

    key: str
    purpose: str
    text: str = ""
    blocks: list[dict] | None = None
    ts: str | None = None
    sent: str | None = None  # fingerprint of what Slack shows
    ready: bool = False  # has content worth posting
    post_after: float = 0.0  # monotonic time before which a new message waits (coalescing)
    # streaming
    stream_user: str | None = None
    stream: Any = None
    stream_text: str = ""  # full text meant for the stream
    streamed: int = 0  # chars already appended
    done: bool = False
    stopped: bool = False
    gave_up: bool = False  # Slack refused the post (error already logged): not retried

    def pending(self) -> bool:
        """Still to appear in the thread."""
        return self.ts is None and self.stream is None and not self.gave_up

    def fingerprint(self) -> str:
        return json.dumps([self.text, self.blocks], sort_keys=True, default=str)


@dataclass
class _Stage:
    index: int
    total: int
    name: str
    tools: list[str] = field(default_factory=list)
    pending_tools: dict[str, tuple[str, dict]] = field(default_factory=dict)
    text: str = ""
    done: bool = False
    status: str = "running"
    error: str | None = None


class SessionPresenter:
    def __init__(self, owner: SlackPresenter, session_id: str) -> None:
        self.owner = owner
        self.session_id = session_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.info: ThreadInfo | None = None
        self.loaded = False
        self.view: dict[str, Any] = {}
        self.items: dict[str, _Item] = {}
        self.order: list[str] = []
        self.stages: dict[int, _Stage] = {}
        self.current_stage: int | None = None
        self.followup: str | None = None  # followup id being answered
        self.followup_text: dict[str, str] = {}
        self.occurrence_noted = False
        self.reactions_applied: set[str] = set()
        self.status_set_at: float | None = None
        self.replied_since_status = False  # Slack clears the status when we reply
        self.running = False
        self.finished = False
        self.task: asyncio.Task | None = None

    # ------------------------------------------------------------------ plumbing

    def start(self) -> None:
        self.task = asyncio.create_task(self._loop(), name=f"slack-thread:{self.session_id}")

    async def _loop(self) -> None:
        while True:
            timeout = STATUS_REFRESH_S if self.running else IDLE_EXIT_S
            waiting = [
                i.post_after
                for i in self.items.values()
                if i.ts is None and i.stream is None and i.post_after
            ]
            if waiting:
                timeout = max(0.01, min(waiting) - time.monotonic())
            try:
                first = await asyncio.wait_for(self.queue.get(), timeout)
            except TimeoutError:
                if self.running or waiting:
                    await self._sync()  # due posts, assistant status refresh
                    continue
                self.owner._forget(self)
                return
            batch = [first]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                for ev in batch:
                    await self._apply(ev)
                await self._sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("slack presenter failed for session %s", self.session_id)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _ensure_loaded(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        try:
            self.info = await self.owner.store.load_thread(self.session_id)
        except Exception:
            log.exception("could not load Slack thread state of session %s", self.session_id)
            self.info = None
        if self.info is not None:
            self.view.update(
                session_id=self.session_id,
                title=self.info.title,
                severity=self.info.severity,
                source=self.info.source,
                status=_view_status(self.info.status),
                occurrences=self.info.occurrences,
                links=list(self.info.links),
            )
            if self.info.status_ts:
                # The card exists already (restart): edit it from now on.
                card = self._item("card", "status")
                card.ts = self.info.status_ts
                card.ready = True

    def _item(self, key: str, purpose: str) -> _Item:
        if key not in self.items:
            self.items[key] = _Item(key=key, purpose=purpose)
            self.order.append(key)
        return self.items[key]

    # ------------------------------------------------------------------ events -> picture

    async def _apply(self, ev: Event) -> None:
        from chains import events as ce

        await self._ensure_loaded()
        if self.info is None or not self.info.channel:
            return  # not a Slack session (CLI) or unknown
        if isinstance(ev, ce.IncidentCreated):
            self.view.update(title=ev.title, severity=ev.severity, source=ev.source)
            self.view.setdefault("status", "queued")
        elif isinstance(ev, ce.OccurrenceRecorded):
            self.view["occurrences"] = ev.occurrences
            if not self.occurrence_noted:
                self.occurrence_noted = True
                note = self._item("note:occurrence", "note")
                note.text = (
                    "🔁 This alert fired again. I'm keeping it in this thread; the status card "
                    "shows how often it has been seen."
                )
                note.ready = note.done = True
        elif isinstance(ev, ce.IncidentResolved):
            note = self._item("note:resolved", "note")
            note.text = "✅ The alert resolved" + (f": {ev.message}" if ev.message else ".")
            note.ready = note.done = True
        elif isinstance(ev, ce.SessionStarted):
            self.running = True
            self.view.update(status="investigating", stage_total=len(ev.stage_names))
        elif isinstance(ev, ce.StageStarted):
            self.current_stage = ev.index
            self.stages[ev.index] = _Stage(ev.index, ev.total, ev.name)
            self.view.update(
                status="investigating",
                stage_index=ev.index + 1,
                stage_total=ev.total,
                stage_name=ev.name,
            )
            item = self._item(f"stage:{ev.index}", "stage")
            item.stream_user = self.info.user if self.owner.streaming else None
            self._render_stage(self.stages[ev.index])
            # A fast stage is posted once, finished; a slow one appears after one interval.
            item.post_after = time.monotonic() + max(
                self.owner.settings.edit_interval_s, STAGE_POST_DELAY_S
            )
            if item.stream_user:
                item.stream_text = f"*Stage {ev.index + 1}/{ev.total} — {ev.name}*\n"
        elif isinstance(ev, ToolCallStarted):
            st = self._stage_of(ev)
            if st is not None:
                st.pending_tools[ev.call_id] = (ev.tool, ev.arguments)
                self._render_stage(st)
        elif isinstance(ev, ToolCallFinished):
            st = self._stage_of(ev)
            if st is not None:
                st.pending_tools.pop(ev.call_id, None)
                st.tools.append(
                    ui.tool_line(ev.tool, ev.arguments, ev.duration_ms, ev.error, ev.denied)
                )
                self._render_stage(st, tool_done=st.tools[-1])
        elif isinstance(ev, LlmTurnStarted):
            if ev.purpose == "chat" and self.followup:
                pass
        elif isinstance(ev, TextDelta):
            if ev.ctx.stage_index is None and self.followup:
                self._followup_delta(ev.text)
            else:
                st = self._stage_of(ev)
                if st is not None:
                    st.text += ev.text
                    self._render_stage(st, delta=ev.text)
        elif isinstance(ev, ce.StageFinished):
            st = self.stages.get(ev.index) or _Stage(ev.index, ev.total, ev.name)
            self.stages[ev.index] = st
            st.done, st.status, st.error = True, ev.status, ev.error
            result = ev.result or {}
            if not st.text.strip():
                st.text = result.get("full_text") or result.get("summary") or ""
            self._render_stage(st)
            item = self._item(f"stage:{ev.index}", "stage")
            item.done = True
            last = ev.index == ev.total - 1 and ev.status == "completed"
            # The last stage's text IS the final recommendation: if it has not been posted
            # yet, wait briefly for SessionFinished and fold it into the final message.
            item.post_after = time.monotonic() + LAST_STAGE_HOLD_S if last else 0.0
        elif isinstance(ev, ce.SessionFinished):
            self.running = False
            self.finished = True
            self.view.update(
                status=_view_status(ev.status),
                likely_cause=ev.likely_cause,
                confidence=ev.confidence,
                next_steps=list(ev.next_steps)[:3],
                duration_s=ev.duration_s,
                tokens_in=ev.input_tokens,
                tokens_out=ev.output_tokens,
                error=ev.error,
            )
            for key in self.order:  # a stage interrupted mid-way still ends its message
                if key.startswith("stage:"):
                    self.items[key].done = True
            folded = self._fold_last_stage(ev.status)
            final = self._item("final", "final")
            summary = (ev.executive_summary or "").strip()
            if summary and summary in (ev.final_text or ""):
                summary = ""  # the recommendation already says it
            final.text, final.blocks = _as_message(
                ui.final_message(self._view(), ev.final_text or "", summary)
            )
            if folded and final.blocks:
                # just above the context line and the buttons
                final.blocks.insert(max(0, len(final.blocks) - 2), folded)
            final.ready = final.done = True
        elif isinstance(ev, ce.FollowupStarted):
            self.followup = ev.followup_id
            self.followup_text[ev.followup_id] = ""
            item = self._item(f"followup:{ev.followup_id}", "answer")
            item.stream_user = ev.asked_by if self.owner.streaming else None
            item.text = "💬 _Looking into it…_"
            item.ready = True
        elif isinstance(ev, ce.FollowupFinished):
            item = self._item(f"followup:{ev.followup_id}", "answer")
            answer = ev.answer or self.followup_text.get(ev.followup_id, "")
            if ev.status != "answered":
                answer = f"❌ I could not answer that: {ev.error or 'unknown error'}"
            item.text = _fallback(answer)
            item.blocks = ui.followup_answer_blocks(answer)
            item.stream_text = answer
            item.ready = item.done = True
            if self.followup == ev.followup_id:
                self.followup = None
        elif isinstance(ev, ce.CancelRequested):
            self.view["cancel_requested"] = True
        elif isinstance(ev, AgentWarning) and ev.code == "mcp_unhealthy":
            # Tools that could not run weaken the answer: say so on the status card (an edit,
            # not a new message). Other warnings and notes stay in the audit trail only.
            server = f"`{ev.server}`" if ev.server else "a tool server"
            note = f"⚠️ {server} was unavailable: some evidence could not be checked"
            notes = self.view.setdefault("warnings", [])
            if note not in notes:
                notes.append(note)
        elif isinstance(ev, AgentWarning | ce.SessionNote):
            pass  # kept in the audit trail; the thread stays short

    def _fold_last_stage(self, status: str) -> dict[str, Any] | None:
        """Drop the last stage's own message if it is not in Slack yet; return a one-line
        context block (stage title, tools) for the final message, which carries its text."""
        if status != "completed" or not self.stages:
            return None
        st = self.stages[max(self.stages)]
        item = self.items.get(f"stage:{st.index}")
        if (
            item is None
            or st.index != st.total - 1
            or st.status != "completed"
            or item.ts is not None
            or item.stream is not None
        ):
            return None
        del self.items[item.key]
        self.order.remove(item.key)
        return _folded_stage_block(st.name, st.index + 1, st.total, st.tools)

    def _stage_of(self, ev: Event) -> _Stage | None:
        idx = ev.ctx.stage_index if ev.ctx.stage_index is not None else self.current_stage
        return None if idx is None else self.stages.get(idx)

    def _render_stage(self, st: _Stage, delta: str = "", tool_done: str = "") -> None:
        item = self._item(f"stage:{st.index}", "stage")
        running = [ui.tool_line(t, a, None, None, False) for t, a in st.pending_tools.values()]
        item.text, item.blocks = _as_message(
            ui.stage_message(
                st.name,
                st.index + 1,
                st.total,
                st.text,
                st.tools + running,
                st.done,
                st.error if st.status != "completed" else None,
            )
        )
        if item.stream_user:
            if tool_done:
                item.stream_text += f"\n{tool_done}\n"
            item.stream_text += delta
        item.ready = True

    def _followup_delta(self, text: str) -> None:
        fid = self.followup
        if fid is None:
            return
        self.followup_text[fid] = self.followup_text.get(fid, "") + text
        item = self._item(f"followup:{fid}", "answer")
        item.stream_text += text
        item.text = _fallback(self.followup_text[fid])
        item.blocks = ui.followup_answer_blocks(self.followup_text[fid])

    def _view(self) -> Any:
        return ui.IncidentView(**_view_kwargs(self.view, self.session_id))

    # ------------------------------------------------------------------ picture -> Slack

    async def _sync(self) -> None:
        info = self.info
        if info is None or not info.channel:
            return
        owner = self.owner
        card = self._item("card", "status")
        card.text, card.blocks = _as_message(ui.status_card(self._view()))
        card.ready = True
        if card.ts is None:
            # Root card (webhook / slash command) or the first reply under the alert message.
            ts = await owner.post(info.channel, info.alert_ts, card, self.session_id, priority=True)
            if ts is None:
                return
            info.thread_ts = info.alert_ts or ts
            info.status_ts = ts
            await owner.save_thread(self.session_id, info.channel, info.thread_ts, ts)
        elif card.sent != card.fingerprint():
            owner.update(info.channel, card)
        if info.thread_ts is None:
            info.thread_ts = info.alert_ts or card.ts
        if self.running:
            await self._sync_status()  # before the stage messages: "is investigating…"
        for key in self.order:
            item = self.items[key]
            if key == "card" or not item.ready:
                continue
            if item.ts is None and item.stream is None and time.monotonic() < item.post_after:
                break  # keep thread order: later items wait for this one
            if item.stream_user:
                await self._sync_stream(item)
            elif item.ts is None and not item.gave_up:
                if await owner.post(info.channel, info.thread_ts, item, self.session_id):
                    self.replied_since_status = True
                else:
                    item.gave_up = True
            elif item.sent != item.fingerprint():
                owner.update(info.channel, item)
        # after the posts: ✅/❌ appear with (not before) the recommendation
        await self._sync_reactions()
        # "is investigating…" between updates: a reply cleared it, so set it again while
        # running; at the end it is cleared (by the final reply, or explicitly).
        await self._sync_status()
        if self.finished and not self.running:
            await owner.writer_flush()

    async def _sync_stream(self, item: _Item) -> None:
        info = self.info
        assert info is not None and info.thread_ts is not None
        owner = self.owner
        if item.stopped:
            return
        try:
            if item.stream is None:
                item.stream = await owner.client.chat_stream(
                    channel=info.channel,
                    thread_ts=info.thread_ts,
                    recipient_user_id=item.stream_user,
                    recipient_team_id=info.team or owner.team_id,
                    buffer_size=64,
                )
            pending = item.stream_text[item.streamed :]
            if item.done:
                item.streamed = len(item.stream_text)
                pending += self._stream_ending(item)
                # No `blocks=` here: Slack renders stop-blocks BELOW the streamed text, so the
                # message blocks (the same content) would show everything twice.
                await item.stream.stop(markdown_text=pending or None)
                item.stopped = True
                self.replied_since_status = True
                item.ts = item.stream.ts if hasattr(item.stream, "ts") else None
                if item.ts:
                    await owner.record(
                        self.session_id, info.channel, item.ts, info.thread_ts, item.purpose
                    )
            elif pending:
                item.streamed = len(item.stream_text)
                await item.stream.append(markdown_text=pending)
        except SlackApiError as e:
            # Streaming is not available (scopes, workspace, emulator): fall back to post+edit.
            log.warning("streaming failed (%s); posting instead", e.response.get("error"))
            item.stream_user = None
            item.stream = None
            if item.ts is None:
                await owner.post(info.channel, info.thread_ts, item, self.session_id)

    def _stream_ending(self, item: _Item) -> str:
        """What a finished streamed stage still has to say: its failure, if it failed."""
        if not item.key.startswith("stage:"):
            return ""
        st = self.stages.get(int(item.key.split(":", 1)[1]))
        if st is None or st.status == "completed" or not st.error:
            return ""
        from bot.presenter.text import neutralize_mentions

        error = " ".join(st.error.split())[:500]
        return f"\n\n❌ {neutralize_mentions(error)}"

    async def _sync_reactions(self) -> None:
        info = self.info
        owner = self.owner
        if info is None or not info.alert_ts or not owner.settings.react_on_alerts:
            return
        names = owner.settings.reactions
        status = self.view.get("status", "queued")
        final = self.items.get("final")
        if final is not None and final.pending():
            return  # keep 👀 until the final message is in the thread
        want: set[str] = set()
        if status in ("investigating", "queued") and (self.running or status == "investigating"):
            want.add(names.get("investigating", ""))
        elif status == "completed":
            want.add(names.get("done", ""))
        elif status in ("failed", "timed_out", "cancelled"):
            want.add(names.get("failed", ""))
        want.discard("")
        for name in sorted(want - self.reactions_applied):  # add first: never no reaction
            await owner.react(info.channel, info.alert_ts, name, add=True)
            self.reactions_applied.add(name)
        for name in sorted(self.reactions_applied - want):
            await owner.react(info.channel, info.alert_ts, name, add=False)
            self.reactions_applied.discard(name)

    async def _sync_status(self) -> None:
        info = self.info
        if info is None or not info.thread_ts:
            return
        now = time.monotonic()
        if self.running:
            # Set it again when Slack cleared it (our reply) or it is about to expire.
            stale = self.status_set_at is None or now - self.status_set_at >= STATUS_REFRESH_S
            if stale or self.replied_since_status:
                self.status_set_at = now
                self.replied_since_status = False
                await self.owner.set_status(info.channel, info.thread_ts, STATUS_TEXT)
        elif self.status_set_at is not None:
            final = self.items.get("final")
            if final is not None and final.pending():
                return  # the final message is still to come and will clear it
            self.status_set_at = None
            if not self.replied_since_status:
                # Slack clears the status itself when the app replies in the thread; an
                # explicit clear is only needed when nothing was posted since it was set.
                await self.owner.set_status(info.channel, info.thread_ts, "")


class SlackPresenter:
    """The bus sink. `await presenter(event)` queues it for the session's own task."""

    def __init__(
        self,
        client: Any,
        writer: Any,
        store: PresenterStore,
        settings: SlackSettings,
        *,
        streaming: bool = True,
        team_id: str | None = None,
    ) -> None:
        self.client = client
        self.writer = writer
        self.store = store
        self.settings = settings
        self.streaming = streaming
        self.team_id = team_id
        self.sessions: dict[str, SessionPresenter] = {}

    async def __call__(self, event: Event) -> None:
        sid = event.ctx.session_id
        if not sid:
            return
        sp = self.sessions.get(sid)
        if sp is None:
            sp = self.sessions[sid] = SessionPresenter(self, sid)
            sp.start()
        sp.queue.put_nowait(event)

    def _forget(self, sp: SessionPresenter) -> None:
        if self.sessions.get(sp.session_id) is sp:
            del self.sessions[sp.session_id]

    async def drain(self, wait_s: float = 10.0) -> bool:
        """Wait until every queued event is reflected in Slack (and the writer flushed)."""
        try:
            async with asyncio.timeout(wait_s):
                for sp in list(self.sessions.values()):
                    await sp.queue.join()
                await self.writer_flush()
            return True
        except TimeoutError:
            return False

    async def aclose(self, wait_s: float = 10.0) -> None:
        await self.drain(wait_s)
        for sp in list(self.sessions.values()):
            if sp.task:
                sp.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sp.task
        self.sessions.clear()

    # -------------------------------------------------------------- Slack operations

    async def post(
        self,
        channel: str,
        thread_ts: str | None,
        item: _Item,
        session_id: str | None,
        *,
        priority: bool = False,
    ) -> str | None:
        fp = item.fingerprint()
        try:
            ts = await self.writer.post(
                channel, thread_ts, item.text, item.blocks, priority=priority
            )
        except Exception:
            log.exception(
                "posting %s of session %s to %s failed", item.purpose, session_id, channel
            )
            return None
        if not ts:
            return None
        item.ts = ts
        item.sent = fp
        await self.record(session_id, channel, ts, thread_ts, item.purpose)
        return ts

    def update(self, channel: str, item: _Item) -> None:
        item.sent = item.fingerprint()
        self.writer.update(channel, item.ts, item.text, item.blocks)

    async def writer_flush(self) -> None:
        with contextlib.suppress(Exception):
            await self.writer.flush()

    async def record(
        self, session_id: str | None, channel: str, ts: str, thread_ts: str | None, purpose: str
    ) -> None:
        try:
            await self.store.record_message(
                session_id, channel=channel, ts=ts, thread_ts=thread_ts, purpose=purpose
            )
        except Exception:
            log.exception("storing Slack message %s/%s failed", channel, ts)

    async def save_thread(self, session_id: str, channel: str, thread_ts: str, status_ts: str):
        try:
            await self.store.save_thread(
                session_id, channel=channel, thread_ts=thread_ts, status_ts=status_ts
            )
        except Exception:
            log.exception("storing the Slack thread of session %s failed", session_id)

    async def react(self, channel: str, ts: str, name: str, *, add: bool) -> None:
        method = self.client.reactions_add if add else self.client.reactions_remove
        try:
            await method(channel=channel, timestamp=ts, name=name)
        except SlackApiError as e:
            code = e.response.get("error")
            if code not in ("already_reacted", "no_reaction"):
                log.warning(
                    "reactions.%s %s on %s failed: %s",
                    "add" if add else "remove",
                    name,
                    channel,
                    code,
                )

    async def set_status(self, channel: str, thread_ts: str, status: str) -> None:
        try:
            await self.client.assistant_threads_setStatus(
                channel_id=channel, thread_ts=thread_ts, status=status
            )
        except SlackApiError as e:
            log.debug("assistant.threads.setStatus failed: %s", e.response.get("error"))
        except Exception:
            log.debug("assistant.threads.setStatus failed", exc_info=True)


# ---------------------------------------------------------------------- helpers


def _as_message(rendered: Any) -> tuple[str, list[dict] | None]:
    """Renderers return `(text, blocks)`, a blocks list, or plain text."""
    if isinstance(rendered, tuple):
        text, blocks = rendered
        return text, blocks
    if isinstance(rendered, list):
        return "", rendered
    return str(rendered), None


def _folded_stage_block(name: str, number: int, total: int, tools: list[str]) -> dict[str, Any]:
    """Context line standing in for a last stage whose text the final message carries."""
    from bot.presenter.text import neutralize_mentions, truncate

    title = " ".join((name or "").split())[:80]
    line = f"*Stage {number}/{total} — {neutralize_mentions(title)}* ✅"
    if tools:
        shown = tools[-5:]
        more = f"_… {len(tools) - len(shown)} earlier tool calls_\n" if len(tools) > 5 else ""
        line += "\n" + more + "\n".join(shown)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(line, 2900)}]}


def _fallback(markdown: str) -> str:
    from bot.presenter.text import neutralize_mentions, truncate

    return truncate(neutralize_mentions(markdown or ""), 2900)


def _view_status(status: str) -> str:
    return {"running": "investigating", "pending": "queued"}.get(status, status)


def _view_kwargs(view: dict[str, Any], session_id: str) -> dict[str, Any]:
    """Only the fields `IncidentView` knows (its definition lives in blocks.py)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(ui.IncidentView)}
    data = dict(view)
    data["session_id"] = session_id
    data.setdefault("title", "Investigation")
    return {k: v for k, v in data.items() if k in names}
