"""Intake dedupe rules and races (two `Database` objects stand in for two replicas)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import func, select

from storage import queue
from storage.engine import Database
from storage.models import AlertRow, SessionRow, utcnow
from storage.repositories import slack
from storage.repositories.intake import (
    NewAlert,
    find_open_incident_by_fingerprint,
    list_alerts,
    record_alert_and_enqueue,
    record_resolved,
)


def alert(fp: str = "fp", status: str = "firing") -> NewAlert:
    return NewAlert(
        source="grafana", kind="HighLatency", title="p99 > 2s", fingerprint=fp, status=status
    )


@asynccontextmanager
async def second_replica(db: Database):
    """Another engine + pool on the same database, like a second process."""
    other = Database(db.url)
    try:
        yield other
    finally:
        await other.close()


async def _count(db: Database, model, *where) -> int:
    async with db.read() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def test_repeat_while_active_is_an_occurrence(db):
    first, created = await record_alert_and_enqueue(db, alert(), dedup_window_s=0)
    again, created_again = await record_alert_and_enqueue(db, alert(), dedup_window_s=0)
    assert created and not created_again
    assert again.id == first.id and again.occurrences == 2
    assert len(await list_alerts(db, first.id)) == 2
    other, created_other = await record_alert_and_enqueue(db, alert("other"), dedup_window_s=0)
    assert created_other and other.id != first.id


async def test_window_applies_to_completed_incidents(db):
    t0 = utcnow()
    s1, _ = await record_alert_and_enqueue(db, alert(), dedup_window_s=600, now=t0)
    c = await queue.claim_next(db, "w", lease_seconds=60, concurrency_limit=1, max_attempts=3)
    assert await queue.finish(db, c.id, "w", "completed")
    inside, created = await record_alert_and_enqueue(
        db, alert(), dedup_window_s=600, now=t0 + timedelta(seconds=300)
    )
    assert not created and inside.id == s1.id and inside.status == "completed"
    # the window counts from the last occurrence (t0+300s), so t0+800s is still inside
    at_800 = t0 + timedelta(seconds=800)
    assert (await find_open_incident_by_fingerprint(db, "fp", 600, now=at_800)).id == s1.id
    _, created = await record_alert_and_enqueue(db, alert(), dedup_window_s=600, now=at_800)
    assert not created
    at_1500 = t0 + timedelta(seconds=1500)  # 700 s after the last occurrence
    assert await find_open_incident_by_fingerprint(db, "fp", 600, now=at_1500) is None
    fresh, created = await record_alert_and_enqueue(db, alert(), dedup_window_s=600, now=at_1500)
    assert created and fresh.id != s1.id


async def test_failed_incident_is_not_reused(db):
    s1, _ = await record_alert_and_enqueue(db, alert(), dedup_window_s=3600)
    c = await queue.claim_next(db, "w", lease_seconds=60, concurrency_limit=1, max_attempts=3)
    assert await queue.finish(db, c.id, "w", "failed", error="LLM down")
    s2, created = await record_alert_and_enqueue(db, alert(), dedup_window_s=3600)
    assert created and s2.id != s1.id


async def test_resolved_closes_the_open_incident(db):
    assert await record_resolved(db, alert(status="resolved")) is None  # nothing open: kept only
    s1, _ = await record_alert_and_enqueue(db, alert(), dedup_window_s=3600)
    resolved = await record_resolved(db, alert(status="resolved"))
    assert resolved.id == s1.id and resolved.resolved_at is not None
    assert [a.status for a in await list_alerts(db, s1.id)] == ["firing", "resolved"]
    assert await _count(db, AlertRow, AlertRow.session_id.is_(None)) == 1
    s2, created = await record_alert_and_enqueue(db, alert(), dedup_window_s=3600)
    assert created and s2.id != s1.id  # a resolved incident never absorbs new firings


async def test_intake_race_one_session_twenty_occurrences(db):
    async with second_replica(db) as other:
        results = await asyncio.gather(
            *(
                record_alert_and_enqueue(d, alert("storm"), dedup_window_s=3600)
                for _ in range(10)
                for d in (db, other)
            )
        )
    assert sum(created for _, created in results) == 1
    assert len({s.id for s, _ in results}) == 1
    sid = results[0][0].id
    async with db.read() as s:
        row = await s.get(SessionRow, sid)
    assert row.occurrences == 20
    assert await _count(db, SessionRow) == 1
    assert await _count(db, AlertRow, AlertRow.session_id == sid) == 20


async def test_event_id_dedupe_race(db):
    async with second_replica(db) as other:
        results = await asyncio.gather(
            *(slack.mark_event_seen(d, "Ev0123ABC") for _ in range(10) for d in (db, other))
        )
    assert results.count(True) == 1
    assert await slack.mark_event_seen(db, "Ev0123ABC") is False
    assert await slack.mark_event_seen(db, "Ev0456DEF") is True


async def test_two_hundred_concurrent_writers_lose_nothing_on_sqlite(sqlite_db):
    async with second_replica(sqlite_db) as other:
        results = await asyncio.gather(
            *(
                record_alert_and_enqueue(d, alert(f"fp-{i}-{n}"), dedup_window_s=60)
                for i in range(100)
                for n, d in enumerate((sqlite_db, other))
            )
        )
    assert all(created for _, created in results)
    assert await _count(sqlite_db, SessionRow) == 200
    assert await _count(sqlite_db, AlertRow) == 200
    assert len({s.id for s, _ in results}) == 200
