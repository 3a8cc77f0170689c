"""Which Slack channel a webhook alert's thread goes to (`webhooks.channel_rules`)."""

from __future__ import annotations

import re

from chains.alert import Alert
from config.models import ChannelRule


def _field(alert: Alert, key: str) -> str | None:
    if key == "severity":
        return alert.severity
    if key in ("kind", "alertname", "alert_type") and key not in alert.labels:
        return alert.kind
    if key == "source":
        return alert.source
    return alert.labels.get(key)


def _matches(expected: str, actual: str | None) -> bool:
    if actual is None:
        return False
    if expected.startswith("~"):
        return re.fullmatch(expected[1:], actual) is not None
    return expected == actual


def route_channel(alert: Alert, rules: list[ChannelRule], default: str | None) -> str | None:
    """First rule whose matchers all match (exact or `~regex`), else the default channel."""
    for rule in rules:
        if all(_matches(v, _field(alert, k)) for k, v in rule.match.items()):
            return rule.channel
    return default
