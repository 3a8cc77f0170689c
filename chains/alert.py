"""The normalised alert every surface produces and every later step consumes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "warning", "info", "unknown"]
AlertStatus = Literal["firing", "resolved"]


@dataclass(slots=True)
class SlackRef:
    """Where the alert lives in Slack: the thread TARSy replies in."""

    channel: str
    ts: str | None = None  # the alert message's ts (thread root) - None: TARSy posts a root
    user: str | None = None  # requesting user (slash command / shortcut) - enables streaming
    team: str | None = None


@dataclass(slots=True)
class Alert:
    source: str  # alertmanager | grafana | pagerduty | datadog | opsgenie | generic | slack | cli
    kind: str  # alert type used for routing, e.g. KubePodCrashLooping
    title: str
    severity: Severity = "unknown"
    status: AlertStatus = "firing"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)  # [{"title":..., "url":...}]
    runbook_url: str | None = None
    fingerprint: str = ""
    payload: dict[str, Any] = field(default_factory=dict)  # raw payload (masked before storing)
    slack: SlackRef | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            self.fingerprint = label_fingerprint(self.kind, self.labels)


IDENTITY_LABELS_IGNORED = frozenset(
    {"severity", "pod", "instance", "replica", "pod_name", "container_id", "endpoint"}
)


def label_fingerprint(kind: str, labels: dict[str, str]) -> str:
    """Stable hash of the identifying labels (volatile ones such as pod names excluded)."""
    ident = {k: v for k, v in sorted(labels.items()) if k not in IDENTITY_LABELS_IGNORED}
    blob = json.dumps({"kind": kind, "labels": ident}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
