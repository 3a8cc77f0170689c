"""Alert intake: persist an alert and dedupe it onto an open incident, in one transaction.

An incident (session) is *open* for a fingerprint when it is not resolved and either still
queued/running, or completed with its last occurrence inside the dedup window. Failed,
cancelled and timed-out incidents are not reused: a new alert starts a fresh investigation.

Race safety across replicas: PostgreSQL takes `pg_advisory_xact_lock` keyed on the fingerprint;
SQLite writes start with `BEGIN IMMEDIATE`, which serialises writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import pglocks
from storage.engine import Database
from storage.models import (
    ACTIVE_STATUSES,
    COMPLETED,
    QUEUED,
    AlertRow,
    SessionEventRow,
    SessionRow,
    utcnow,
)
from storage.repositories.session_rows import list_session_rows


@dataclass(slots=True)
class NewAlert:
    """Alert fields to store (mirrors `chains.alert.Alert`; payload must already be masked)."""

    source: str
    kind: str
    title: str
    fingerprint: str
    severity: str = "unknown"
    status: str = "firing"
    labels: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict)
    links: list[Any] = field(default_factory=list)
    runbook_url: str | None = None
    description: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    slack_channel: str | None = None
    slack_ts: str | None = None
    slack_user: str | None = None
    slack_team: str | None = None


async def _lock_fingerprint(db: Database, s: AsyncSession, fingerprint: str) -> None:
    if db.is_postgres:
        await s.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:fp))"),
            {"ns": pglocks.INTAKE_NS, "fp": fingerprint},
        )


def _open_incident_query(fingerprint: str, window_s: float, now: datetime):
    cutoff = now - timedelta(seconds=window_s)
    return (
        select(SessionRow)
        .where(
            SessionRow.fingerprint == fingerprint,
            SessionRow.resolved_at.is_(None),
            or_(
                SessionRow.status.in_(ACTIVE_STATUSES),
                and_(SessionRow.status == COMPLETED, SessionRow.last_occurrence_at >= cutoff),
            ),
        )
        .order_by(SessionRow.created_at.desc())
        .limit(1)
    )


async def find_open_incident_by_fingerprint(
    db: Database, fingerprint: str, window_s: float, *, now: datetime | None = None
) -> SessionRow | None:
    async with db.read() as s:
        return await s.scalar(_open_incident_query(fingerprint, window_s, now or utcnow()))


def alert_row(
    alert: NewAlert | AlertRow, session_id: str | None, now: datetime, *, status: str | None = None
) -> AlertRow:
    """A new alert row for `session_id` from a parsed alert, or a copy of a stored one."""
    return AlertRow(
        session_id=session_id,
        source=alert.source,
        kind=alert.kind,
        title=alert.title,
        severity=alert.severity,
        status=status or alert.status,
        fingerprint=alert.fingerprint,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        links=list(alert.links),
        runbook_url=alert.runbook_url,
        description=alert.description,
        payload=alert.payload,
        slack_channel=alert.slack_channel,
        slack_ts=alert.slack_ts,
        slack_user=alert.slack_user,
        received_at=now,
    )


async def record_alert_and_enqueue(
    db: Database,
    alert: NewAlert,
    *,
    dedup_window_s: float,
    chain_name: str | None = None,
    chain_snapshot: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[SessionRow, bool]:
    """Store `alert`; attach it to the open incident with its fingerprint or queue a new one.

    Returns `(session, created)`; `created` is False when the alert was deduplicated (the
    session's `occurrences` was incremented). Durable when this returns.
    """
    now = now or utcnow()
    async with db.write() as s:
        await _lock_fingerprint(db, s, alert.fingerprint)
        existing = await s.scalar(_open_incident_query(alert.fingerprint, dedup_window_s, now))
        if existing is not None:
            await s.execute(
                update(SessionRow)
                .where(SessionRow.id == existing.id)
                .values(
                    occurrences=SessionRow.occurrences + 1,
                    last_occurrence_at=now,
                    updated_at=now,
                )
            )
            s.add(alert_row(alert, existing.id, now))
            s.add(
                SessionEventRow(
                    session_id=existing.id,
                    type="occurrence",
                    message=f"alert fired again ({alert.source})",
                    at=now,
                )
            )
            await s.flush()
            await s.refresh(existing)
            return existing, False
        session = SessionRow(
            status=QUEUED,
            fingerprint=alert.fingerprint,
            alert_source=alert.source,
            alert_kind=alert.kind,
            alert_title=alert.title,
            alert_severity=alert.severity,
            chain_name=chain_name,
            chain_snapshot=chain_snapshot,
            occurrences=1,
            last_occurrence_at=now,
            slack_channel=alert.slack_channel,
            slack_thread_ts=alert.slack_ts,
            slack_user=alert.slack_user,
            slack_team=alert.slack_team,
            created_at=now,
            updated_at=now,
        )
        s.add(session)
        await s.flush()
        s.add(alert_row(alert, session.id, now))
        s.add(
            SessionEventRow(
                session_id=session.id,
                type="queued",
                message=f"alert received from {alert.source}",
                at=now,
            )
        )
        return session, True


async def record_resolved(
    db: Database, alert: NewAlert, *, now: datetime | None = None
) -> SessionRow | None:
    """Store a *resolved* alert and mark the newest unresolved incident with its fingerprint.

    Returns that incident (with `resolved_at` set) or None when none was open; what to do with
    a still-queued/running session (cancel, annotate the thread) is the caller's decision.
    """
    now = now or utcnow()
    async with db.write() as s:
        await _lock_fingerprint(db, s, alert.fingerprint)
        session = await s.scalar(
            select(SessionRow)
            .where(SessionRow.fingerprint == alert.fingerprint, SessionRow.resolved_at.is_(None))
            .order_by(SessionRow.created_at.desc())
            .limit(1)
        )
        s.add(alert_row(alert, session.id if session else None, now))
        if session is None:
            return None
        session.resolved_at = now
        session.updated_at = now
        s.add(
            SessionEventRow(
                session_id=session.id,
                type="resolved",
                message=f"alert resolved ({alert.source})",
                at=now,
            )
        )
        await s.flush()
        return session


async def list_alerts(db: Database, session_id: str) -> list[AlertRow]:
    """Every alert (first firing, repeats, resolution) attached to an incident, oldest first."""
    return await list_session_rows(db, AlertRow, session_id)
