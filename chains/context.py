"""Text the agents get about an incident, built from stored (already masked) rows."""

from __future__ import annotations

import json
from typing import Any

from chains.alert import Alert

MAX_PAYLOAD_CHARS = 8000


def alert_from_row(row: Any) -> Alert:
    """An `Alert` rebuilt from a stored alert row (masked fields; no Slack ref)."""
    return Alert(
        source=row.source,
        kind=row.kind,
        title=row.title,
        severity=row.severity,
        status=row.status,
        labels=dict(row.labels or {}),
        annotations=dict(row.annotations or {}),
        links=list(row.links or []),
        runbook_url=row.runbook_url,
        fingerprint=row.fingerprint,
        payload=dict(row.payload or {}),
        description=row.description or "",
    )


def alert_text(alert: Alert) -> str:
    """The alert as the agents see it (the agents wrap it as untrusted data)."""
    lines = [
        f"Alert: {alert.title}",
        f"Type: {alert.kind}",
        f"Severity: {alert.severity}",
        f"Status: {alert.status}",
        f"Source: {alert.source}",
    ]
    if alert.labels:
        lines.append("Labels:")
        lines += [f"  {k}: {v}" for k, v in sorted(alert.labels.items())]
    if alert.annotations:
        lines.append("Annotations:")
        lines += [f"  {k}: {v}" for k, v in sorted(alert.annotations.items())]
    if alert.description:
        lines += ["Description:", alert.description]
    if alert.links:
        lines.append("Links:")
        lines += [
            f"  {link.get('title', '')} {link.get('url', '')}".rstrip() for link in alert.links
        ]
    if alert.payload:
        raw = json.dumps(alert.payload, indent=1, sort_keys=True, default=str)
        if len(raw) > MAX_PAYLOAD_CHARS:
            raw = raw[:MAX_PAYLOAD_CHARS] + "\n… [payload truncated]"
        lines += ["Raw payload:", raw]
    return "\n".join(lines)


def incident_context(timeline: Any) -> str:
    """Everything a follow-up answer needs, from the database: alert, runbook, stage results,
    outcome (earlier Q&A is passed separately as history)."""
    s = timeline.session
    parts = []
    firing = [a for a in timeline.alerts if a.status == "firing"] or timeline.alerts
    if firing:
        parts.append(alert_text(alert_from_row(firing[0])))
    parts.append(
        f"Incident status: {s.status}; seen {s.occurrences}×"
        + ("; resolved" if s.resolved_at else "")
    )
    runbook = next((e for e in reversed(timeline.events) if e.type == "RunbookLoaded"), None)
    if runbook and runbook.data:
        parts.append(f"Runbook ({runbook.data.get('source', '')}):\n{runbook.data.get('text', '')}")
    done: dict[int, Any] = {}
    for st in timeline.stages:
        if st.status == "completed":
            done[st.index] = st
    for idx in sorted(done):
        st = done[idx]
        r = st.result or {}
        text = r.get("full_text") or r.get("summary") or ""
        parts.append(f"Stage {idx + 1} '{st.name}' result:\n{text}")
    if s.final_text or s.executive_summary:
        parts.append(
            f"Final recommendation:\n{s.final_text or ''}\n\nExecutive summary: "
            f"{s.executive_summary or ''}"
        )
    if s.error:
        parts.append(f"Investigation error: {s.error}")
    return "\n\n".join(parts)
