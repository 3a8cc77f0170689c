"""The sessions table as a durable queue: claims, leases, limits, retries, retention, locks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from storage import queue
from storage.engine import Database
from storage.models import AlertRow, SessionRow, utcnow
from storage.repositories import feedback, records, slack, stages
from storage.repositories.intake import NewAlert, record_alert_and_enqueue
from storage.repositories.sessions import get_session
from storage.repositories.timeline import get_timeline


async def enqueue(db: Database, n: int, prefix: str = "fp") -> list[str]:
    ids = []
    for i in range(n):
        s, _ = await record_alert_and_enqueue(
            db,
            NewAlert(source="generic", kind="K", title=f"t{i}", fingerprint=f"{prefix}-{i}"),
            dedup_window_s=0,
        )
        ids.append(s.id)
    return ids


async def claim(db: Database, owner: str, *, limit: int = 100, now=None, max_attempts: int = 3):
    return await queue.claim_next(
        db, owner, lease_seconds=30, concurrency_limit=limit, max_attempts=max_attempts, now=now
    )


async def test_claims_oldest_first_and_never_twice(db):
    ids = await enqueue(db, 12)
    other = Database(db.url)
    try:

        async def drain(d: Database, owner: str) -> list[str]:
            got = []
            while (c := await claim(d, owner)) is not None:
                got.append(c.id)
            return got

        batches = await asyncio.gather(*(drain(d, f"w{i}") for i, d in enumerate([db, other] * 2)))
    finally:
        await other.close()
    claimed = [sid for b in batches for sid in b]
    assert sorted(claimed) == sorted(ids)  # every session exactly once
    assert len(set(claimed)) == len(claimed)


async def test_oldest_first(db):
    ids = await enqueue(db, 3)
    assert [(await claim(db, "w")).id for _ in ids] == ids


async def test_global_concurrency_limit(db):
    await enqueue(db, 5)
    other = Database(db.url)
    try:
        results = await asyncio.gather(
            *(claim(d, f"w{i}", limit=2) for i, d in enumerate([db, other] * 3))
        )
    finally:
        await other.close()
    won = [r for r in results if r is not None]
    assert len(won) == 2
    # finishing one frees a slot
    assert await queue.finish(db, won[0].id, won[0].session.lease_owner, "completed")
    assert await claim(db, "w9", limit=2) is not None
    assert await claim(db, "w10", limit=2) is None


async def test_expired_lease_is_resumed_with_attempts_plus_one(db):
    [sid] = await enqueue(db, 1)
    first = await claim(db, "crashed-worker")
    assert first.attempt == 1 and not first.resumed
    assert await queue.checkpoint(db, sid, "crashed-worker", 2)
    assert await claim(db, "w2") is None  # lease still live
    later = utcnow() + timedelta(seconds=31)
    second = await claim(db, "w2", now=later)
    assert second.id == sid and second.attempt == 2 and second.resumed
    assert second.session.next_stage_index == 2
    # the crashed worker lost its lease: its writes are refused
    assert not await queue.heartbeat(db, sid, "crashed-worker", 30)
    assert not await queue.checkpoint(db, sid, "crashed-worker", 3)
    assert not await queue.finish(db, sid, "crashed-worker", "completed")
    assert await queue.heartbeat(db, sid, "w2", 30, now=later)
    assert await queue.finish(db, sid, "w2", "completed", final_text="done", now=later)
    row = await get_session(db, sid)
    assert row.status == "completed" and row.final_text == "done" and row.lease_expires_at is None
    events = [e.type for e in (await get_timeline(db, sid)).events]
    assert events == ["queued", "started", "resumed", "completed"]


async def test_max_attempts_fails_with_reason(db):
    [sid] = await enqueue(db, 1)
    now = utcnow()
    for attempt in (1, 2):
        c = await claim(db, f"w{attempt}", now=now, max_attempts=2)
        assert c.attempt == attempt
        now += timedelta(seconds=60)
    assert await claim(db, "w3", now=now, max_attempts=2) is None
    row = await get_session(db, sid)
    assert row.status == "failed" and row.finished_at is not None
    assert "gave up after 2 attempt(s)" in row.error and "w2" in row.error
    assert "max_attempts" in row.error


async def test_reaper_requeues_fails_and_cancels(db):
    a, b, c = await enqueue(db, 3)
    now = utcnow()
    for owner in ("wa", "wb", "wc"):
        await claim(db, owner, now=now, max_attempts=1)
    # b: was on its last attempt -> failed; c: cancel requested -> cancelled; a: requeued
    from storage.repositories.sessions import request_cancel

    assert await request_cancel(db, c) == "running"
    res = await queue.reap_expired(db, max_attempts=2, now=now + timedelta(seconds=60))
    assert sorted(res.requeued + res.failed + res.cancelled) == sorted([a, b, c])
    assert res.cancelled == [c]
    assert (await get_session(db, c)).status == "cancelled"
    for sid in res.requeued:
        assert (await get_session(db, sid)).status == "queued"
    # nothing expired now
    assert await queue.reap_expired(db, max_attempts=2, now=now) == queue.ReapResult()


async def test_release_does_not_use_an_attempt(db):
    [sid] = await enqueue(db, 1)
    c = await claim(db, "w")
    assert not await queue.release(db, sid, "someone-else", reason="shutdown")
    assert await queue.release(db, sid, "w", reason="shutdown")
    row = await get_session(db, sid)
    assert row.status == "queued" and row.attempts == 0 and row.lease_owner is None
    again = await claim(db, "w2")
    assert again.id == c.id and again.attempt == 1


async def test_purge_older_than_removes_sessions_and_children(db):
    old, keep_running, recent = await enqueue(db, 3)
    c = await claim(db, "w")
    assert c.id == old
    stage = await stages.start_stage(db, old, index=0, name="s", agents=["a"])
    await records.add_llm_interaction(
        db, session_id=old, stage_id=stage.id, provider="p", model="m"
    )
    await records.add_tool_call(db, session_id=old, stage_id=stage.id, server="s", tool="t")
    await feedback.add_feedback(db, old, "down")
    await slack.record_slack_message(db, channel="C1", ts="1.1", purpose="root", session_id=old)
    long_ago = utcnow() - timedelta(days=100)
    assert await queue.finish(db, old, "w", "completed", now=long_ago)
    await claim(db, "w")  # keep_running stays running: never purged
    c3 = await claim(db, "w")
    assert await queue.finish(db, c3.id, "w", "completed")  # recent: kept

    counts = await queue.purge_older_than(db, days=90)
    assert counts["sessions"] == 1 and counts["alerts"] == 1
    assert counts["llm_interactions"] == 1 and counts["tool_calls"] == 1
    assert counts["feedback"] == 1 and counts["slack_messages"] == 1
    assert await get_session(db, old) is None
    assert await get_session(db, keep_running) is not None
    assert await get_session(db, recent) is not None
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(SessionRow)) == 2
        assert await s.scalar(select(func.count()).select_from(AlertRow)) == 2


async def test_advisory_lock_is_exclusive_across_replicas(db):
    other = Database(db.url)
    try:
        async with queue.advisory_lock(db, "retention") as first:
            assert first
            async with queue.advisory_lock(other, "retention") as second:
                assert second is (not db.is_postgres)  # SQLite: single host, always True
            async with queue.advisory_lock(other, "another-job") as unrelated:
                assert unrelated
        async with queue.advisory_lock(other, "retention") as after_release:
            assert after_release
    finally:
        await other.close()
