"""What the Slack surfaces need from chains and storage, behind one small object.

The Bolt listeners, webhooks and the thread presenter call these methods instead of reaching
into `chains`/`storage` directly, so the surfaces stay thin and testable and the data-flow
rule (only storage writes SQL, only chains runs investigations) holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agents.events import EventSink
from bot.presenter.slack_sink import ThreadInfo
from chains.alert import Alert
from config.models import TarsyConfig

log = logging.getLogger(__name__)

MESSAGE_PURPOSES = {
    "status": "status",
    "root": "root",
    "stage": "stage",
    "final": "final",
    "note": "note",
    "answer": "answer",
    "warning": "warning",
}


class BotServices:
    def __init__(
        self,
        cfg: TarsyConfig,
        db: Any,
        masker: Any,
        emit: EventSink,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.db = db
        self.masker = masker
        self.emit = emit
        self.wake = wake or (lambda: None)

    # ------------------------------------------------------------------ alerts

    async def submit_alert(self, alert: Alert) -> Any:
        """Durably store the alert (dedupe / new session). Returns chains' IntakeResult."""
        from chains.intake import intake

        return await intake(self.db, alert, self.cfg, self.masker, emit=self.emit, wake=self.wake)

    # ------------------------------------------------------------------ Slack bookkeeping

    async def mark_event_seen(self, event_id: str) -> bool:
        from storage.repositories.slack import mark_event_seen

        return await mark_event_seen(self.db, event_id)

    async def session_for_thread(self, channel: str, thread_ts: str) -> Any:
        from storage.repositories.sessions import find_session_by_slack_thread

        return await find_session_by_slack_thread(self.db, channel, thread_ts)

    async def load_thread(self, session_id: str) -> ThreadInfo | None:
        from storage.repositories.sessions import get_session

        row = await get_session(self.db, session_id)
        if row is None:
            return None
        thread_ts, status_ts = row.slack_thread_ts, row.slack_status_ts
        alert_ts = thread_ts if thread_ts and thread_ts != status_ts else None
        return ThreadInfo(
            session_id=row.id,
            channel=row.slack_channel,
            thread_ts=thread_ts,
            status_ts=status_ts,
            alert_ts=alert_ts,
            user=row.slack_user,
            team=row.slack_team,
            title=row.alert_title or "",
            severity=row.alert_severity or "unknown",
            source=row.alert_source or "",
            status=row.status,
            occurrences=row.occurrences or 1,
            links=await self._links(row.id),
        )

    async def _links(self, session_id: str) -> list[dict[str, str]]:
        try:
            from storage.repositories.intake import list_alerts

            alerts = await list_alerts(self.db, session_id)
        except Exception:
            return []
        if not alerts:
            return []
        first = alerts[0]
        links = [dict(link) for link in (first.links or []) if isinstance(link, dict)]
        if first.runbook_url:
            links.append({"title": "Runbook", "url": first.runbook_url})
        return links[:5]

    async def save_thread(
        self, session_id: str, *, channel: str, thread_ts: str, status_ts: str
    ) -> None:
        from storage.repositories.sessions import update_session_slack

        await update_session_slack(
            self.db, session_id, channel=channel, thread_ts=thread_ts, status_ts=status_ts
        )

    async def record_message(
        self, session_id: str | None, *, channel: str, ts: str, thread_ts: str | None, purpose: str
    ) -> None:
        from storage.repositories.slack import record_slack_message

        await record_slack_message(
            self.db,
            channel=channel,
            ts=ts,
            thread_ts=thread_ts,
            purpose=MESSAGE_PURPOSES.get(purpose, "note"),
            session_id=session_id,
        )

    # ------------------------------------------------------------------ sessions

    async def resolve_id(self, text: str) -> str | None:
        from storage.repositories.sessions import resolve_session_id

        return await resolve_session_id(self.db, text.strip())

    async def get_session(self, session_id: str) -> Any:
        from storage.repositories.sessions import get_session

        return await get_session(self.db, session_id)

    async def recent_sessions(self, limit: int = 10) -> list[Any]:
        from storage.repositories.sessions import list_sessions

        return await list_sessions(self.db, limit=limit)

    async def count_by_status(self) -> dict[str, int]:
        from storage.repositories.sessions import count_by_status

        return await count_by_status(self.db)

    async def timeline(self, session_id: str) -> Any:
        from storage.repositories.timeline import get_timeline

        return await get_timeline(self.db, session_id)

    async def cancel(self, session_id: str, by: str | None) -> str | None:
        """Status after the request (None: unknown session)."""
        from chains.events import CancelRequested

        try:
            from chains.followups import request_cancel  # chains' version wakes workers
        except ImportError:
            from storage.repositories.sessions import request_cancel
        status = await request_cancel(self.db, session_id, by=by)
        if status is not None:
            from agents.events import EventContext

            await self.emit(
                CancelRequested(ctx=EventContext(session_id=session_id), requested_by=by)
            )
        return status

    async def rerun(self, session_id: str, by: str | None) -> str:
        from chains.followups import rerun

        new_id = await rerun(self.db, session_id, by=by)
        self.wake()
        return new_id

    async def submit_followup(
        self, session_id: str, question: str, asked_by: str | None, channel: str, ts: str
    ) -> str:
        from chains.alert import SlackRef
        from chains.followups import submit_followup

        fid = await submit_followup(
            self.db, session_id, question, asked_by, SlackRef(channel=channel, ts=ts, user=asked_by)
        )
        self.wake()
        return fid

    async def add_feedback(self, session_id: str, value: str, user: str | None) -> None:
        from storage.repositories.feedback import add_feedback

        await add_feedback(self.db, session_id, value, user=user)

    async def ping_db(self) -> tuple[bool, str]:
        await self.count_by_status()
        return True, self.db.describe() if hasattr(self.db, "describe") else "ok"


# ---------------------------------------------------------------------- row -> view helpers


def session_view(row: Any) -> Any:
    """An `IncidentView` of a stored session (for `/tarsy status`)."""
    from bot.presenter.blocks import IncidentView

    duration = None
    if row.started_at and row.finished_at:
        duration = (row.finished_at - row.started_at).total_seconds()
    status = {"running": "investigating"}.get(row.status, row.status)
    return IncidentView(
        session_id=row.id,
        title=row.alert_title or row.alert_kind or "Investigation",
        severity=row.alert_severity or "unknown",
        source=row.alert_source or "",
        status=status,
        duration_s=duration,
        occurrences=row.occurrences or 1,
        error=row.error,
    )


def timeline_dict(tl: Any) -> dict[str, Any]:
    """The shape `details_modal` renders, from a storage `Timeline`."""
    tools_by_stage: dict[str | None, list[dict[str, Any]]] = {}
    for t in tl.tool_calls:
        tools_by_stage.setdefault(t.stage_id, []).append(
            {
                "tool": t.tool,
                "arguments": t.arguments or {},
                "duration_ms": t.duration_ms,
                "error": t.error,
                "denied": t.denied,
            }
        )
    stages = []
    for st in tl.stages:
        result = st.result or {}
        stages.append(
            {
                "name": st.name,
                "status": st.status,
                "output": st.full_text or result.get("full_text") or result.get("summary") or "",
                "error": st.error,
                "tools": tools_by_stage.get(st.id, []),
            }
        )
    s = tl.session
    return {
        "session_id": s.id,
        "title": s.alert_title or "Investigation",
        "status": s.status,
        "stages": stages,
        "final": s.final_text or "",
    }
