"""Periodic jobs (fixed ids, advisory lock), the recorder's retry, and the session timeout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from agents.events import AgentWarning, EventContext
from chains.recorder import AuditRecorder
from chains.worker import REAPER_JOB, RETENTION_JOB
from storage import queue
from storage.models import SessionRow, utcnow
from storage.repositories.sessions import get_session
from storage.repositories.timeline import get_timeline
from tests.chains.fakes import FakeInvestigator, make_config
from tests.chains.test_worker import Harness, _alert


async def test_scheduler_jobs_registered_with_fixed_ids(sqlite_db, tmp_path):
    h = Harness(make_config(tmp_path), sqlite_db)
    h.worker._use_scheduler = True
    await h.worker.start()
    try:
        ids = {j.id for j in h.worker._scheduler.get_jobs()}
        assert ids == {REAPER_JOB, RETENTION_JOB}
    finally:
        await h.close()
    assert h.worker._scheduler is None


async def test_jobs_run_only_on_the_replica_holding_the_lock(db, tmp_path):
    h = Harness(make_config(tmp_path), db)
    r = await h.submit()
    await h.worker.run_until_idle(wait_s=20)
    # finished long ago -> retention purges it; a crashed running session -> reaper requeues
    async with db.write() as s:
        await s.execute(
            update(SessionRow)
            .where(SessionRow.id == r.session_id)
            .values(finished_at=utcnow() - timedelta(days=200))
        )
    r2 = await h.submit(_alert(labels={"namespace": "other"}))
    # claimed by a worker that died: its lease is already over
    await queue.claim_next(db, "dead", lease_seconds=-1, concurrency_limit=5, max_attempts=3)
    if db.is_postgres:
        async with queue.advisory_lock(db, REAPER_JOB) as got:  # another replica holds it
            assert got
            assert await h.worker.reap_once() is None
        async with queue.advisory_lock(db, RETENTION_JOB) as got:
            assert await h.worker.retention_once() is None
    reaped = await h.worker.reap_once()
    assert reaped.requeued == [r2.session_id]
    purged = await h.worker.retention_once()
    assert purged["sessions"] == 1
    assert await get_session(db, r.session_id) is None
    await h.close()


class FlakyDb:
    """The real database, but the first `fail` write transactions raise (a DB blip)."""

    def __init__(self, db, fail: int) -> None:
        self._db, self.fail = db, fail

    def __getattr__(self, name):
        return getattr(self._db, name)

    def write(self):
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("database is restarting")
        return self._db.write()


async def test_recorder_retries_a_failing_write_without_losing_rows(sqlite_db, tmp_path):
    h = Harness(make_config(tmp_path), sqlite_db)
    r = await h.submit()
    rec = AuditRecorder(FlakyDb(sqlite_db, fail=2), flush_interval=0.01)
    ctx = EventContext(session_id=r.session_id)
    for i in range(5):
        rec.add(AgentWarning(ctx=ctx, code="mcp_unhealthy", message=f"blip {i}"))
    assert await rec.flush(10)
    tl = await get_timeline(sqlite_db, r.session_id)
    assert [e.message for e in tl.events if e.type == "warning:mcp_unhealthy"] == [
        f"blip {i}" for i in range(5)
    ]
    assert rec.lost_rows == 0
    await rec.aclose()
    await h.close()


async def test_session_timeout(sqlite_db, tmp_path):
    inv = FakeInvestigator()
    inv.delay[("diagnose", "KubernetesAgent")] = 30
    h = Harness(make_config(tmp_path, timeouts={"session_seconds": 0.5}), sqlite_db, inv)
    r = await h.submit()
    await h.worker.run_until_idle(wait_s=20)
    s = await get_session(sqlite_db, r.session_id)
    assert s.status == "timed_out"
    assert s.error == "session timed out after 0.5s (timeouts.session_seconds)"
    # what was found before the timeout is kept
    assert s.result["stages"][0]["name"] == "triage"
    await h.close()
