"""Durable queue worker: claims queued sessions (the sessions table is the queue) with a
lease, runs them with the chain runner, heartbeats, resumes crashed sessions from their last
finished stage, answers follow-ups, and runs the periodic jobs (lease reaper, retention)
under an advisory lock so exactly one replica runs each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from agents.events import EventContext
from chains.bus import EventBus
from chains.context import alert_from_row, alert_text, incident_context
from chains.events import (
    FollowupFinished,
    FollowupStarted,
    RunbookLoaded,
    SessionFinished,
    SessionNote,
)
from chains.results import result_tokens
from chains.runbooks import RunbookResolver
from chains.runner import ChainRunner, RunOutcome, RunRequest
from config.models import ChainConfig, TarsyConfig
from storage import queue
from storage.models import ACTIVE_STATUSES
from storage.repositories import followups as followup_repo
from storage.repositories import records
from storage.repositories import stages as stage_repo
from storage.repositories.intake import list_alerts
from storage.repositories.sessions import get_session
from storage.repositories.timeline import get_timeline

log = logging.getLogger(__name__)

REAPER_JOB = "tarsy-lease-reaper"
RETENTION_JOB = "tarsy-retention"


def default_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _DbStageStore:
    def __init__(self, db: Any, owner: str) -> None:
        self.db = db
        self.owner = owner
        self._session_of: dict[str, tuple[str, int]] = {}

    async def stage_started(self, *, session_id, index, name, agents, attempt) -> str:
        row = await stage_repo.start_stage(
            self.db, session_id, index=index, name=name, agents=agents, attempt=attempt
        )
        self._session_of[row.id] = (session_id, index)
        return row.id

    async def stage_finished(self, *, stage_id, status, result, error, agent_results=None):
        stored = dict(result) if result is not None else None
        if agent_results is not None:
            stored = {**(stored or {}), "agent_results": agent_results}
        # Tokens are added by the audit recorder from the LLM calls themselves.
        await stage_repo.finish_stage(
            self.db,
            stage_id,
            status=status,
            result=stored,
            error=error,
            full_text=(result or {}).get("full_text"),
        )
        session_id, index = self._session_of.pop(stage_id, (None, 0))
        if status == "completed" and session_id:
            await queue.checkpoint(self.db, session_id, self.owner, index + 1)


class Worker:
    def __init__(
        self,
        cfg: TarsyConfig,
        db: Any,
        investigator: Any,
        bus: EventBus,
        owner_id: str | None = None,
        *,
        masker: Any | None = None,
        runbooks: RunbookResolver | None = None,
        scheduler: bool = True,
    ) -> None:
        self.cfg = cfg
        self.db = db
        self.investigator = investigator
        self.bus = bus
        self.owner_id = owner_id or default_owner_id()
        self.q = cfg.settings.queue
        self.runbooks = runbooks or RunbookResolver(
            cfg.agents.runbooks,
            config_dir=cfg.config_dir,
            timeout_seconds=cfg.settings.timeouts.runbook_fetch_seconds,
            masker=masker,
        )
        self._store = _DbStageStore(db, self.owner_id)
        self._use_scheduler = scheduler
        self._scheduler: Any = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task | None = None
        self._tasks: dict[str, asyncio.Task] = {}  # session/followup id -> task
        self._held: dict[str, SessionFinished] = {}  # outcome events awaiting storage
        self._lost: dict[str, asyncio.Event] = {}  # session id -> set when its lease is lost
        self.finished: list[tuple[str, str]] = []  # (session id, status) this worker finished

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._stopping = False
        if self._use_scheduler:
            self._start_scheduler()
        self._loop_task = asyncio.create_task(self._loop(), name=f"worker:{self.owner_id}")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, wait_s: float = 10.0) -> None:
        """Stop claiming; interrupt running sessions and release their leases so another
        replica resumes them from their last finished stage."""
        self._stopping = True
        self._wake.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._loop_task:
            # Let an in-flight claim finish its short transaction: cancelling it mid-write
            # can leave the SQLite write lock held by a connection that never rolls back.
            done, _ = await asyncio.wait({self._loop_task}, timeout=wait_s)
            if not done:
                self._loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._loop_task
            self._loop_task = None
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=wait_s)

    async def run_until_idle(
        self, wait_s: float | None = None, *, session_ids: list[str] | None = None
    ) -> None:
        """Claim and run until nothing is claimable or running (for the CLI and tests).

        With `session_ids`, also keep polling until those sessions have ended (e.g. one held
        by a crashed worker whose lease has yet to expire)."""
        async with asyncio.timeout(wait_s):
            while True:
                started = await self._fill()
                if started or self._tasks:
                    if self._tasks:
                        await asyncio.wait(
                            list(self._tasks.values()), return_when=asyncio.FIRST_COMPLETED
                        )
                    continue
                if not session_ids or not await self._any_active(session_ids):
                    return
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.q.poll_seconds):
                        await self._wake.wait()

    async def _any_active(self, session_ids: list[str]) -> bool:
        for sid in session_ids:
            row = await get_session(self.db, sid)
            if row is not None and row.status in ACTIVE_STATUSES:
                return True
        return False

    # ------------------------------------------------------------------ main loop
    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self._fill()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker %s: claiming failed; retrying", self.owner_id)
            self._wake.clear()
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.q.poll_seconds):
                    await self._wake.wait()

    async def _fill(self) -> int:
        """Start as many sessions/follow-ups as the local limit allows; returns how many."""
        started = 0
        while not self._stopping and len(self._tasks) < self.q.local_slots:
            claimed = await queue.claim_next(
                self.db,
                self.owner_id,
                lease_seconds=self.q.lease_seconds,
                concurrency_limit=self.q.concurrency,
                max_attempts=self.q.max_attempts,
            )
            if claimed is None:
                break
            self._spawn(claimed.id, self._run_session(claimed))
            started += 1
        if not self._stopping and len(self._tasks) < self.q.local_slots:
            started += await self._take_followups(self.q.local_slots - len(self._tasks))
        return started

    def _spawn(self, key: str, coro) -> None:
        task = asyncio.create_task(coro, name=f"run:{key}")
        self._tasks[key] = task

        def done(t: asyncio.Task) -> None:
            self._tasks.pop(key, None)
            self._wake.set()
            if not t.cancelled() and t.exception() is not None:
                log.error("worker task %s crashed", key, exc_info=t.exception())

        task.add_done_callback(done)

    # ------------------------------------------------------------------ one session
    async def _run_session(self, claimed: Any) -> None:
        sid = claimed.id
        emit = self.bus.emit
        ctx = EventContext(session_id=sid)
        cancel = asyncio.Event()
        lost = self._lost[sid] = asyncio.Event()
        hb = asyncio.create_task(self._heartbeat(sid, cancel, lost))
        try:
            outcome = await self._investigate(sid, claimed, cancel, ctx)
        except asyncio.CancelledError:
            hb.cancel()
            # Worker stopping: hand the session back so another replica resumes it.
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    queue.release(
                        self.db, sid, self.owner_id, reason=f"worker {self.owner_id} stopped"
                    )
                )
            self._held.pop(sid, None)
            raise
        except Exception as e:
            log.exception("session %s failed before its stages could run", sid)
            outcome = RunOutcome(
                status="failed", error=f"could not start the investigation: {type(e).__name__}: {e}"
            )
            self._held[sid] = SessionFinished(
                ctx=ctx,
                status="failed",
                error=outcome.error,
                executive_summary=outcome.error or "",
            )
        finally:
            hb.cancel()
            self._lost.pop(sid, None)
            with contextlib.suppress(asyncio.CancelledError):
                await hb
        announcement = self._held.pop(sid, None)
        if lost.is_set():
            log.warning("session %s: lease lost to another worker; not recording an outcome", sid)
            return
        if await self._finish(sid, outcome):
            self.finished.append((sid, outcome.status))
            # Announced only once stored: no surface shows an outcome the database lacks.
            if announcement is not None:
                await emit(announcement)

    async def _finish(self, sid: str, outcome: RunOutcome, attempts: int = 5) -> bool:
        """Write the outcome synchronously, retrying a failing database a few times (if it
        never succeeds the lease expires and another attempt resumes from the stored stages)."""
        delay = 0.2
        for attempt in range(1, attempts + 1):
            try:
                return await queue.finish(
                    self.db,
                    sid,
                    self.owner_id,
                    status=outcome.status,
                    final_text=outcome.final_text,
                    executive_summary=outcome.executive_summary,
                    result=outcome.result_dict(),
                    error=outcome.error,
                )
            except Exception as e:
                if attempt == attempts:
                    log.error(
                        "session %s: could not store the outcome (%s) after %d tries: %s",
                        sid,
                        outcome.status,
                        attempt,
                        e,
                    )
                    return False
                log.warning(
                    "session %s: storing the outcome failed (try %d/%d): %s",
                    sid,
                    attempt,
                    attempts,
                    e,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        return False

    async def _investigate(
        self, sid: str, claimed: Any, cancel: asyncio.Event, ctx: EventContext
    ) -> RunOutcome:
        emit = self.bus.emit
        row = await get_session(self.db, sid)
        if row is None:
            raise RuntimeError(f"session {sid} vanished")
        chain_name = row.chain_name or self.cfg.agents.routing.default_chain
        if row.chain_snapshot:
            chain = ChainConfig.model_validate(row.chain_snapshot)
        else:
            chain = self.cfg.agents.chains[chain_name]
        alerts = await list_alerts(self.db, sid)
        firing = [a for a in alerts if a.status == "firing"] or alerts
        if not firing:
            raise RuntimeError(f"session {sid} has no stored alert")
        alert = alert_from_row(firing[0])
        runbook = await self.runbooks.resolve(alert, chain)
        for note in runbook.notes:
            await emit(
                SessionNote(
                    ctx=ctx,
                    code="runbook_unavailable",
                    message=f"{note}; continuing with {runbook.source}",
                )
            )
        # Written synchronously (follow-ups read it back); the recorder skips this event.
        await records.add_event(
            self.db,
            sid,
            "RunbookLoaded",
            f"runbook: {runbook.source}",
            data={"source": runbook.source, "text": runbook.text},
        )
        await emit(RunbookLoaded(ctx=ctx, source=runbook.source, text=runbook.text))
        if claimed.resumed:
            for st in await stage_repo.list_stages(self.db, sid):
                if st.status == "running":  # left behind by the worker that died
                    await stage_repo.finish_stage(
                        self.db,
                        st.id,
                        status="failed",
                        error="interrupted: its worker stopped (crash or restart); re-run "
                        "on resume",
                    )
        done = await stage_repo.completed_stages(self.db, sid)
        completed: list[tuple[str, dict]] = []
        for i, stage in enumerate(chain.stages):
            st = done.get(i)
            if st is None or st.name != stage.name:
                break
            result = {k: v for k, v in (st.result or {}).items() if k != "agent_results"}
            completed.append((stage.name, result))
        attempt = claimed.attempt or 1
        if completed:
            await emit(
                SessionNote(
                    ctx=ctx,
                    code="resumed",
                    message=f"resuming after a worker restart (attempt {attempt}): stages "
                    f"{', '.join(n for n, _ in completed)} already done; continuing with "
                    f"stage {len(completed) + 1}/{len(chain.stages)}",
                )
            )
        req = RunRequest(
            session_id=sid,
            chain_name=chain_name,
            chain=chain,
            alert_text=alert_text(alert),
            runbook=runbook.text,
            completed=completed,
            attempt=attempt,
            owner=self.owner_id,
        )
        lost = self._lost.get(sid)

        async def emit_unless_lost(event) -> None:  # noqa: ANN001
            if isinstance(event, SessionFinished):
                # Held until the outcome is stored (see _run_session); once another worker
                # owns the session, this one must not announce an outcome at all.
                if lost is None or not lost.is_set():
                    self._held[sid] = event
                return
            await self.bus.emit(event)

        runner = ChainRunner(
            self.investigator, self.cfg.settings.timeouts, emit_unless_lost, self._store
        )
        return await runner.run(req, cancel)

    async def _heartbeat(self, sid: str, cancel: asyncio.Event, lost: asyncio.Event) -> None:
        """Renew the lease; watch the DB cancel flag (set by any replica)."""
        interval = self.q.heartbeat_seconds
        check = min(interval, 1.0)
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + interval
        while True:
            await asyncio.sleep(check)
            try:
                if loop.time() >= next_beat:
                    next_beat = loop.time() + interval
                    beat = await queue.heartbeat_status(
                        self.db, sid, self.owner_id, lease_seconds=self.q.lease_seconds
                    )
                    if not beat.ok:
                        lost.set()
                        cancel.set()
                        return
                    cancel_requested = beat.cancel_requested
                else:
                    row = await get_session(self.db, sid)
                    cancel_requested = bool(row and row.cancel_requested)
                if cancel_requested:
                    cancel.set()
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat for session %s failed; retrying", sid)

    # ------------------------------------------------------------------ follow-ups
    async def _take_followups(self, room: int) -> int:
        """Start queued follow-ups, oldest first, one at a time per session (so each answer
        sees the previous ones and they land in the thread in the order they were asked)."""
        started = 0
        busy = {
            f.session_id for f in await followup_repo.list_followups(self.db, status="answering")
        }
        for f in await followup_repo.list_followups(self.db, status="queued"):
            if started >= room:
                break
            if f.id in self._tasks or f.session_id in busy:
                continue
            busy.add(f.session_id)
            session = await get_session(self.db, f.session_id)
            if session is None or session.status in ACTIVE_STATUSES:
                continue  # asked mid-investigation: answered after it finishes
            if await followup_repo.start_answering(
                self.db, f.id, owner=self.owner_id, lease_seconds=self.q.lease_seconds
            ):
                self._spawn(f.id, self._answer_leased(f, session))
                started += 1
        return started

    async def _answer_leased(self, f: Any, session: Any) -> None:
        """Answer while renewing the follow-up's lease; on stop, hand it back to the queue."""
        hb = asyncio.create_task(self._renew_followup(f.id))
        try:
            await self._answer(f, session)
        finally:
            hb.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hb

    async def _renew_followup(self, followup_id: str) -> None:
        while True:
            await asyncio.sleep(self.q.heartbeat_seconds)
            try:
                ok = await followup_repo.renew_lease(
                    self.db, followup_id, self.owner_id, self.q.lease_seconds
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("renewing the lease of follow-up %s failed; retrying", followup_id)
                continue
            if not ok:
                log.warning("follow-up %s: lease lost (requeued by the reaper)", followup_id)
                return

    async def _answer(self, f: Any, session: Any) -> None:
        ctx = EventContext(session_id=f.session_id)
        await self.bus.emit(
            FollowupStarted(ctx=ctx, followup_id=f.id, question=f.question, asked_by=f.asked_by)
        )
        try:
            chain = (
                ChainConfig.model_validate(session.chain_snapshot)
                if session.chain_snapshot
                else self.cfg.agents.chains[
                    session.chain_name or self.cfg.agents.routing.default_chain
                ]
            )
            if not chain.chat.enabled:
                raise RuntimeError(
                    f"follow-up questions are disabled for chain "
                    f"'{session.chain_name}' (chains.{session.chain_name}.chat)"
                )
            last = chain.stages[-1]
            agent = chain.chat.agent or last.synthesis_agent or last.agent_names[0]
            timeline = await get_timeline(self.db, f.session_id)
            history = [
                (x.question, x.answer or "")
                for x in timeline.followups
                if x.status == "answered" and x.id != f.id
            ]
            async with asyncio.timeout(self.cfg.settings.timeouts.stage_seconds):
                result = await self.investigator.chat(
                    agent=agent,
                    question=f.question,
                    incident_context=incident_context(timeline),
                    history=history,
                    mcp_servers=chain.chat.mcp_servers,
                    max_iterations=chain.chat.max_iterations,
                    emit=self.bus.emit,
                    ctx=EventContext(session_id=f.session_id, agent=agent),
                )
            answer = getattr(result, "full_text", "") or getattr(result, "summary", "")
            i, o = result_tokens(result)
            if not await followup_repo.finish_followup(
                self.db, f.id, answer=answer, input_tokens=i, output_tokens=o, owner=self.owner_id
            ):
                log.warning("follow-up %s: lease lost while answering; dropping answer", f.id)
                return
            await self.bus.emit(
                FollowupFinished(
                    ctx=ctx,
                    followup_id=f.id,
                    status="answered",
                    answer=answer,
                    input_tokens=i,
                    output_tokens=o,
                )
            )
        except asyncio.CancelledError:
            # Worker stopping: requeue it so another worker (or this one after a restart)
            # answers it.
            with contextlib.suppress(Exception):
                await asyncio.shield(followup_repo.release_followup(self.db, f.id, self.owner_id))
            raise
        except Exception as e:
            msg = f"could not answer the follow-up: {type(e).__name__}: {e}"
            if isinstance(e, TimeoutError):
                msg = "could not answer the follow-up: timed out (timeouts.stage_seconds)"
            if not await followup_repo.finish_followup(
                self.db, f.id, error=msg, owner=self.owner_id
            ):
                return
            await self.bus.emit(
                FollowupFinished(ctx=ctx, followup_id=f.id, status="failed", error=msg)
            )

    # ------------------------------------------------------------------ periodic jobs
    def _start_scheduler(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        sched = AsyncIOScheduler()
        sched.add_job(
            self.reap_once,
            "interval",
            seconds=max(self.q.lease_seconds / 2, 1.0),
            id=REAPER_JOB,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
        sched.add_job(
            self.retention_once,
            "interval",
            hours=self.cfg.settings.retention.cleanup_interval_hours,
            id=RETENTION_JOB,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
        sched.start()
        self._scheduler = sched

    async def reap_once(self) -> Any:
        """Requeue/fail sessions whose lease expired and requeue follow-ups whose answering
        worker died; None when another replica holds the job."""
        async with queue.advisory_lock(self.db, REAPER_JOB) as got:
            if not got:
                return None
            result = await queue.reap_expired(self.db, self.q.max_attempts)
            followups = await followup_repo.requeue_expired(self.db)
        if followups:
            log.warning("requeued %d follow-up(s) whose worker stopped answering", len(followups))
        if result.requeued or followups:
            self.wake()
        return result

    async def retention_once(self) -> dict[str, int] | None:
        async with queue.advisory_lock(self.db, RETENTION_JOB) as got:
            if not got:
                return None
            return await queue.purge_older_than(self.db, self.cfg.settings.retention.days)
