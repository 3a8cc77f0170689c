"""Alert -> chain: routing rules in order (alert type + label matchers), then the chains'
own `alert_types`, then the default chain."""

from __future__ import annotations

import re
from functools import lru_cache

from chains.alert import Alert
from config.models import AgentsConfig


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def value_matches(expected: str, actual: str | None) -> bool:
    """Exact match, or `~regex` (full match, so `~prod-.*` does not match `preprod-1`)."""
    if actual is None:
        return False
    if expected.startswith("~"):
        return _compiled(expected[1:]).fullmatch(actual) is not None
    return expected == actual


def alert_field(alert: Alert, key: str) -> str | None:
    """A label, else one of the alert's own fields (severity, source, kind, status, title)."""
    if key in alert.labels:
        return alert.labels[key]
    if key in ("severity", "source", "kind", "status", "title"):
        return str(getattr(alert, key))
    if key in ("alertname", "alert_type"):
        return alert.kind
    return None


def matches(match: dict[str, str], alert: Alert) -> bool:
    return all(value_matches(exp, alert_field(alert, key)) for key, exp in match.items())


def _kind_matches(alert_types: list[str], kind: str) -> bool:
    return any(value_matches(t, kind) for t in alert_types)


def select_chain(config: AgentsConfig, alert: Alert) -> str:
    """Name of the chain that investigates `alert`."""
    for rule in config.routing.rules:
        if rule.alert_types and not _kind_matches(rule.alert_types, alert.kind):
            continue
        if matches(rule.match, alert):
            return rule.chain
    for name, chain in config.chains.items():
        if chain.alert_types and _kind_matches(chain.alert_types, alert.kind):
            return name
    return config.routing.default_chain
