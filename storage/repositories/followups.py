"""Follow-up questions asked in an incident thread and their answers.

Status: queued -> answering -> answered | failed. `start_answering` is a guarded transition so
only one worker answers a question; it takes a lease that the answering worker renews
(`renew_lease`). `requeue_expired` (the lease reaper) puts a question whose worker died back
to queued, so it is answered by another worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

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
    asked_at: datetime | None = None,
) -> FollowupRow:
    now = utcnow()
    row = FollowupRow(
        session_id=session_id,
        question=question,
        asked_by=asked_by,
        slack_channel=slack_channel,
        slack_ts=slack_ts,
        status="queued",
        asked_at=asked_at or now,
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


async def start_answering(
    db: Database, followup_id: str, *, owner: str | None = None, lease_seconds: float = 60.0
) -> bool:
    """queued -> answering; False if someone else already took it (or it does not exist)."""
    async with db.write() as s:
        res = await s.execute(
            update(FollowupRow)
            .where(FollowupRow.id == followup_id, FollowupRow.status == "queued")
            .values(
                status="answering",
                lease_owner=owner,
                lease_expires_at=utcnow() + timedelta(seconds=lease_seconds),
            )
        )
        return res.rowcount == 1


async def renew_lease(db: Database, followup_id: str, owner: str, lease_seconds: float) -> bool:
    """Extend the answering lease; False when this worker no longer holds it."""
    async with db.write() as s:
        res = await s.execute(
            update(FollowupRow)
            .where(
                FollowupRow.id == followup_id,
                FollowupRow.status == "answering",
                FollowupRow.lease_owner == owner,
            )
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        return res.rowcount == 1


async def release_followup(db: Database, followup_id: str, owner: str) -> bool:
    """answering -> queued (the worker is stopping); another worker answers it."""
    async with db.write() as s:
        res = await s.execute(
            update(FollowupRow)
            .where(
                FollowupRow.id == followup_id,
                FollowupRow.status == "answering",
                FollowupRow.lease_owner == owner,
            )
            .values(status="queued", lease_owner=None, lease_expires_at=None)
        )
        return res.rowcount == 1


async def requeue_expired(db: Database, *, now: datetime | None = None) -> list[str]:
    """Reaper: follow-ups stuck in `answering` past their lease (worker died) -> queued.

    A row without a lease (written before leases existed) counts as expired."""
    now = now or utcnow()
    stuck = or_(FollowupRow.lease_expires_at.is_(None), FollowupRow.lease_expires_at < now)
    async with db.write() as s:
        ids = list(
            await s.scalars(select(FollowupRow.id).where(FollowupRow.status == "answering", stuck))
        )
        if ids:
            await s.execute(
                update(FollowupRow)
                .where(FollowupRow.id.in_(ids), FollowupRow.status == "answering", stuck)
                .values(status="queued", lease_owner=None, lease_expires_at=None)
            )
            for fid in ids:
                row = await s.get(FollowupRow, fid)
                if row is not None:
                    s.add(
                        SessionEventRow(
                            session_id=row.session_id,
                            type="followup",
                            message="follow-up requeued: its worker stopped answering",
                            data={"followup_id": fid},
                            at=now,
                        )
                    )
        return ids


async def finish_followup(
    db: Database,
    followup_id: str,
    *,
    answer: str | None = None,
    error: str | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    owner: str | None = None,
) -> bool:
    """Record the answer (status answered) or the error (status failed).

    With `owner`, only while that worker still holds the answering lease (False otherwise:
    the question was requeued and someone else answers it)."""
    cond = [FollowupRow.id == followup_id]
    if owner is not None:
        cond += [FollowupRow.status == "answering", FollowupRow.lease_owner == owner]
    async with db.write() as s:
        res = await s.execute(
            update(FollowupRow)
            .where(*cond)
            .values(
                lease_owner=None,
                lease_expires_at=None,
                status="failed" if error else "answered",
                answer=answer,
                error=error,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                answered_at=utcnow(),
            )
        )
        return res.rowcount == 1


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
