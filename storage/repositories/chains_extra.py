"""Writes the chains room needs that the core repositories do not cover (owned by chains)."""

from __future__ import annotations

from storage.engine import Database
from storage.models import QUEUED, AlertRow, SessionEventRow, SessionRow, new_id, utcnow
from storage.repositories.intake import alert_row
from storage.repositories.session_rows import session_rows_query


async def create_rerun(
    db: Database, session_id: str, *, requested_by: str | None = None
) -> str | None:
    """Queue a fresh session for the same alert and chain as `session_id` (which stays as it
    is, a new investigation is not a dedupe). Returns the new id, None if it does not exist."""
    now = utcnow()
    async with db.write() as s:
        old = await s.get(SessionRow, session_id)
        if old is None:
            return None
        alert = await s.scalar(session_rows_query(AlertRow, session_id).limit(1))
        new = SessionRow(
            id=new_id(),
            status=QUEUED,
            fingerprint=old.fingerprint,
            alert_source=old.alert_source,
            alert_kind=old.alert_kind,
            alert_title=old.alert_title,
            alert_severity=old.alert_severity,
            chain_name=old.chain_name,
            chain_snapshot=old.chain_snapshot,
            occurrences=1,
            last_occurrence_at=now,
            slack_channel=old.slack_channel,
            slack_thread_ts=old.slack_thread_ts,
            slack_user=requested_by or old.slack_user,
            slack_team=old.slack_team,
            created_at=now,
            updated_at=now,
        )
        s.add(new)
        await s.flush()
        if alert is not None:
            s.add(alert_row(alert, new.id, now, status="firing"))
        who = f" by {requested_by}" if requested_by else ""
        s.add(
            SessionEventRow(
                session_id=new.id, type="queued", message=f"re-run of {session_id}{who}", at=now
            )
        )
        s.add(
            SessionEventRow(
                session_id=session_id,
                type="rerun",
                message=f"re-run{who} as {new.id}",
                data={"new_session": new.id},
                at=now,
            )
        )
        return new.id
