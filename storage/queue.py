"""The durable work queue: the `sessions` table with leases.

A worker claims a session (`claim_next`), renews its lease (`heartbeat`), records progress
(`checkpoint`: the next stage to run) and ends it (`finish`) or hands it back (`release`).
A session whose lease expired (its worker crashed) is claimed again and resumed from
`next_stage_index`, counting one more attempt; past `max_attempts` it is failed with a reason.

Claims are serialised: PostgreSQL `pg_advisory_xact_lock` (+ `FOR UPDATE SKIP LOCKED`),
SQLite `BEGIN IMMEDIATE`. The global concurrency limit counts running sessions with a live
lease across all replicas.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import pglocks
from storage.engine import Database
from storage.models import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    TERMINAL_STATUSES,
    AlertRow,
    FeedbackRow,
    FollowupRow,
    LlmInteractionRow,
    SessionEventRow,
    SessionRow,
    SlackEventSeenRow,
    SlackMessageRow,
    StageExecutionRow,
    ToolCallRow,
    utcnow,
)


@dataclass(slots=True)
class ClaimedSession:
    session: SessionRow
    resumed: bool
    """True when an earlier attempt ran (resume from `session.next_stage_index`)."""

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def attempt(self) -> int:
        return self.session.attempts


@dataclass(slots=True)
class Heartbeat:
    ok: bool
    """False: the lease is lost (another worker owns the session or it ended) - stop working."""
    cancel_requested: bool = False


@dataclass(slots=True)
class ReapResult:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def _expired(now: datetime):
    return and_(
        SessionRow.status == RUNNING,
        or_(SessionRow.lease_expires_at.is_(None), SessionRow.lease_expires_at < now),
    )


async def _settle_expired(
    db: Database, s: AsyncSession, max_attempts: int, now: datetime, *, requeue: bool
) -> ReapResult:
    """Fail exhausted sessions, cancel crashed ones with a pending cancel, maybe requeue rest."""
    q = select(SessionRow).where(
        or_(_expired(now), and_(SessionRow.status == QUEUED, SessionRow.attempts >= max_attempts))
    )
    if db.is_postgres:
        q = q.with_for_update(skip_locked=True)
    out = ReapResult()
    for row in await s.scalars(q):
        was_running = row.status == RUNNING
        if was_running and row.cancel_requested:
            row.status, row.finished_at = CANCELLED, now
            row.error = "cancelled (its worker stopped before acting on the cancel request)"
            out.cancelled.append(row.id)
            kind = "cancelled"
        elif row.attempts >= max_attempts:
            why = (
                f"its worker {row.lease_owner or '?'} stopped renewing the lease (crashed, "
                "killed or lost the database)"
                if was_running
                else "it was handed back too many times"
            )
            row.status, row.finished_at = FAILED, now
            row.error = (
                f"gave up after {row.attempts} attempt(s) (queue.max_attempts={max_attempts}): "
                f"{why}. Check that replica's logs; raise queue.max_attempts to retry more."
            )
            out.failed.append(row.id)
            kind = "failed"
        elif requeue and was_running:
            row.status = QUEUED
            out.requeued.append(row.id)
            kind = "requeued"
        else:
            continue
        row.lease_expires_at = None
        row.updated_at = now
        s.add(SessionEventRow(session_id=row.id, type=kind, message=row.error or "", at=now))
    return out


async def claim_next(
    db: Database,
    owner: str,
    *,
    lease_seconds: float,
    concurrency_limit: int,
    max_attempts: int,
    now: datetime | None = None,
) -> ClaimedSession | None:
    """Atomically take the oldest runnable session, or None (nothing to do / limit reached)."""
    now = now or utcnow()
    async with db.write() as s:
        if db.is_postgres:
            await s.execute(
                text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                {"ns": pglocks.NAMESPACE, "key": pglocks.QUEUE_CLAIM},
            )
        await _settle_expired(db, s, max_attempts, now, requeue=False)
        running = await s.scalar(
            select(func.count())
            .select_from(SessionRow)
            .where(SessionRow.status == RUNNING, SessionRow.lease_expires_at >= now)
        )
        if running >= concurrency_limit:
            return None
        q = (
            select(SessionRow)
            .where(or_(SessionRow.status == QUEUED, _expired(now)))
            .order_by(SessionRow.created_at, SessionRow.id)
            .limit(1)
        )
        if db.is_postgres:
            q = q.with_for_update(skip_locked=True)
        row = await s.scalar(q)
        if row is None:
            return None
        resumed = row.attempts > 0
        previous_owner = row.lease_owner
        row.status = RUNNING
        row.lease_owner = owner
        row.lease_expires_at = now + timedelta(seconds=lease_seconds)
        row.attempts += 1
        row.started_at = row.started_at or now
        row.updated_at = now
        msg = f"claimed by {owner} (attempt {row.attempts})"
        if resumed:
            msg += f", resuming at stage {row.next_stage_index}"
            if previous_owner and previous_owner != owner:
                msg += f" after {previous_owner}"
        s.add(
            SessionEventRow(
                session_id=row.id, type="resumed" if resumed else "started", message=msg, at=now
            )
        )
        await s.flush()
        return ClaimedSession(session=row, resumed=resumed)


def _owned(session_id: str, owner: str):
    return and_(
        SessionRow.id == session_id, SessionRow.lease_owner == owner, SessionRow.status == RUNNING
    )


async def heartbeat_status(
    db: Database, session_id: str, owner: str, lease_seconds: float, *, now: datetime | None = None
) -> Heartbeat:
    """Renew the lease; also reports whether a cancel was requested."""
    now = now or utcnow()
    async with db.write() as s:
        flag = await s.scalar(
            update(SessionRow)
            .where(_owned(session_id, owner))
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now)
            .returning(SessionRow.cancel_requested)
        )
    return Heartbeat(ok=flag is not None, cancel_requested=bool(flag))


async def heartbeat(
    db: Database, session_id: str, owner: str, lease_seconds: float, *, now: datetime | None = None
) -> bool:
    """Renew the lease; False if it was lost (stop working on the session)."""
    return (await heartbeat_status(db, session_id, owner, lease_seconds, now=now)).ok


async def checkpoint(db: Database, session_id: str, owner: str, next_stage_index: int) -> bool:
    """Record the resume point after a stage finished; False if the lease was lost."""
    async with db.write() as s:
        res = await s.execute(
            update(SessionRow)
            .where(_owned(session_id, owner))
            .values(next_stage_index=next_stage_index, updated_at=utcnow())
        )
        return res.rowcount == 1


async def finish(
    db: Database,
    session_id: str,
    owner: str,
    status: str,
    *,
    final_text: str | None = None,
    executive_summary: str | None = None,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> bool:
    """End a session this worker owns; False (nothing written) if it no longer owns it."""
    if status not in TERMINAL_STATUSES:
        raise ValueError(f"finish() needs a final status {TERMINAL_STATUSES}, got {status!r}")
    now = now or utcnow()
    async with db.write() as s:
        res = await s.execute(
            update(SessionRow)
            .where(_owned(session_id, owner))
            .values(
                status=status,
                final_text=final_text,
                executive_summary=executive_summary,
                result=result,
                error=error,
                lease_expires_at=None,
                finished_at=now,
                updated_at=now,
            )
        )
        if res.rowcount != 1:
            return False
        s.add(
            SessionEventRow(
                session_id=session_id, type=status, message=error or f"session {status}", at=now
            )
        )
        return True


async def release(
    db: Database, session_id: str, owner: str, *, reason: str, count_attempt: bool = False
) -> bool:
    """Hand a session back to the queue (e.g. on shutdown). By default the attempt is not
    counted, so a graceful restart does not use up `max_attempts`."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": QUEUED,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
    }
    if not count_attempt:
        values["attempts"] = SessionRow.attempts - 1  # owned => running => attempts >= 1
    async with db.write() as s:
        res = await s.execute(update(SessionRow).where(_owned(session_id, owner)).values(**values))
        if res.rowcount != 1:
            return False
        s.add(SessionEventRow(session_id=session_id, type="released", message=reason, at=now))
        return True


