"""Alert payloads the benchmarks send: Alertmanager webhooks with a chosen group and team."""

from __future__ import annotations

from typing import Any


def alertmanager_payload(
    group: str, *, pod: str = "checkout-7d9f8b6c5-x2x4q", team: str = "payments-sre"
) -> dict[str, Any]:
    """One firing KubePodCrashLooping alert; `group` makes the incident fingerprint distinct."""
    labels = {
        "alertname": "KubePodCrashLooping",
        "namespace": "payments",
        "pod": pod,
        "container": "checkout",
        "severity": "critical",
        "cluster": "prod-eu-1",
        "team": team,
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="KubePodCrashLooping", group="{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "tarsy",
        "groupLabels": {"alertname": "KubePodCrashLooping", "group": group},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.monitoring.svc:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {
                    "summary": "Pod is crash looping.",
                    "description": f"Pod payments/{pod} (checkout) is in waiting state "
                    '(reason: "CrashLoopBackOff").',
                },
                "startsAt": "2026-12-04T14:58:12.345Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.monitoring.svc:9090/graph",
                "fingerprint": f"fp-{group}",
            }
        ],
    }
