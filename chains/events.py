"""Session-level events (the chain's lifecycle), next to the agent events in `agents.events`.

They share the `Event` base, so sinks see one stream: intake events (incident created,
occurrence, resolved), session state changes, stage start/end, notes and follow-ups. The
session id is in `ctx.session_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentCreated(Event):
    alert_id: str
    title: str
    kind: str
    severity: str
    source: str
    chain: str
    fingerprint: str
    slack_channel: str | None = None
    slack_ts: str | None = None
    slack_user: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OccurrenceRecorded(Event):
    alert_id: str
    occurrences: int
    title: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentResolved(Event):
    alert_id: str
    closed: bool  # True: the incident was closed; False: annotated (e.g. still investigating)
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionQueued(Event):
    chain: str
    title: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted(Event):
    chain: str
    stage_names: list[str]
    attempt: int = 1
    resumed_from: int = 0  # index of the first stage this attempt runs
    owner: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StageStarted(Event):
    index: int
    total: int
    name: str
    agents: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class StageFinished(Event):
    index: int
    total: int
    name: str
    status: str  # completed | failed | timed_out | cancelled
    result: dict[str, Any] | None = None
    error: str | None = None
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFinished(Event):
    status: str  # completed | failed | cancelled | timed_out
    final_text: str = ""
    executive_summary: str = ""
    likely_cause: str = ""
    confidence: str = "unknown"
    next_steps: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    duration_s: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionNote(Event):
    code: str  # e.g. runbook_unavailable, resumed, lease_lost
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRequested(Event):
    requested_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowupStarted(Event):
    followup_id: str
    question: str
    asked_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowupFinished(Event):
    followup_id: str
    status: str  # answered | failed
    answer: str = ""
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunbookLoaded(Event):
    source: str  # URL, file path or "builtin:generic"
    text: str  # masked runbook text (follow-ups reuse it from the audit trail)
