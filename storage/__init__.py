"""Storage: the audit trail and the durable work queue (the only package that writes SQL).

- `storage.engine`: `Database(url)` - async engine + sessions (`db.read()`, `db.write()`,
  `db.session()`), `db.dialect` ("sqlite" | "postgresql"), `await db.close()`.
  SQLite by default (`sqlite+aiosqlite:///./tarsy.db`, WAL), PostgreSQL via `DATABASE_URL`.
- `storage.models`: the tables (`SessionRow` = incident + queue item, `AlertRow`,
  `StageExecutionRow`, `LlmInteractionRow`, `ToolCallRow`, `SessionEventRow`, `FollowupRow`,
  `FeedbackRow`, `SlackMessageRow`, `SlackEventSeenRow`) and status constants.
- `storage.migrate`: `upgrade(url)` (sync) / `await upgrade_async(db)` - Alembic, run on start
  and by `tarsy db upgrade`.
- `storage.queue`: `claim_next`, `heartbeat`, `checkpoint`, `finish`, `release`,
  `reap_expired`, `purge_older_than`, `advisory_lock`.
- `storage.repositories.*` (each function takes the `Database` first and runs one short
  transaction): `intake` (record_alert_and_enqueue, record_resolved), `sessions`, `stages`,
  `records` (LLM interactions, tool calls, timeline events, `add_many`), `slack`
  (mark_event_seen, record_slack_message), `followups`, `feedback`, `timeline` (get_timeline).

All datetimes are timezone-aware UTC. Payloads, requests, results must be masked by the caller.
"""

from storage.engine import Database, create_engine

__all__ = ["Database", "create_engine"]