async def reap_expired(
    db: Database, max_attempts: int, *, now: datetime | None = None
) -> ReapResult:
    """Periodic job: requeue sessions whose worker died, fail those out of attempts."""
    async with db.write() as s:
        return await _settle_expired(db, s, max_attempts, now or utcnow(), requeue=True)


_CHILDREN = (
    ToolCallRow,
    LlmInteractionRow,
    SessionEventRow,
    SlackMessageRow,
    FeedbackRow,
    FollowupRow,
    StageExecutionRow,
    AlertRow,
)


async def purge_older_than(
    db: Database, days: float, *, now: datetime | None = None, batch: int = 500
) -> dict[str, int]:
    """Retention: delete finished sessions older than `days` with all their rows, plus old
    Slack event ids. Returns deleted row counts per table."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    counts: dict[str, int] = {m.__tablename__: 0 for m in (SessionRow, *_CHILDREN)}
    while True:
        async with db.write() as s:
            ids = list(
                await s.scalars(
                    select(SessionRow.id)
                    .where(
                        SessionRow.status.in_(TERMINAL_STATUSES), SessionRow.finished_at < cutoff
                    )
                    .limit(batch)
                )
            )
            if not ids:
                break
            for model in _CHILDREN:
                res = await s.execute(delete(model).where(model.session_id.in_(ids)))
                counts[model.__tablename__] += res.rowcount or 0
            res = await s.execute(delete(SessionRow).where(SessionRow.id.in_(ids)))
            counts[SessionRow.__tablename__] += res.rowcount or 0
    async with db.write() as s:
        res = await s.execute(delete(SlackEventSeenRow).where(SlackEventSeenRow.seen_at < cutoff))
        counts[SlackEventSeenRow.__tablename__] = res.rowcount or 0
    return counts


@asynccontextmanager
async def advisory_lock(db: Database, name: str) -> AsyncIterator[bool]:
    """Yield True if this replica holds the named lock (periodic jobs run only then).

    PostgreSQL: `pg_try_advisory_lock` on a dedicated connection, released on exit.
    SQLite: a single-host database, so always True.
    """
    if not db.is_postgres:
        yield True
        return
    params = {"ns": pglocks.NAMED_NS, "name": name}
    async with db.engine.connect() as conn:
        got = bool(
            await conn.scalar(text("SELECT pg_try_advisory_lock(:ns, hashtext(:name))"), params)
        )
        await conn.commit()
        try:
            yield got
        finally:
            if got:
                try:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:ns, hashtext(:name))"), params
                    )
                    await conn.commit()
                except BaseException:
                    await conn.invalidate()  # closing the connection drops the lock
                    raise
