"""A scripted stand-in for `agents.Investigator` (same call signatures) for fast worker tests.

The end-to-end tests use the real investigator against the devkit Gemini and cluster servers;
this one lets the queue/runner logic (timeouts, cancel, resume, parallel policy) be tested in
milliseconds. It emits the same event types the real one does, so the recorder is exercised.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from agents.events import LlmTurnFinished, LlmTurnStarted, TextDelta, ToolCallFinished
from agents.result import StageResult, parse_final_answer


def answer(cause: str, step: str, confidence: str = "high") -> str:
    return (
        f"## Findings\n- found {cause}\n## Likely cause\n{cause}\n## Confidence\n"
        f"{confidence}\n## Next steps\n1. {step}\n"
    )


@dataclass
class Call:
    kind: str  # stage | synthesize | chat
    agent: str
    stage: str | None
    prior: list[str] = field(default_factory=list)
    question: str | None = None
    context: str = ""
    history: list = field(default_factory=list)


class FakeInvestigator:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.delay: dict[tuple[str, str], float] = {}  # (stage, agent) -> seconds
        self.fail: dict[tuple[str, str], str] = {}
        self.block: dict[tuple[str, str], asyncio.Event] = {}
        self.started: dict[tuple[str, str], asyncio.Event] = {}

    def started_event(self, stage: str, agent: str) -> asyncio.Event:
        return self.started.setdefault((stage, agent), asyncio.Event())

    async def _turn(self, emit, ctx, text: str, purpose: str) -> None:
        iid = uuid.uuid4().hex
        await emit(
            LlmTurnStarted(
                ctx=ctx,
                interaction_id=iid,
                provider="fake",
                model="m",
                iteration=1,
                purpose=purpose,
            )
        )
        await emit(
            ToolCallFinished(
                ctx=ctx,
                call_id=iid,
                server="kubernetes",
                tool="pods_list",
                arguments={"namespace": "payments"},
                result="pods...",
                result_for_model="pods...",
                duration_ms=1.0,
            )
        )
        await emit(TextDelta(ctx=ctx, interaction_id=iid, text=text))
        await emit(
            LlmTurnFinished(
                ctx=ctx,
                interaction_id=iid,
                provider="fake",
                model="m",
                purpose=purpose,
                request={"system": "x"},
                response_text=text,
                thinking_text="",
                function_calls=[],
                input_tokens=100,
                output_tokens=10,
                thinking_tokens=0,
                latency_ms=1.0,
                finish_reason="STOP",
            )
        )

    async def _stage(self, key: tuple[str, str], emit, ctx, text: str, purpose: str) -> StageResult:
        self.started_event(*key).set()
        if key in self.block:
            await self.block[key].wait()
        if key in self.delay:
            await asyncio.sleep(self.delay[key])
        if key in self.fail:
            raise RuntimeError(self.fail[key])
        await self._turn(emit, ctx, text, purpose)
        r = parse_final_answer(text)
        r.input_tokens, r.output_tokens, r.agent = 100, 10, key[1]
        return r

    async def run_stage(
        self, *, agent, stage_name, alert_text, runbook, prior_results, emit, ctx
    ) -> StageResult:
        self.calls.append(
            Call(
                "stage",
                agent,
                stage_name,
                [n for n, _ in prior_results],
                context=alert_text + "\n" + (runbook or ""),
            )
        )
        return await self._stage(
            (stage_name, agent),
            emit,
            ctx,
            answer(f"{stage_name} cause by {agent}", f"fix {stage_name}"),
            "investigate",
        )

    async def synthesize(
        self, *, agent, stage_name, alert_text, runbook, results, emit, ctx
    ) -> StageResult:
        self.calls.append(Call("synthesize", agent, stage_name, [n for n, _ in results]))
        merged = " + ".join(r.likely_cause for _, r in results)
        return await self._stage(
            (stage_name, f"synth:{agent}"),
            emit,
            ctx,
            answer(f"merged({merged})", "merged step"),
            "synthesize",
        )

    async def chat(
        self, *, agent, question, incident_context, history, mcp_servers, max_iterations, emit, ctx
    ) -> StageResult:
        self.calls.append(
            Call(
                "chat",
                agent,
                None,
                question=question,
                context=incident_context,
                history=list(history),
            )
        )
        return await self._stage(
            ("chat", agent), emit, ctx, f"Answer to '{question}': roll back to revision 41.", "chat"
        )

    async def aclose(self) -> None:
        pass

    def stage_calls(self) -> list[tuple[str, str]]:
        return [(c.stage, c.agent) for c in self.calls if c.kind == "stage"]


def make_config(
    tmp_path,
    *,
    chains: dict[str, Any] | None = None,
    queue: dict | None = None,
    timeouts: dict | None = None,
) -> Any:
    from config.models import AgentsConfig, TarsyConfig, TarsySettings

    (tmp_path / "runbooks").mkdir(exist_ok=True)
    (tmp_path / "runbooks" / "generic.md").write_text("# Generic runbook\nCheck pods.\n")
    chains = chains or {
        "kubernetes": {
            "stages": [
                {"name": "triage", "agent": "TriageAgent"},
                {"name": "diagnose", "agent": "KubernetesAgent"},
                {"name": "recommend", "agent": "RecommendAgent"},
            ]
        },
    }
    agents = AgentsConfig.model_validate(
        {
            "llm_providers": {"gemini": {"type": "gemini", "model": "gemini-2.5-flash"}},
            "default_llm_provider": "gemini",
            "agents": {
                n: {}
                for n in (
                    "TriageAgent",
                    "KubernetesAgent",
                    "RecommendAgent",
                    "LogsAgent",
                    "MetricsAgent",
                    "SynthAgent",
                )
            },
            "chains": chains,
            "routing": {"default_chain": next(iter(chains))},
            "runbooks": {"directories": [str(tmp_path / "runbooks")]},
        }
    )
    settings = TarsySettings.model_validate(
        {
            "queue": {
                "lease_seconds": 5,
                "heartbeat_seconds": 0.5,
                "poll_seconds": 0.2,
                **(queue or {}),
            },
            "timeouts": timeouts or {},
        }
    )
    return TarsyConfig(settings=settings, agents=agents, config_dir=str(tmp_path))
