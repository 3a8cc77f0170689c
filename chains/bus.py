"""In-process event bus: fans every event out to registered sinks.

Each sink gets its own queue and consumer task, so a slow sink only delays itself and a
failing sink is logged, never raised into the runner. `emit` never awaits a sink. A sink that
falls far behind sheds stream deltas only, never an event the audit trail or thread needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from agents.events import Event, EventSink, TextDelta, ThoughtDelta

DROPPABLE = (TextDelta, ThoughtDelta)

log = logging.getLogger(__name__)


class _SinkWorker:
    def __init__(self, name: str, sink: EventSink, maxsize: int) -> None:
        self.name = name
        self.sink = sink
        self.maxsize = maxsize
        self.queue: asyncio.Queue[Event] = asyncio.Queue()  # soft-bounded, see put()
        self.dropped = 0
        self.failures = 0
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._consume(), name=f"sink:{self.name}")

    def put(self, event: Event) -> None:
        # Past the soft bound only stream deltas are shed (the full text also arrives in
        # LlmTurnFinished); lifecycle, tool and outcome events are never dropped.
        if self.queue.qsize() >= self.maxsize and isinstance(event, DROPPABLE):
            self.dropped += 1
            if self.dropped in (1, 100, 10_000):
                log.warning("event sink %s is slow: shed %d stream deltas", self.name, self.dropped)
            return
        self.queue.put_nowait(event)

    async def _consume(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.sink(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("event sink %s failed on %s", self.name, type(event).__name__)
            finally:
                self.queue.task_done()


class EventBus:
    """`bus.emit` is an `EventSink`; register consumers with `add_sink`."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._maxsize = maxsize
        self._workers: list[_SinkWorker] = []

    def add_sink(
        self, sink: EventSink, name: str | None = None, maxsize: int | None = None
    ) -> None:
        worker = _SinkWorker(
            name or getattr(sink, "__name__", repr(sink)), sink, maxsize or self._maxsize
        )
        self._workers.append(worker)
        with contextlib.suppress(RuntimeError):  # no running loop yet: started on first emit
            asyncio.get_running_loop()
            worker.start()

    def remove_sink(self, sink: EventSink) -> None:
        for w in [w for w in self._workers if w.sink is sink]:
            self._workers.remove(w)
            if w.task:
                w.task.cancel()

    async def emit(self, event: Event) -> None:
        self.publish(event)

    def publish(self, event: Event) -> None:
        """Synchronous fan-out (usable from non-async callbacks inside the loop)."""
        for w in self._workers:
            w.start()
            w.put(event)

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            w.name: {"queued": w.queue.qsize(), "dropped": w.dropped, "failures": w.failures}
            for w in self._workers
        }

    async def drain(self, wait_s: float = 10.0) -> bool:
        """Wait until every sink has consumed what was emitted so far. False on timeout."""
        try:
            async with asyncio.timeout(wait_s):
                for w in list(self._workers):
                    await w.queue.join()
            return True
        except TimeoutError:
            return False

    async def aclose(self, wait_s: float = 5.0) -> None:
        await self.drain(wait_s)
        for w in self._workers:
            if w.task:
                w.task.cancel()
        for w in self._workers:
            if w.task:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await w.task
            w.task = None
