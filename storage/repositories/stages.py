"""Stage executions: one row per stage attempt."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from storage.engine import Database
from storage.models import STAGE_STATUSES, StageExecutionRow, utcnow
from storage.repositories.session_rows import list_session_rows


async def start_stage(
    db: Database,
    session_id: str,
    *,
    index: int,
    name: str,
    agents: list[str],
    attempt: int = 1,
    stage_id: str | None = None,
) -> StageExecutionRow:
    row = StageExecutionRow(
        session_id=session_id,
        index=index,
        name=name,
        agents=list(agents),
        attempt=attempt,
        status="running",
        started_at=utcnow(),
    )
    if stage_id:
        row.id = stage_id
    async with db.write() as s:
        s.add(row)
    return row


async def finish_stage(
    db: Database,
    stage_id: str,
    *,
    status: str,
    result: dict[str, Any] | None = None,
    full_text: str | None = None,
    error: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> None:
    """Close a stage. Token counts default to the totals accumulated from its LLM rows."""
    if status not in STAGE_STATUSES or status == "running":
        raise ValueError(f"invalid final stage status {status!r}")
    values: dict[str, Any] = {
        "status": status,
        "result": result,
        "full_text": full_text,
        "error": error,
        "finished_at": utcnow(),
    }
    if input_tokens is not None:
        values["input_tokens"] = input_tokens
    if output_tokens is not None:
        values["output_tokens"] = output_tokens
    async with db.write() as s:
        await s.execute(
            update(StageExecutionRow).where(StageExecutionRow.id == stage_id).values(**values)
        )


async def list_stages(db: Database, session_id: str) -> list[StageExecutionRow]:
    return await list_session_rows(db, StageExecutionRow, session_id)


async def completed_stages(db: Database, session_id: str) -> dict[int, StageExecutionRow]:
    """Latest completed execution per stage index (to rebuild context when resuming)."""
    out: dict[int, StageExecutionRow] = {}
    for row in await list_stages(db, session_id):
        if row.status == "completed":
            out[row.index] = row
    return out
