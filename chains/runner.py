"""Runs a chain's stages in order for one session.

Each stage's structured result is handed to the next. A parallel stage (`agents: [...]`) runs
its agents concurrently and the synthesis agent merges them (`success_policy` any/all). The
runner persists stage start/finish synchronously through a `StageStore` (resume depends on
it), emits typed events for everything else, and honours the session timeout, per-stage
timeouts and cancellation. It knows nothing about Slack, the terminal or the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.events import AgentWarning, EventContext, EventSink
from chains.events import SessionFinished, SessionStarted, StageFinished, StageStarted
from chains.results import StageResult, result_tokens
from config.models import ChainConfig, StageConfig, TimeoutSettings


class StageStore(Protocol):
    """Durable stage bookkeeping (the worker provides a storage-backed one)."""

    async def stage_started(
        self, *, session_id: str, index: int, name: str, agents: list[str], attempt: int
    ) -> str: ...

    async def stage_finished(
        self,
        *,
        stage_id: str,
        status: str,
        result: dict[str, Any] | None,
        error: str | None,
        agent_results: dict[str, Any] | None = None,
    ) -> None: ...


@dataclass(slots=True)
class RunRequest:
    session_id: str
    chain_name: str
    chain: ChainConfig
    alert_text: str
    runbook: str | None
    completed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(stage name, StageResult dict) of stages finished by earlier attempts, in order."""
    attempt: int = 1
    owner: str = ""


@dataclass(slots=True)
class RunOutcome:
    status: str  # completed | failed | cancelled | timed_out
    final_text: str = ""
    executive_summary: str = ""
    likely_cause: str = ""
    confidence: str = "unknown"
    next_steps: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    duration_s: float = 0.0
    error: str | None = None
    stages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def result_dict(self) -> dict[str, Any]:
        return {
            "likely_cause": self.likely_cause,
            "confidence": self.confidence,
            "next_steps": self.next_steps,
            "stages": [{"name": n, "result": r} for n, r in self.stages],
        }


