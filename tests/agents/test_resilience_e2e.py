"""Retries, timeouts and a killed MCP server, against the real stand-ins."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psutil
import pytest

from agents.events import LlmTurnFinished, LlmTurnStarted, TextDelta, ToolCallFinished
from agents.llm.base import LlmError
from devkit.gemini import GeminiServer
from tests.agents.conftest import FINAL_ANSWER, agents_config, recorded_calls
from tests.agents.test_investigation_e2e import ALERT, make, run_stage

SIMPLE = {"turns": [{"id": "answer", "match": {}, "respond": {"text": FINAL_ANSWER}}]}


async def synth(inv, events):
    return await inv.synthesize(
        agent="plain", stage_name="s", alert_text=ALERT, runbook=None, results=[], emit=events
    )


async def test_retry_after_429_and_503_honours_retry_after(events) -> None:
    async with GeminiServer(script=SIMPLE, port=0) as g:
        g.fail_next(status=429, times=1, retry_after_s=0.6)
        g.fail_next(status=503, times=1)
        inv = make(agents_config(llm_url=g.base_url))
        start = time.monotonic()
        try:
            result = await synth(inv, events)
        finally:
            await inv.aclose()
        elapsed = time.monotonic() - start
        assert len(g.requests) == 3
    assert elapsed >= 0.6  # the RetryInfo hint was honoured, not the 0.05 s base backoff
    finished = events.of(LlmTurnFinished)
    assert len(finished) == 1 and finished[0].attempts == 3 and finished[0].error is None
    assert result.confidence == "high"


async def test_last_failure_is_a_clear_llm_error(events) -> None:
    async with GeminiServer(script=SIMPLE, port=0) as g:
        g.fail_next(status=503, times=5)
        inv = make(agents_config(llm_url=g.base_url, provider_overrides={"max_retries": 2}))
        try:
            with pytest.raises(LlmError) as info:
                await synth(inv, events)
        finally:
            await inv.aclose()
        assert len(g.requests) == 3
    msg = str(info.value)
    assert "'main'" in msg and "gemini-test" in msg and "503" in msg and "3 attempt" in msg
    assert "retry later or switch llm_provider" in msg
    assert events.of(LlmTurnFinished)[-1].error == msg


async def test_call_timeout_then_retry_succeeds(events) -> None:
    async with GeminiServer(script=SIMPLE, port=0) as g:
        g.fail_next(kind="hang", delay_s=30)
        inv = make(agents_config(llm_url=g.base_url, provider_overrides={"timeout_seconds": 0.7}))
        start = time.monotonic()
        try:
            result = await synth(inv, events)
        finally:
            await inv.aclose()
        assert len(g.requests) == 2
    assert time.monotonic() - start < 5
    assert events.of(LlmTurnFinished)[-1].attempts == 2
    assert result.confidence == "high"


async def test_retry_after_partial_stream_resets_the_interaction(events) -> None:
    async with GeminiServer(script=SIMPLE, port=0) as g:
        g.fail_next(kind="cut")
        inv = make(agents_config(llm_url=g.base_url))
        try:
            await synth(inv, events)
        finally:
            await inv.aclose()
    started = events.of(LlmTurnStarted)
    finished = events.of(LlmTurnFinished)
    assert len(started) == 2 and started[0].interaction_id != started[1].interaction_id
    assert finished[0].error and "mid-stream" in finished[0].error
    assert finished[0].interaction_id == started[0].interaction_id
    good = started[1].interaction_id
    text = "".join(e.text for e in events.of(TextDelta) if e.interaction_id == good)
    assert text == FINAL_ANSWER  # the successful attempt's text, exactly once


KILL_SCRIPT = {
    "turns": [
        {
            "id": "first",
            "match": {"lacks_function_response": "events_list"},
            "respond": {
                "function_calls": [
                    {"name": "kubernetes__events_list", "args": {"namespace": "payments"}}
                ]
            },
        },
        {
            "id": "second",
            "match": {
                "has_function_response": "events_list",
                "lacks_function_response": "pods_list_in_namespace",
            },
            "respond": {
                "function_calls": [
                    {
                        "name": "kubernetes__pods_list_in_namespace",
                        "args": {"namespace": "payments"},
                    }
                ]
            },
        },
        {
            "id": "final",
            "match": {"has_function_response": "pods_list_in_namespace"},
            "respond": {"text": FINAL_ANSWER},
        },
    ]
}


def cluster_processes() -> list[psutil.Process]:
    return [
        p for p in psutil.Process().children(recursive=True) if "cluster" in " ".join(p.cmdline())
    ]


async def test_killed_mcp_server_is_restarted_and_the_call_retried(tmp_path: Path, events) -> None:
    record = tmp_path / "calls.jsonl"
    killed: list[int] = []

    async def kill_after_first_call(event) -> None:
        if isinstance(event, ToolCallFinished) and not killed:
            for proc in cluster_processes():
                killed.append(proc.pid)
                proc.kill()
                await asyncio.to_thread(proc.wait, 5)

    events.hook = kill_after_first_call
    async with GeminiServer(script=KILL_SCRIPT, port=0) as g:
        inv = make(agents_config(llm_url=g.base_url, record=record))
        try:
            result = await run_stage(inv, events)
            new = [p.pid for p in cluster_processes()]
            assert new and not set(new) & set(killed)
            assert inv.hub.health()["kubernetes"] == "healthy"
        finally:
            await inv.aclose()
    assert killed
    finished = events.of(ToolCallFinished)
    assert [f.error for f in finished] == [None, None]
    assert "checkout-7d9f8b6c5" in finished[1].result
    assert [c["tool"] for c in recorded_calls(record)] == ["events_list", "pods_list_in_namespace"]
    assert result.confidence == "high"
    assert not cluster_processes()  # aclose stopped the server it owned


async def test_cancellation_stops_promptly(events) -> None:
    slow = {
        "turns": [
            {"id": "slow", "match": {}, "respond": {"text": ["a"] * 50, "chunk_delay_ms": 200}}
        ]
    }
    async with GeminiServer(script=slow, port=0) as g:
        inv = make(agents_config(llm_url=g.base_url))
        try:
            task = asyncio.create_task(synth(inv, events))
            await g.wait_for_requests(1)
            start = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - start < 1.0
        finally:
            await inv.aclose()
