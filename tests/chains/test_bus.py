"""EventBus: fan-out to every sink; a slow or failing sink never blocks or breaks the others."""

from __future__ import annotations

import asyncio

from agents.events import AgentWarning, EventContext, TextDelta
from chains.bus import EventBus


def _ev(i: int) -> AgentWarning:
    return AgentWarning(ctx=EventContext(session_id="s"), code="c", message=str(i))


async def test_fan_out_in_order_and_failing_sink_is_isolated():
    bus = EventBus()
    got_a: list[str] = []
    got_b: list[str] = []

    async def a(e):
        got_a.append(e.message)

    async def broken(e):
        raise RuntimeError("sink down")

    async def b(e):
        got_b.append(e.message)

    for s in (a, broken, b):
        bus.add_sink(s)
    for i in range(50):
        await bus.emit(_ev(i))
    assert await bus.drain(5)
    assert got_a == got_b == [str(i) for i in range(50)]
    assert bus.stats()["broken"]["failures"] == 50
    await bus.aclose()


async def test_slow_sink_does_not_block_emit_or_other_sinks():
    bus = EventBus()
    release = asyncio.Event()
    fast: list[str] = []
    slow_got: list[object] = []

    async def slow(e):
        await release.wait()
        slow_got.append(e)

    all_fast = asyncio.Event()

    async def quick(e):
        if isinstance(e, AgentWarning):
            fast.append(e.message)
        if len(fast) == 100:
            all_fast.set()

    bus.add_sink(slow, maxsize=10)
    bus.add_sink(quick)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(100):
        await bus.emit(_ev(i))
        await bus.emit(TextDelta(ctx=EventContext(session_id="s"), interaction_id="i", text="x"))
    assert loop.time() - t0 < 0.5  # emit never waited on the stuck sink
    async with asyncio.timeout(5):
        await all_fast.wait()
    assert bus.stats()["slow"]["dropped"] > 0  # the stuck sink shed stream deltas, counted
    release.set()
    assert await bus.drain(5)
    # ...but every event the audit trail needs reached it, in order
    warnings = [e.message for e in slow_got if isinstance(e, AgentWarning)]
    assert warnings == [str(i) for i in range(100)]
    await bus.aclose()