class StageFailed(Exception):
    def __init__(
        self, message: str, status: str = "failed", agent_results: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.agent_results = agent_results


class ChainRunner:
    def __init__(
        self,
        investigator: Any,
        timeouts: TimeoutSettings,
        emit: EventSink,
        store: StageStore,
    ) -> None:
        self.investigator = investigator
        self.timeouts = timeouts
        self.emit = emit
        self.store = store

    async def run(self, req: RunRequest, cancel: asyncio.Event | None = None) -> RunOutcome:
        """Run the remaining stages. Never raises for stage errors: they end in the outcome."""
        started = time.monotonic()
        ctx = EventContext(session_id=req.session_id)
        names = [s.name for s in req.chain.stages]
        await self.emit(
            SessionStarted(
                ctx=ctx,
                chain=req.chain_name,
                stage_names=names,
                attempt=req.attempt,
                resumed_from=len(req.completed),
                owner=req.owner,
            )
        )
        results: list[tuple[str, StageResult]] = [
            (n, StageResult.from_dict(d)) for n, d in req.completed
        ]
        main = asyncio.create_task(self._run_stages(req, results))
        waiters: set[asyncio.Future] = {main}
        cancel_wait = None
        if cancel is not None:
            cancel_wait = asyncio.create_task(cancel.wait())
            waiters.add(cancel_wait)
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=self.timeouts.session_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            # The worker is stopping: interrupt the stages too (they record "cancelled").
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await main
            raise
        finally:
            if cancel_wait is not None:
                cancel_wait.cancel()
        status, error = "completed", None
        if main not in done:
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await main
            if cancel is not None and cancel.is_set():
                status, error = "cancelled", "cancelled on request"
            else:
                status = "timed_out"
                error = (
                    f"session timed out after {self.timeouts.session_seconds:g}s "
                    "(timeouts.session_seconds)"
                )
        else:
            exc = main.exception()
            if isinstance(exc, StageFailed):
                status, error = exc.status, str(exc)
            elif exc is not None:
                status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        outcome = self._outcome(status, error, results, time.monotonic() - started)
        await self.emit(
            SessionFinished(
                ctx=ctx,
                status=outcome.status,
                final_text=outcome.final_text,
                executive_summary=outcome.executive_summary,
                likely_cause=outcome.likely_cause,
                confidence=outcome.confidence,
                next_steps=outcome.next_steps,
                input_tokens=outcome.input_tokens,
                output_tokens=outcome.output_tokens,
                duration_s=outcome.duration_s,
                error=outcome.error,
            )
        )
        return outcome

    async def _run_stages(self, req: RunRequest, results: list[tuple[str, StageResult]]) -> None:
        total = len(req.chain.stages)
        for index in range(len(req.completed), total):
            stage = req.chain.stages[index]
            result = await self._run_one(req, index, total, stage, list(results))
            results.append((stage.name, result))

    async def _run_one(
        self,
        req: RunRequest,
        index: int,
        total: int,
        stage: StageConfig,
        prior: list[tuple[str, StageResult]],
    ) -> StageResult:
        agents = stage.agent_names
        stage_id = await self.store.stage_started(
            session_id=req.session_id,
            index=index,
            name=stage.name,
            agents=agents,
            attempt=req.attempt,
        )
        ctx = EventContext(
            session_id=req.session_id, stage_id=stage_id, stage_index=index, stage_name=stage.name
        )
        await self.emit(
            StageStarted(ctx=ctx, index=index, total=total, name=stage.name, agents=agents)
        )
        started = time.monotonic()
        limit = stage.timeout_seconds or self.timeouts.stage_seconds
        agent_results: dict[str, Any] | None = None
        try:
            async with asyncio.timeout(limit):
                if stage.agent:
                    result = await self._run_agent(req, stage, ctx, prior, stage.agent)
                else:
                    result, agent_results = await self._run_parallel(req, stage, ctx, prior)
        except asyncio.CancelledError:
            await self._finish(
                ctx,
                stage_id,
                index,
                total,
                stage.name,
                "cancelled",
                None,
                "stage interrupted",
                started,
            )
            raise
        except TimeoutError:
            msg = (
                f"stage {index + 1}/{total} '{stage.name}' timed out after {limit:g}s "
                "(raise the stage's timeout_seconds or timeouts.stage_seconds)"
            )
            await self._finish(
                ctx, stage_id, index, total, stage.name, "timed_out", None, msg, started
            )
            raise StageFailed(msg, "timed_out") from None
        except StageFailed as e:
            await self._finish(
                ctx,
                stage_id,
                index,
                total,
                stage.name,
                "failed",
                None,
                str(e),
                started,
                agent_results=e.agent_results,
            )
            raise
        except Exception as e:
            msg = f"stage {index + 1}/{total} '{stage.name}' failed: {_describe(e)}"
            await self._finish(
                ctx, stage_id, index, total, stage.name, "failed", None, msg, started
            )
            raise StageFailed(msg) from e
        await self._finish(
            ctx,
            stage_id,
            index,
            total,
            stage.name,
            "completed",
            result.to_dict(),
            None,
            started,
            agent_results=agent_results,
        )
        return result

    async def _run_agent(
        self,
        req: RunRequest,
        stage: StageConfig,
        ctx: EventContext,
        prior: list[tuple[str, StageResult]],
        agent: str,
    ) -> StageResult:
        """One agent's investigation of this stage (alone, or as one of a parallel stage)."""
        return await self.investigator.run_stage(
            agent=agent,
            stage_name=stage.name,
            alert_text=req.alert_text,
            runbook=req.runbook,
            prior_results=prior,
            emit=self.emit,
            ctx=_with_agent(ctx, agent),
        )

    async def _run_parallel(
        self,
        req: RunRequest,
        stage: StageConfig,
        ctx: EventContext,
        prior: list[tuple[str, StageResult]],
    ) -> tuple[StageResult, dict[str, Any]]:
        outcomes = await asyncio.gather(
            *(self._run_agent(req, stage, ctx, prior, a) for a in stage.agents),
            return_exceptions=True,
        )
        ok: list[tuple[str, StageResult]] = []
        agent_results: dict[str, Any] = {}
        for agent, out in zip(stage.agents, outcomes, strict=True):
            if isinstance(out, BaseException):
                if isinstance(out, asyncio.CancelledError):
                    raise out
                agent_results[agent] = {"error": _describe(out)}
                await self.emit(
                    AgentWarning(
                        ctx=_with_agent(ctx, agent),
                        code="agent_failed",
                        message=f"agent {agent} failed: {_describe(out)}",
                    )
                )
            else:
                ok.append((agent, out))
                agent_results[agent] = out.to_dict()
        failed = len(stage.agents) - len(ok)
        if not ok or (stage.success_policy == "all" and failed):
            errors = "; ".join(
                f"{a}: {r['error']}" for a, r in agent_results.items() if "error" in r
            )
            raise StageFailed(
                f"stage '{stage.name}' needs {stage.success_policy} of its agents to succeed; "
                f"{failed} of {len(stage.agents)} failed ({errors})",
                agent_results=agent_results,
            )
        synth = stage.synthesis_agent or stage.agents[0]
        merged = await self.investigator.synthesize(
            agent=synth,
            stage_name=stage.name,
            alert_text=req.alert_text,
            runbook=req.runbook,
            results=ok,
            emit=self.emit,
            ctx=_with_agent(ctx, synth),
        )
        # Sub-agents' tokens count toward the stage too: their LLM calls carry this stage's
        # context, and the recorder sums tokens from the stored calls.
        return merged, agent_results

    async def _finish(
        self, ctx, stage_id, index, total, name, status, result, error, started, agent_results=None
    ) -> None:
        await self.store.stage_finished(
            stage_id=stage_id,
            status=status,
            result=result,
            error=error,
            agent_results=agent_results,
        )
        await self.emit(
            StageFinished(
                ctx=ctx,
                index=index,
                total=total,
                name=name,
                status=status,
                result=result,
                error=error,
                duration_s=time.monotonic() - started,
            )
        )

    def _outcome(self, status, error, results, duration) -> RunOutcome:
        out = RunOutcome(status=status, error=error, duration_s=duration)
        out.stages = [(n, r.to_dict()) for n, r in results]
        for _, r in results:
            i, o = result_tokens(r)
            out.input_tokens += i
            out.output_tokens += o
        if results:
            last = results[-1][1]
            out.final_text = getattr(last, "full_text", "") or ""
            out.executive_summary = getattr(last, "summary", "") or ""
        for _, r in reversed(results):
            if not out.likely_cause and getattr(r, "likely_cause", ""):
                out.likely_cause = r.likely_cause
                out.confidence = getattr(r, "confidence", "unknown") or "unknown"
            if not out.next_steps and getattr(r, "next_steps", None):
                out.next_steps = list(r.next_steps)
        if status != "completed" and not out.executive_summary:
            out.executive_summary = f"The investigation did not complete: {error}"
        return out


def _with_agent(ctx: EventContext, agent: str) -> EventContext:
    return EventContext(
        session_id=ctx.session_id,
        stage_id=ctx.stage_id,
        stage_index=ctx.stage_index,
        stage_name=ctx.stage_name,
        agent=agent,
    )


def _describe(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text if type(e).__name__ in text else f"{type(e).__name__}: {text}"
