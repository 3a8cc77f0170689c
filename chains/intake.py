"""Alert intake: mask, store, dedupe onto an open incident or queue a new session.

All in one storage transaction (`storage.repositories.intake`), so a source can be acked as
soon as `intake` returns. Fingerprints come from the source (parsers), never from LLM text.
A resolved notification closes (or, while it is still being investigated, annotates) the
open incident instead of starting a new investigation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.events import EventContext, EventSink
from chains.alert import Alert
from chains.events import IncidentCreated, IncidentResolved, OccurrenceRecorded, SessionQueued
from chains.routing import select_chain
from config.models import TarsyConfig
from storage.models import ACTIVE_STATUSES
from storage.repositories.intake import (
    NewAlert,
    list_alerts,
    record_alert_and_enqueue,
    record_resolved,
)


@dataclass(slots=True)
class IntakeResult:
    session_id: str | None  # None: a resolved notification with no open incident
    alert_id: str | None
    created: bool
    occurrences: int
    resolved: bool
    chain: str | None = None


def masked_alert(alert: Alert, masker: Any | None) -> NewAlert:
    """The storable alert with every free-text field and the raw payload masked."""

    def text(value: str) -> str:
        return masker.mask_text(value) if masker and value else value

    def obj(value: Any) -> Any:
        return masker.mask_obj(value) if masker else value

    slack = alert.slack
    return NewAlert(
        source=alert.source,
        kind=alert.kind,
        title=text(alert.title),
        fingerprint=alert.fingerprint,
        severity=alert.severity,
        status=alert.status,
        labels=obj(dict(alert.labels)),
        annotations=obj(dict(alert.annotations)),
        links=obj(list(alert.links)),
        runbook_url=alert.runbook_url,
        description=text(alert.description),
        payload=obj(alert.payload),
        slack_channel=slack.channel if slack else None,
        slack_ts=slack.ts if slack else None,
        slack_user=slack.user if slack else None,
        slack_team=slack.team if slack else None,
    )


async def intake(
    db: Any,
    alert: Alert,
    cfg: TarsyConfig,
    masker: Any | None,
    *,
    emit: EventSink | None = None,
    wake: Callable[[], None] | None = None,
) -> IntakeResult:
    """Store `alert` durably and tell the bot what happened (events). `wake` pokes a worker."""
    if not alert.fingerprint:
        raise ValueError("alert has no fingerprint; parsers must set one from the source")
    new = masked_alert(alert, masker)
    if alert.status == "resolved":
        session = await record_resolved(db, new)
        if session is None:
            return IntakeResult(None, None, False, 0, True)
        closed = session.status not in ACTIVE_STATUSES
        stored = await list_alerts(db, session.id)
        resolved_id = stored[-1].id if stored else None
        if emit:
            msg = (
                "alert resolved; incident closed"
                if closed
                else "alert resolved while the investigation is running; it will finish"
            )
            await emit(
                IncidentResolved(
                    ctx=EventContext(session_id=session.id),
                    alert_id=resolved_id or "",
                    closed=closed,
                    message=msg,
                )
            )
        return IntakeResult(
            session.id, resolved_id, False, session.occurrences, True, session.chain_name
        )

    chain_name = select_chain(cfg.agents, alert)
    snapshot = cfg.agents.chains[chain_name].model_dump(mode="json")
    session, created = await record_alert_and_enqueue(
        db,
        new,
        dedup_window_s=cfg.settings.queue.dedup_window_seconds,
        chain_name=chain_name,
        chain_snapshot=snapshot,
    )
    alerts = await list_alerts(db, session.id)
    alert_id = alerts[-1].id if alerts else None
    if emit:
        ctx = EventContext(session_id=session.id)
        if created:
            slack = alert.slack
            await emit(
                IncidentCreated(
                    ctx=ctx,
                    alert_id=alert_id or "",
                    title=new.title,
                    kind=alert.kind,
                    severity=alert.severity,
                    source=alert.source,
                    chain=chain_name,
                    fingerprint=alert.fingerprint,
                    slack_channel=slack.channel if slack else None,
                    slack_ts=slack.ts if slack else None,
                    slack_user=slack.user if slack else None,
                )
            )
            await emit(SessionQueued(ctx=ctx, chain=chain_name, title=new.title))
        else:
            await emit(
                OccurrenceRecorded(
                    ctx=ctx,
                    alert_id=alert_id or "",
                    occurrences=session.occurrences,
                    title=new.title,
                )
            )
    if created and wake:
        wake()
    return IntakeResult(
        session.id, alert_id, created, session.occurrences, False, session.chain_name
    )
