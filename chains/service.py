"""Assembly of the investigation pipeline for one process: database, investigator, event bus
with the audit recorder, and a queue worker. Used by `tarsy investigate`, the worker process
(`python -m chains.worker_main`), `tarsy serve` and the benchmark."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from chains.bus import EventBus
from chains.recorder import AuditRecorder
from chains.worker import Worker
from config.models import TarsyConfig


@dataclass
class Pipeline:
    cfg: TarsyConfig
    db: Any
    investigator: Any
    bus: EventBus
    recorder: AuditRecorder
    masker: Any
    worker: Worker


def database_url(cfg: TarsyConfig, explicit: str | None = None) -> str:
    """`--database-url`, else the config's `database.url` (which `DATABASE_URL` overrides)."""
    return explicit or cfg.settings.database.url


@contextlib.asynccontextmanager
async def open_pipeline(
    cfg: TarsyConfig,
    *,
    database_url_: str | None = None,
    owner_id: str | None = None,
    scheduler: bool = True,
    investigator: Any | None = None,
    migrate: bool | None = None,
) -> AsyncIterator[Pipeline]:
    """Everything needed to run investigations; closes it all (flushing the audit trail)."""
    from agents.masking import Masker
    from storage.engine import Database
    from storage.migrate import upgrade_async

    db = Database(database_url(cfg, database_url_))
    inv = investigator
    bus = EventBus()
    recorder = AuditRecorder(db)
    worker = None
    try:
        if cfg.settings.database.migrate_on_start if migrate is None else migrate:
            await upgrade_async(db)
        if inv is None:
            from agents.investigator import build_investigator

            inv = build_investigator(cfg)
        masker = Masker.from_settings()
        bus.add_sink(recorder, name="audit-recorder")
        worker = Worker(cfg, db, inv, bus, owner_id, masker=masker, scheduler=scheduler)
        yield Pipeline(cfg, db, inv, bus, recorder, masker, worker)
    finally:
        if worker is not None:
            await worker.stop()
        await bus.aclose()
        await recorder.aclose()
        if inv is not None and investigator is None:
            with contextlib.suppress(Exception):
                await inv.aclose()
        await db.close()
