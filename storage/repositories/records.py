"""Audit records written while a session runs: LLM interactions, tool calls, timeline events.

`add_many` writes a batch (any mix of these rows) in one transaction, so an event recorder can
buffer and flush. LLM rows also add their tokens to the session (and stage) totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update

from storage.engine import Database
from storage.models import (
    LlmInteractionRow,
    SessionEventRow,
    SessionRow,
    StageExecutionRow,
    ToolCallRow,
)
from storage.repositories.session_rows import list_session_rows

AuditRow = LlmInteractionRow | ToolCallRow | SessionEventRow


async def add_many(db: Database, rows: Sequence[AuditRow]) -> None:
    if not rows:
        return
    session_tokens: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    stage_tokens: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if not isinstance(row, LlmInteractionRow | ToolCallRow | SessionEventRow):
            raise TypeError(f"add_many takes audit rows, not {type(row).__name__}")
        if isinstance(row, LlmInteractionRow):
            t = session_tokens[row.session_id]
            t[0] += row.input_tokens or 0
            t[1] += row.output_tokens or 0
            t[2] += row.thinking_tokens or 0
            if row.stage_id:
                st = stage_tokens[row.stage_id]
                st[0] += row.input_tokens or 0
                st[1] += row.output_tokens or 0
    async with db.write() as s:
        s.add_all(rows)
        for session_id, (inp, out, think) in session_tokens.items():
            if inp or out or think:
                await s.execute(
                    update(SessionRow)
                    .where(SessionRow.id == session_id)
                    .values(
                        input_tokens=SessionRow.input_tokens + inp,
                        output_tokens=SessionRow.output_tokens + out,
                        thinking_tokens=SessionRow.thinking_tokens + think,
                    )
                )
        for stage_id, (inp, out) in stage_tokens.items():
            if inp or out:
                await s.execute(
                    update(StageExecutionRow)
                    .where(StageExecutionRow.id == stage_id)
                    .values(
                        input_tokens=StageExecutionRow.input_tokens + inp,
                        output_tokens=StageExecutionRow.output_tokens + out,
                    )
                )


async def add_llm_interaction(db: Database, **fields: Any) -> LlmInteractionRow:
    """Fields of `LlmInteractionRow` (request/response already masked)."""
    row = LlmInteractionRow(**fields)
    await add_many(db, [row])
    return row


async def add_tool_call(db: Database, **fields: Any) -> ToolCallRow:
    """Fields of `ToolCallRow` (arguments/result already masked)."""
    row = ToolCallRow(**fields)
    await add_many(db, [row])
    return row


async def add_event(
    db: Database,
    session_id: str,
    type: str,
    message: str = "",
    *,
    data: dict[str, Any] | None = None,
    stage_id: str | None = None,
) -> SessionEventRow:
    row = SessionEventRow(
        session_id=session_id, type=type, message=message, data=data, stage_id=stage_id
    )
    await add_many(db, [row])
    return row


async def list_llm_interactions(db: Database, session_id: str) -> list[LlmInteractionRow]:
    return await list_session_rows(db, LlmInteractionRow, session_id)


async def list_tool_calls(db: Database, session_id: str) -> list[ToolCallRow]:
    return await list_session_rows(db, ToolCallRow, session_id)


async def list_events(db: Database, session_id: str) -> list[SessionEventRow]:
    return await list_session_rows(db, SessionEventRow, session_id)
