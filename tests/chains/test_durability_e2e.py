"""Durability with real worker processes: SIGKILL mid-stage and resume on another process;
two workers sharing one PostgreSQL queue. The Gemini stand-in runs in this test's loop and
its request log proves which LLM calls happened."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime

import pytest
from sqlalchemy import func, select

from chains.alert import Alert
from chains.intake import intake
from config.loader import load_config
from devkit.gemini import GeminiServer
from storage.engine import Database
from storage.migrate import upgrade_async
from storage.models import SessionEventRow, SessionRow, StageExecutionRow
from storage.repositories.sessions import get_session
from storage.repositories.stages import list_stages
from tests.chains.devkit_env import REPO, checkout_script, write_config
from tests.helpers.db import postgres_database_url, sqlite_url

pytestmark = pytest.mark.slow


class WorkerProcess:
    def __init__(self, cfgdir, db_url: str, owner: str) -> None:
        self.args = [
            sys.executable,
            "-m",
            "chains.worker_main",
            "--config-dir",
            str(cfgdir),
            "--database-url",
            db_url,
            "--owner-id",
            owner,
        ]
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> WorkerProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = await asyncio.create_subprocess_exec(
            *self.args,
            cwd=str(REPO),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if b"ready" not in line:
            err = await self.proc.stderr.read()
            raise AssertionError(f"worker did not start: {line!r} {err.decode()[-2000:]}")
        return self

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await asyncio.wait_for(self.proc.wait(), 20)


async def wait_until(pred, limit_s: float, what: str, interval: float = 0.05):
    """Poll an async predicate until it returns a truthy value (or fail with `what`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        value = await pred()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {limit_s}s waiting for {what}")
        await asyncio.sleep(interval)


def _alert(i: int = 0) -> Alert:
    return Alert(
        source="generic",
        kind="KubePodCrashLooping",
        severity="critical",
        title=f"checkout pods crash-looping #{i}",
        labels={"namespace": "payments", "deployment": "checkout", "shard": str(i)},
    )


async def _database(kind: str, tmp_path, stack):
    if kind == "sqlite":
        return sqlite_url(tmp_path)
    return await stack.enter_async_context(postgres_database_url())


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_sigkill_during_stage_2_resumes_on_another_process(kind, tmp_path):
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        url = await _database(kind, tmp_path, stack)
        db = Database(url)
        stack.push_async_callback(db.close)
        await upgrade_async(db)
        g = await stack.enter_async_context(
            GeminiServer(script=checkout_script(chunk_delay_ms=400))
        )
        cfgdir = write_config(
            tmp_path / "cfg",
            gemini_url=g.base_url,
            database_url=url,
            queue={"lease_seconds": 2, "heartbeat_seconds": 0.5},
        )
        cfg = load_config(cfgdir)
        r = await intake(db, _alert(), cfg, None)

        a = await WorkerProcess(cfgdir, url, "worker-A").start()
        stack.push_async_callback(a.kill)

        async def stage2_running():
            return any(
                s.index == 1 and s.status == "running" for s in await list_stages(db, r.session_id)
            )

        await wait_until(stage2_running, 60, "stage 2 to start on worker A")
        await a.kill()
        triage_before = [q.turn_id for q in g.requests if q.turn_id.startswith("triage")]
        assert triage_before == ["triage-1", "triage-final"]
        g.set_script(checkout_script())  # no delay for the second worker

        b = await WorkerProcess(cfgdir, url, "worker-B").start()
        stack.push_async_callback(b.kill)

        async def finished():
            s = await get_session(db, r.session_id)
            return s if s.status not in ("queued", "running") else None

        s = await wait_until(finished, 60, "worker B to finish the session")
        assert s.status == "completed", s.error
        assert s.attempts == 2 and s.lease_owner == "worker-B"
        assert "rollout undo deployment/checkout --to-revision=41" in s.final_text
        # stage 1's LLM calls were not repeated
        assert [q.turn_id for q in g.requests if q.turn_id.startswith("triage")] == triage_before
        stages = [(st.index, st.attempt, st.status) for st in await list_stages(db, r.session_id)]
        assert stages == [
            (0, 1, "completed"),
            (1, 1, "failed"),
            (1, 2, "completed"),
            (2, 2, "completed"),
        ]
        async with db.read() as q:
            outcomes = await q.scalar(
                select(func.count())
                .select_from(SessionEventRow)
                .where(
                    SessionEventRow.session_id == r.session_id, SessionEventRow.type == "completed"
                )
            )
            finished_events = await q.scalar(
                select(func.count())
                .select_from(SessionEventRow)
                .where(
                    SessionEventRow.session_id == r.session_id,
                    SessionEventRow.type == "SessionFinished",
                )
            )
        assert outcomes == 1  # the outcome is stored once
        await wait_until(lambda: _count_finished(db, r.session_id), 10, "the audit flush")
        assert finished_events <= 1
        await b.kill(signal.SIGTERM)
        assert b.proc.returncode == 0


async def _count_finished(db, sid) -> bool:
    async with db.read() as q:
        n = await q.scalar(
            select(func.count())
            .select_from(SessionEventRow)
            .where(SessionEventRow.session_id == sid, SessionEventRow.type == "SessionFinished")
        )
    return n == 1


@pytest.mark.postgres
async def test_two_workers_share_one_postgres_queue(tmp_path):
    limit, n = 3, 30
    async with postgres_database_url() as url, GeminiServer(script=checkout_script()) as g:
        db = Database(url)
        try:
            await upgrade_async(db)
            cfgdir = write_config(
                tmp_path / "cfg",
                gemini_url=g.base_url,
                database_url=url,
                # each replica may hold 2 of the 3 global slots, so both must take part
                queue={"concurrency": limit, "worker_slots": 2, "poll_seconds": 0.1},
            )
            cfg = load_config(cfgdir)
            ids = [(await intake(db, _alert(i), cfg, None)).session_id for i in range(n)]
            assert len(set(ids)) == n
            workers = [await WorkerProcess(cfgdir, url, f"w{i}").start() for i in range(2)]
            max_running = 0

            async def all_done():
                nonlocal max_running
                async with db.read() as q:
                    running = await q.scalar(
                        select(func.count())
                        .select_from(SessionRow)
                        .where(SessionRow.status == "running")
                    )
                    done = await q.scalar(
                        select(func.count())
                        .select_from(SessionRow)
                        .where(SessionRow.status == "completed")
                    )
                max_running = max(max_running, running)
                return done == n

            try:
                await wait_until(all_done, 120, f"{n} sessions to complete", interval=0.02)
            finally:
                for w in workers:
                    await w.kill(signal.SIGTERM)
            assert max_running <= limit
            async with db.read() as q:
                rows = list(await q.scalars(select(SessionRow)))
                stages = list(await q.scalars(select(StageExecutionRow)))
            assert all(r.attempts == 1 and r.status == "completed" for r in rows)
            assert len(stages) == 3 * n and all(st.attempt == 1 for st in stages)
            assert {r.lease_owner for r in rows} == {"w0", "w1"}  # both did work
            # concurrency at every moment, from the audit trail: SessionStarted is emitted
            # after the claim committed, SessionFinished before the outcome is written, so
            # each [start, end] lies inside the real lease interval
            async with db.read() as q:
                marks = (
                    await q.execute(
                        select(SessionEventRow.type, SessionEventRow.at).where(
                            SessionEventRow.type.in_(["SessionStarted", "SessionFinished"])
                        )
                    )
                ).all()
            assert len(marks) == 2 * n
            edges: list[tuple[datetime, int]] = [
                (at, 1 if t == "SessionStarted" else -1) for t, at in marks
            ]
            cur = peak = 0
            for _, d in sorted(edges, key=lambda e: (e[0], e[1])):
                cur += d
                peak = max(peak, cur)
            assert peak <= limit
            assert peak >= 2  # it did run in parallel (the limit was actually exercised)
            assert len(g.requests) == 7 * n  # every session ran exactly once
        finally:
            await db.close()
