"""The investigator: one tool loop (LLM <-> MCP tools) per stage, chat turn or synthesis.

It reports through `EventSink` only; it knows nothing about Slack or the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from typing import Any

from agents import budget, prompts
from agents.events import (
    AgentWarning,
    EventContext,
    EventSink,
    LlmTurnFinished,
    LlmTurnStarted,
    TextDelta,
    ThoughtDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from agents.llm.base import (
    FunctionCall,
    LlmError,
    LlmProvider,
    LlmRequest,
    Message,
    ToolResultMessage,
    TurnOutput,
)
from agents.llm.registry import ProviderRegistry
from agents.masking import Masker
from agents.mcp.hub import ToolHub
from agents.mcp.tools import ToolSpec
from agents.result import StageResult, parse_final_answer
from config.models import AgentConfig, AgentsConfig, TarsyConfig, TimeoutSettings


async def _no_sink(_event: Any) -> None:
    return None


@dataclasses.dataclass(slots=True)
class _Run:
    """Mutable state of one loop run."""

    agent_name: str
    agent: AgentConfig
    provider: LlmProvider
    servers: list[str]
    emit: EventSink
    ctx: EventContext
    context_hint: str  # short investigation context for summarisation prompts
    purpose: str = "investigate"
    result: StageResult = dataclasses.field(default_factory=StageResult)


class Investigator:
    def __init__(
        self,
        config: AgentsConfig,
        timeouts: TimeoutSettings,
        hub: ToolHub,
        providers: ProviderRegistry,
    ) -> None:
        self.config = config
        self.timeouts = timeouts
        self.hub = hub
        self.providers = providers
        self.masker = Masker.from_settings()

    # ------------------------------------------------------------------ public API

    async def run_stage(
        self,
        *,
        agent: str,
        stage_name: str,
        alert_text: str,
        runbook: str | None,
        prior_results: list[tuple[str, StageResult]],
        emit: EventSink = _no_sink,
        ctx: EventContext | None = None,
    ) -> StageResult:
        cfg = self._agent(agent)
        run = self._new_run(agent, cfg, cfg.mcp_servers, emit, ctx, alert_text)
        tools = await self.hub.tools_for(run.servers, run.emit, run.ctx)
        system = prompts.system_prompt(
            stage_name=stage_name,
            agent_instructions=cfg.instructions,
            server_instructions=self.hub.instructions(run.servers),
            runbook=self._mask(runbook),
            prior_results=[(n, self._mask(r.full_text or r.summary)) for n, r in prior_results],
        )
        user = (
            "Investigate this alert. Find the likely cause and what a human should do next.\n\n"
            + prompts.wrap_untrusted("alert", self._mask(alert_text))
        )
        return await self._loop(run, system, [Message("user", user)], tools, cfg.max_iterations)

    async def synthesize(
        self,
        *,
        agent: str,
        stage_name: str,
        alert_text: str,
        runbook: str | None,
        results: list[tuple[str, StageResult]],
        emit: EventSink = _no_sink,
        ctx: EventContext | None = None,
    ) -> StageResult:
        """Merge parallel agents' results into one (one LLM turn, no tools)."""
        cfg = self._agent(agent)
        run = self._new_run(agent, cfg, [], emit, ctx, alert_text)
        run.purpose = "synthesize"
        system = prompts.system_prompt(
            stage_name=stage_name,
            agent_instructions=cfg.instructions,
            runbook=self._mask(runbook),
            extra=(
                "Several investigators examined the same alert in parallel. Merge their results "
                "into one answer: keep findings backed by evidence, resolve contradictions "
                "(say which result you trust and why), and drop duplicates.\n"
            ),
        )
        reports = "\n\n".join(
            prompts.wrap_untrusted(f"investigator:{name}", self._mask(r.full_text or r.summary))
            for name, r in results
        )
        user = (
            prompts.wrap_untrusted("alert", self._mask(alert_text))
            + "\n\nResults of the parallel investigations:\n"
            + reports
        )
        return await self._loop(run, system, [Message("user", user)], [], 0)

    async def chat(
        self,
        *,
        agent: str,
        question: str,
        incident_context: str,
        history: list[tuple[str, str]],
        mcp_servers: list[str] | None,
        max_iterations: int,
        emit: EventSink = _no_sink,
        ctx: EventContext | None = None,
    ) -> StageResult:
        """Answer one follow-up question. `history` is [(question, answer), ...]."""
        cfg = self._agent(agent)
        servers = cfg.mcp_servers if mcp_servers is None else mcp_servers
        run = self._new_run(agent, cfg, servers, emit, ctx, question)
        run.purpose = "chat"
        tools = await self.hub.tools_for(run.servers, run.emit, run.ctx)
        system = prompts.system_prompt(
            chat=True,
            agent_instructions=cfg.instructions,
            server_instructions=self.hub.instructions(run.servers),
            extra="## Incident context\n"
            + prompts.wrap_untrusted("incident", self._mask(incident_context))
            + "\n",
        )
        messages: list[Message] = []
        for q, a in history:
            messages.append(Message("user", self._question(q)))
            messages.append(Message("model", self._mask(a)))
        messages.append(Message("user", self._question(question)))
        return await self._loop(run, system, messages, tools, max_iterations)

    async def aclose(self) -> None:
        await self.hub.aclose()
        await self.providers.aclose()

    # ------------------------------------------------------------------ helpers

    def _agent(self, name: str) -> AgentConfig:
        try:
            return self.config.agents[name]
        except KeyError:
            known = ", ".join(sorted(self.config.agents))
            raise KeyError(f"unknown agent '{name}' (known: {known})") from None

    def _new_run(
        self,
        name: str,
        cfg: AgentConfig,
        servers: list[str],
        emit: EventSink,
        ctx: EventContext | None,
        context_source: str,
    ) -> _Run:
        ctx = ctx or EventContext()
        if ctx.agent is None:
            ctx = dataclasses.replace(ctx, agent=name)
        provider = self.providers.get(cfg.llm_provider)
        hint = self._mask(context_source)[:1500]
        return _Run(
            name, cfg, provider, list(servers), emit, ctx, hint, result=StageResult(agent=name)
        )

    def _mask(self, text: str | None) -> str:
        return self.masker.mask_text(text) if text else ""

    def _question(self, text: str) -> str:
        return "Question from the Slack thread:\n" + prompts.wrap_untrusted(
            "slack", self._mask(text)
        )

    # ------------------------------------------------------------------ the loop

    async def _loop(
        self,
        run: _Run,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_iterations: int,
    ) -> StageResult:
        final: TurnOutput | None = None
        iteration = 0
        while iteration < max_iterations:
            iteration += 1
            out = await self._turn(run, LlmRequest(system, messages, tools), run.purpose, iteration)
            messages.append(out.as_message(run.provider.name))
            if not out.function_calls:
                final = out
                break
            results = await self._run_tools(run, out.function_calls, tools)
            messages.append(Message("tool", tool_results=results))

        if final is None or not final.text.strip():
            if final is None and max_iterations > 0:
                run.result.forced_conclusion = True
                await run.emit(
                    AgentWarning(
                        ctx=run.ctx,
                        code="max_iterations",
                        message=f"agent '{run.agent_name}' used all {max_iterations} "
                        "investigation steps; asking for a conclusion from the evidence so far",
                    )
                )
                messages.append(Message("user", prompts.CONCLUDE_NOW))
            purpose = "conclude" if max_iterations > 0 else run.purpose
            iteration += 1
            final = await self._turn(run, LlmRequest(system, messages, []), purpose, iteration)

        result = parse_final_answer(final.text)
        totals = run.result
        result.input_tokens = totals.input_tokens
        result.output_tokens = totals.output_tokens
        result.thinking_tokens = totals.thinking_tokens
        result.llm_calls = totals.llm_calls
        result.tool_calls = totals.tool_calls
        result.forced_conclusion = totals.forced_conclusion
        result.iterations = iteration
        result.agent = run.agent_name
        return result

    async def _turn(
        self,
        run: _Run,
        req: LlmRequest,
        purpose: str,
        iteration: int,
        provider: LlmProvider | None = None,
    ) -> TurnOutput:
        """One streamed LLM call with its events. A retry after partial output closes the
        failed interaction (error set) and streams the retry under a new interaction id."""
        provider = provider or run.provider
        emit, ctx = run.emit, run.ctx
        state = {"id": uuid.uuid4().hex}

        async def started() -> None:
            await emit(
                LlmTurnStarted(
                    ctx=ctx,
                    interaction_id=state["id"],
                    provider=provider.name,
                    model=provider.model,
                    iteration=iteration,
                    purpose=purpose,
                )
            )

        async def on_text(delta: str) -> None:
            await emit(TextDelta(ctx=ctx, interaction_id=state["id"], text=delta))

        async def on_thought(delta: str) -> None:
            await emit(ThoughtDelta(ctx=ctx, interaction_id=state["id"], text=delta))

        def finished(out: TurnOutput | None, error: str | None, attempts: int) -> LlmTurnFinished:
            out = out or TurnOutput()
            return LlmTurnFinished(
                ctx=ctx,
                interaction_id=state["id"],
                provider=provider.name,
                model=provider.model,
                purpose=purpose,
                request=req.describe(),
                response_text=out.text,
                thinking_text=out.thinking,
                function_calls=[c.to_dict() for c in out.function_calls],
                input_tokens=out.input_tokens,
                output_tokens=out.output_tokens,
                thinking_tokens=out.thinking_tokens,
                latency_ms=out.latency_ms,
                finish_reason=out.finish_reason,
                error=error,
                attempts=attempts,
            )

        async def on_retry(attempt: int, err: Exception, streamed: bool, delay: float) -> None:
            if streamed:  # reset: close the partial interaction, open a fresh one
                await emit(
                    finished(None, f"attempt {attempt} failed mid-stream: {err}; retrying", attempt)
                )
                state["id"] = uuid.uuid4().hex
                await started()

        await started()
        try:
            out = await provider.generate(
                req, on_text=on_text, on_thought=on_thought, on_retry=on_retry
            )
        except LlmError as e:
            await emit(finished(None, str(e), e.attempts))
            raise
        run.result.llm_calls += 1  # summaries included: the totals are what the stage cost
        run.result.input_tokens += out.input_tokens or 0
        run.result.output_tokens += out.output_tokens or 0
        run.result.thinking_tokens += out.thinking_tokens or 0
        await emit(finished(out, None, out.attempts))
        return out

    async def _run_tools(
        self, run: _Run, calls: list[FunctionCall], tools: list[ToolSpec]
    ) -> list[ToolResultMessage]:
        """Run one turn's tool calls concurrently; results keep the model's call order."""
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self._run_tool(run, call)) for call in calls]
        return [t.result() for t in tasks]

    async def _run_tool(self, run: _Run, call: FunctionCall) -> ToolResultMessage:
        call_id = call.id or uuid.uuid4().hex
        run.result.tool_calls += 1
        resolved = self.hub.resolve(call.name, run.servers)
        server, tool = resolved if resolved else ("", call.name)
        args = self.masker.mask_obj(call.args)
        await run.emit(
            ToolCallStarted(ctx=run.ctx, call_id=call_id, server=server, tool=tool, arguments=args)
        )
        # Policy, unknown names and masking are enforced inside the hub: a denied call is
        # answered with an error and never reaches the server.
        outcome = await self.hub.call(
            call.name, call.args, servers=run.servers, emit=run.emit, ctx=run.ctx
        )

        for_model, summarized, original = outcome.text, False, None
        if not outcome.denied and not outcome.error and server:
            for_model, summarized, original = await self._apply_budget(
                run, server, tool, call, outcome.text
            )
        await run.emit(
            ToolCallFinished(
                ctx=run.ctx,
                call_id=call_id,
                server=outcome.server or server,
                tool=outcome.tool or tool,
                arguments=args,
                result=outcome.text,
                result_for_model=for_model,
                duration_ms=outcome.duration_ms,
                error=outcome.error,
                denied=outcome.denied,
                summarized=summarized,
                original_tokens=original,
            )
        )
        content = prompts.wrap_untrusted(f"tool:{call.name}", for_model)
        return ToolResultMessage(
            call_id=call.id, name=call.name, content=content, is_error=outcome.error is not None
        )

    # ------------------------------------------------------------------ budgets

    async def _apply_budget(
        self, run: _Run, server: str, tool: str, call: FunctionCall, text: str
    ) -> tuple[str, bool, int | None]:
        settings = self.hub.config(server).summarization
        if not settings.enabled or not budget.over_budget(text, settings.threshold_tokens):
            return text, False, None
        original = budget.estimate_tokens(text)
        try:
            provider = self.providers.get(settings.provider or run.agent.llm_provider)
            summary = await self._summarize(
                run, provider, server, tool, call, text, settings.summary_max_tokens
            )
            if summary.strip():
                return budget.summarized_for_model(summary, original), True, original
            problem = "the summary was empty"
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - fall back to cutting, never drop the result
            problem = str(e)
        await run.emit(
            AgentWarning(
                ctx=run.ctx,
                code="summarization_failed",
                message=f"could not summarise the {server}/{tool} result ({problem}); "
                "the model got a cut version instead",
            )
        )
        return budget.cut_for_model(text, settings.threshold_tokens), True, original

    async def _summarize(
        self,
        run: _Run,
        provider: LlmProvider,
        server: str,
        tool: str,
        call: FunctionCall,
        text: str,
        max_tokens: int,
    ) -> str:
        body = budget.cut(text, budget.SUMMARIZER_INPUT_CHARS)
        user = (
            "Investigation context (what the engineer is looking into):\n"
            + prompts.wrap_untrusted("context", run.context_hint)
            + f"\n\nTool: {server}/{tool} with arguments "
            + json.dumps(self.masker.mask_obj(call.args), default=str)[:500]
            + f"\nCondense this result to at most ~{max_tokens} tokens:\n"
            + prompts.wrap_untrusted(f"tool:{server}__{tool}", body)
        )
        req = LlmRequest(
            prompts.SUMMARIZE_SYSTEM, [Message("user", user)], [], max_output_tokens=max_tokens
        )
        out = await self._turn(run, req, "summarize", 0, provider=provider)
        return out.text


def build_investigator(cfg: TarsyConfig) -> Investigator:
    """The production wiring: hub and providers from the effective configuration."""
    timeouts = cfg.settings.timeouts
    hub = ToolHub(cfg.agents.mcp_servers, tool_timeout_s=timeouts.tool_call_seconds)
    providers = ProviderRegistry.from_config(cfg.agents, call_timeout_s=timeouts.llm_call_seconds)
    return Investigator(cfg.agents, timeouts, hub, providers)
