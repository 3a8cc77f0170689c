"""Follow-up questions asked in an incident thread and their answers.

Status: queued -> answering -> answered | failed. `start_answering` is a guarded transition so
only one worker answers a question.
"""

from __future__ import annotations

from sqlalchemy import select, update

from storage.engine import Database
from storage.models import FollowupRow, SessionEventRow, utcnow


async def add_followup(
    db: Database,
    session_id: str,
    question: str,
    *,
    asked_by: str | None = None,
    slack_channel: str | None = None,
    slack_ts: str | None = None,
) -> FollowupRow:
    now = utcnow()
    row = FollowupRow(
        session_id=session_id,
        question=question,
        asked_by=asked_by,
        slack_channel=slack_channel,
        slack_ts=slack_ts,
        status="queued",
        asked_at=now,
    )
    async with db.write() as s:
        s.add(row)
        await s.flush()
        s.add(
            SessionEventRow(
                session_id=session_id,
                type="followup",
                message=f"question from {asked_by or 'someone'}",
                data={"followup_id": row.id},
                at=now,
            )
        )
    return row


async def start_answering(db: Database, followup_id: str) -> bool:
    """queued -> answering; False if someone else already took it (or it does not exist)."""
    async with db.write() as s:
        res = await s.execute(
            update(FollowupRow)
            .where(FollowupRow.id == followup_id, FollowupRow.status == "queued")
            .values(status="answering")
        )
        return res.rowcount == 1


async def finish_followup(
    db: Database,
    followup_id: str,
    *,
    answer: str | None = None,
    error: str | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> None:
    """Record the answer (status answered) or the error (status failed)."""
    async with db.write() as s:
        await s.execute(
            update(FollowupRow)
            .where(FollowupRow.id == followup_id)
            .values(
                status="failed" if error else "answered",
                answer=answer,
                error=error,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                answered_at=utcnow(),
            )
        )


async def get_followup(db: Database, followup_id: str) -> FollowupRow | None:
    async with db.read() as s:
        return await s.get(FollowupRow, followup_id)


async def list_followups(
    db: Database, session_id: str | None = None, *, status: str | None = None
) -> list[FollowupRow]:
    q = select(FollowupRow)
    if session_id is not None:
        q = q.where(FollowupRow.session_id == session_id)
    if status is not None:
        q = q.where(FollowupRow.status == status)
    async with db.read() as s:
        return list(await s.scalars(q.order_by(FollowupRow.asked_at, FollowupRow.id)))
