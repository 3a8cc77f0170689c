"""Operator actions on an incident: follow-up questions, cancel, re-run.

Follow-ups are stored as queued; a worker answers them once the session is no longer running
(so a question asked mid-investigation is answered after it), see `chains.worker`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chains.alert import SlackRef
from storage.repositories import chains_extra, sessions
from storage.repositories.followups import add_followup


async def submit_followup(
    db: Any,
    session_id: str,
    question: str,
    asked_by: str | None = None,
    slack_ref: SlackRef | None = None,
    *,
    masker: Any | None = None,
) -> str:
    """Store a question (masked) for the worker; returns the follow-up id."""
    if await sessions.get_session(db, session_id) is None:
        raise LookupError(f"no session {session_id}")
    text = masker.mask_text(question) if masker else question
    row = await add_followup(
        db,
        session_id,
        text,
        asked_by=asked_by,
        slack_channel=slack_ref.channel if slack_ref else None,
        slack_ts=slack_ref.ts if slack_ref else None,
        asked_at=_asked_at(slack_ref.ts if slack_ref else None),
    )
    return row.id


def _asked_at(slack_ts: str | None) -> datetime | None:
    """When the question was posted, from its Slack ts (Slack events may be handled out of
    order, so insert time is not the order people asked in). Never in the future."""
    try:
        posted = datetime.fromtimestamp(float(slack_ts or ""), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return min(posted, datetime.now(UTC))


async def request_cancel(db: Any, session_id: str, by: str | None = None) -> str | None:
    """Queued: cancelled at once. Running: flagged; its worker (any replica) stops it within
    about a second. Returns the status afterwards, None if the session does not exist."""
    return await sessions.request_cancel(db, session_id, by=by)


async def rerun(db: Any, session_id: str, by: str | None = None) -> str:
    """Queue a new investigation of the same alert with the same chain; returns its id."""
    new_id = await chains_extra.create_rerun(db, session_id, requested_by=by)
    if new_id is None:
        raise LookupError(f"no session {session_id}")
    return new_id
