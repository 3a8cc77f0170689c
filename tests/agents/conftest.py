"""Shared helpers: configs pointing at the devkit stand-ins, an event collector."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.events import Event
from config.models import AgentsConfig, TimeoutSettings

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "devkit" / "scenarios"
SECRET_B64 = "UzNjcjN0LVBhc3N3MHJkLTQyIQ=="
SECRET_PLAIN = "S3cr3t-Passw0rd-42!"

FINAL_ANSWER = """\
## Summary
Checkout pods are OOMKilled since the 14:50 rollout cut the memory limit to 128Mi.
## Findings
- all three checkout pods are OOMKilled (exit code 137) and in CrashLoopBackOff
- revision 42 lowered the memory limit from 512Mi to 128Mi
## Likely cause
The JVM heap (-Xmx384m) no longer fits into the 128Mi limit set by revision 42.
## Confidence
high
## Next steps
1. kubectl -n payments rollout undo deployment/checkout --to-revision=41
2. restore a memory limit of at least 512Mi
"""


class Events:
    """An EventSink that keeps every event (and can run a hook per event)."""

    def __init__(self) -> None:
        self.items: list[Event] = []
        self.hook: Any = None

    async def __call__(self, event: Event) -> None:
        self.items.append(event)
        if self.hook is not None:
            await self.hook(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.items if isinstance(e, kind)]


def recorded_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def agents_config(
    *,
    llm_url: str,
    provider_type: str = "gemini",
    record: Path | None = None,
    scenario: Path | str = SCENARIOS / "checkout-oom.yaml",
    max_iterations: int = 6,
    threshold_tokens: int = 8000,
    extra_servers: dict[str, Any] | None = None,
    provider_overrides: dict[str, Any] | None = None,
    servers: list[str] | None = None,
) -> AgentsConfig:
    args = ["-m", "devkit.cli", "cluster", "--scenario", str(scenario)]
    if record is not None:
        args += ["--record", str(record)]
    provider = {
        "type": provider_type,
        "model": "gemini-test" if provider_type == "gemini" else "gpt-test",
        "api_key": "test-key",
        "base_url": llm_url if provider_type == "gemini" else llm_url + "/v1",
        "api_version": "v1beta",
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 2.0,
        "max_retries": 3,
        "timeout_seconds": 10,
    }
    provider.update(provider_overrides or {})
    mcp = {
        "kubernetes": {
            "transport": {
                "type": "stdio",
                "command": sys.executable,
                "args": args,
                "env": {"PYTHONPATH": str(REPO)},
                "timeout_seconds": 20,
            },
            "summarization": {"threshold_tokens": threshold_tokens, "summary_max_tokens": 300},
        }
    }
    mcp.update(extra_servers or {})
    return AgentsConfig.model_validate(
        {
            "llm_providers": {"main": provider},
            "default_llm_provider": "main",
            "mcp_servers": mcp,
            "agents": {
                "k8s": {
                    "instructions": "Focus on Kubernetes workloads.",
                    "mcp_servers": servers if servers is not None else ["kubernetes"],
                    "max_iterations": max_iterations,
                },
                "plain": {"instructions": "No tools.", "mcp_servers": []},
            },
            "chains": {"default": {"stages": [{"name": "investigate", "agent": "k8s"}]}},
            "routing": {"default_chain": "default"},
        }
    )


def timeouts(**kw: float) -> TimeoutSettings:
    return TimeoutSettings(**{"llm_call_seconds": 10, "tool_call_seconds": 10, **kw})


@pytest.fixture
def events() -> Events:
    return Events()
