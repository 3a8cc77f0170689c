"""Webhook payloads -> `Alert`s: Alertmanager, Grafana, PagerDuty v3 and TARSy's generic JSON.

Every parser validates what it reads and raises `PayloadError` naming the field path, so the
webhook server can answer 400 with a message the sender's owner can act on.

Generic JSON schema (`parse_generic`), documented for users in the webhook docs::

    {
      "alert_type": "KubePodCrashLooping",   # required (alias: "kind") - routes to a chain
      "title": "checkout pods crash loop",   # required unless "message" is given
      "message": "longer text ...",          # optional; used as title (first line) if no title
      "description": "...",                  # optional free text
      "severity": "critical",                # optional: critical|high|warning|info, P1..P5, crit...
      "status": "firing",                    # optional: firing (default) | resolved
      "labels": {"namespace": "payments"},   # optional string map (identifies the alert)
      "annotations": {"summary": "..."},     # optional string map
      "runbook": "https://...",              # optional (alias: "runbook_url")
      "links": [{"title": "Dashboard", "url": "https://..."}],   # optional
      "fingerprint": "my-dedupe-key",        # optional; default: hash of alert_type + labels
      "data": {...}                          # optional, any JSON: extra context for the agents
    }

When `labels` is absent the short scalar fields of `data` (except free-text ones such as
`message`) stand in as labels, so two different namespaces do not dedupe onto one incident.
"""

from __future__ import annotations

from typing import Any

from chains.alert import Alert, AlertStatus, label_fingerprint

from .common import (
    add_link,
    expect_list,
    expect_object,
    join_path,
    normalize_severity,
    opt_list,
    opt_object,
    opt_str,
    req_str,
    short_title,
    stable_fingerprint,
    string_map,
    type_name,
)
from .errors import PayloadError, UnknownFormat

SUPPORTED_FORMATS = ("alertmanager", "grafana", "pagerduty", "generic")
_DESCRIPTION_ALERTS = 10


def _status(value: str | None, path: str) -> AlertStatus:
    if value is None:
        return "firing"
    low = value.strip().lower()
    if low in ("firing", "alerting", "triggered", "problem"):
        return "firing"
    if low in ("resolved", "ok", "recovered"):
        return "resolved"
    raise PayloadError(f"expected 'firing' or 'resolved', got {value!r}", path)


# --------------------------------------------------------------------------- Alertmanager


def parse_alertmanager(payload: Any) -> list[Alert]:
    """One `Alert` per Alertmanager webhook (one notification = one alert group)."""
    return [_parse_am_group(payload, source="alertmanager")]


def _parse_am_group(payload: Any, *, source: str) -> Alert:
    data = expect_object(payload, "")
    alerts_raw = data.get("alerts")
    if alerts_raw is None:
        raise PayloadError("required list is missing", "alerts")
    alerts = expect_list(alerts_raw, "alerts")
    if not alerts:
        raise PayloadError("expected at least one alert, got an empty list", "alerts")
    parsed: list[tuple[dict[str, Any], dict[str, str], dict[str, str]]] = []
    for i, raw in enumerate(alerts):
        path = join_path("alerts", i)
        item = expect_object(raw, path)
        labels = string_map(item.get("labels"), join_path(path, "labels"))
        annotations = string_map(item.get("annotations"), join_path(path, "annotations"))
        _status(opt_str(item, "status", path), join_path(path, "status"))
        parsed.append((item, labels, annotations))

    common = string_map(data.get("commonLabels"), "commonLabels")
    group = string_map(data.get("groupLabels"), "groupLabels")
    if not common:
        common = _common_items([labels for _, labels, _ in parsed])
    labels = {**group, **common}
    kind = labels.get("alertname") or parsed[0][1].get("alertname")
    if not kind:
        raise PayloadError(
            "no alertname: expected commonLabels.alertname or alerts[0].labels.alertname",
            "commonLabels.alertname",
        )
    labels.setdefault("alertname", kind)

    annotations = string_map(data.get("commonAnnotations"), "commonAnnotations")
    for key, value in parsed[0][2].items():
        annotations.setdefault(key, value)
    status = _status(opt_str(data, "status", ""), "status")

    first = parsed[0][0]
    links: list[dict[str, str]] = []
    gen = opt_str(first, "generatorURL", "alerts[0]")
    if gen:
        add_link(links, gen, "Grafana rule" if source == "grafana" else "Prometheus")
    for key, title in (
        ("dashboardURL", "Dashboard"),
        ("panelURL", "Panel"),
        ("silenceURL", "Silence"),
    ):
        url = opt_str(first, key, "alerts[0]")
        if url:
            add_link(links, url, title)
    ext = opt_str(data, "externalURL", "")
    if ext:
        add_link(links, ext, "Grafana" if source == "grafana" else "Alertmanager")

    runbook = (
        annotations.get("runbook_url") or annotations.get("runbook") or labels.get("runbook_url")
    )
    group_key = opt_str(data, "groupKey", "")
    first_fp = opt_str(first, "fingerprint", "alerts[0]")
    if group_key:
        fingerprint = stable_fingerprint(source, group_key)
    elif first_fp:
        fingerprint = stable_fingerprint(source, first_fp)
    else:
        fingerprint = label_fingerprint(kind, labels)

    summary = annotations.get("summary") or annotations.get("message") or ""
    title = f"{kind}: {summary}" if summary else _am_title(kind, labels)
    descriptions = []
    for _, _, ann in parsed[:_DESCRIPTION_ALERTS]:
        line = ann.get("description") or ann.get("summary") or ann.get("message")
        if line and line not in descriptions:
            descriptions.append(line)
    if len(parsed) > _DESCRIPTION_ALERTS:
        descriptions.append(f"(+{len(parsed) - _DESCRIPTION_ALERTS} more alerts in this group)")
    firing = sum(1 for item, _, _ in parsed if item.get("status", "firing") == "firing")
    annotations.setdefault("alerts_in_group", str(len(parsed)))
    annotations.setdefault("alerts_firing", str(firing))
    return Alert(
        source=source,
        kind=kind,
        title=short_title(title),
        severity=normalize_severity(labels.get("severity")),
        status=status,
        labels=labels,
        annotations=annotations,
        links=links,
        runbook_url=runbook,
        fingerprint=fingerprint,
        payload=data,
        description="\n".join(descriptions),
    )


def _am_title(kind: str, labels: dict[str, str]) -> str:
    extra = [v for k, v in labels.items() if k not in ("alertname", "severity")][:4]
    return f"{kind} ({', '.join(extra)})" if extra else kind


def _common_items(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    out = dict(maps[0])
    for other in maps[1:]:
        out = {k: v for k, v in out.items() if other.get(k) == v}
    return out


# --------------------------------------------------------------------------- Grafana


def parse_grafana(payload: Any) -> list[Alert]:
    """Grafana unified alerting webhook (Alertmanager-shaped) or the legacy `ruleName` one."""
    data = expect_object(payload, "")
    if "alerts" not in data and "ruleName" in data:
        return [_parse_grafana_legacy(data)]
    return [_parse_am_group(data, source="grafana")]


def _parse_grafana_legacy(data: dict[str, Any]) -> Alert:
    rule = req_str(data, "ruleName", "")
    state = (opt_str(data, "state", "") or "alerting").lower()
    if state not in ("alerting", "ok", "no_data", "paused", "pending"):
        raise PayloadError(f"expected alerting|ok|no_data|pending|paused, got {state!r}", "state")
    labels = string_map(data.get("tags"), "tags")
    links: list[dict[str, str]] = []
    url = opt_str(data, "ruleUrl", "")
    if url:
        add_link(links, url, "Grafana rule")
    message = opt_str(data, "message", "") or ""
    rule_id = opt_str(data, "ruleId", "")
    return Alert(
        source="grafana",
        kind=rule,
        title=short_title(opt_str(data, "title", "") or rule),
        severity=normalize_severity(labels.get("severity")),
        status="resolved" if state == "ok" else "firing",
        labels=labels,
        links=links,
        runbook_url=labels.get("runbook_url") or labels.get("runbook"),
        fingerprint=stable_fingerprint("grafana", rule_id or rule),
        payload=data,
        description=message,
    )


# --------------------------------------------------------------------------- PagerDuty

_PD_FIRING = {
    "incident.triggered",
    "incident.reopened",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.escalated",
}
_PD_RESOLVED = {"incident.resolved"}


def parse_pagerduty(payload: Any) -> list[Alert]:
    """PagerDuty v3 webhook. Incident lifecycle events give one alert; other incident events
    (annotated, priority_updated, responder.added, ...) give `[]` - nothing to investigate."""
    data = expect_object(payload, "")
    if "event" not in data:
        raise PayloadError("required object is missing (expected a PagerDuty v3 webhook)", "event")
    event = expect_object(data["event"], "event")
    event_type = req_str(event, "event_type", "event")
    if not event_type.startswith("incident."):
        raise PayloadError(
            f"unsupported event type {event_type!r}; expected incident.* events",
            "event.event_type",
        )
    if event_type not in _PD_FIRING | _PD_RESOLVED:
        return []
    if "data" not in event:
        raise PayloadError("required object is missing", "event.data")
    inc = expect_object(event["data"], "event.data")
    incident_id = req_str(inc, "id", "event.data")
    title = req_str(inc, "title", "event.data")
    service = opt_object(inc, "service", "event.data")
    priority = opt_object(inc, "priority", "event.data")
    policy = opt_object(inc, "escalation_policy", "event.data")
    urgency = opt_str(inc, "urgency", "event.data")
    labels: dict[str, str] = {"incident_id": incident_id}
    for key, value in (
        ("service", opt_str(service, "summary", "event.data.service")),
        ("priority", opt_str(priority, "summary", "event.data.priority")),
        ("urgency", urgency),
        ("incident_number", opt_str(inc, "number", "event.data")),
        ("incident_key", opt_str(inc, "incident_key", "event.data")),
        ("escalation_policy", opt_str(policy, "summary", "event.data.escalation_policy")),
    ):
        if value:
            labels[key] = value
    severity = normalize_severity(labels.get("priority"))
    if severity == "unknown":
        severity = normalize_severity(urgency)
    links: list[dict[str, str]] = []
    html = opt_str(inc, "html_url", "event.data")
    if html:
        add_link(links, html, "PagerDuty incident")
    svc_url = opt_str(service, "html_url", "event.data.service")
    if svc_url:
        add_link(links, svc_url, "PagerDuty service")
    assignees = [
        opt_str(expect_object(a, join_path("event.data.assignees", i)), "summary", "")
        for i, a in enumerate(opt_list(inc, "assignees", "event.data"))
    ]
    description = title
    if labels.get("service"):
        description += f"\nService: {labels['service']}"
    if any(assignees):
        description += "\nAssigned: " + ", ".join(a for a in assignees if a)
    return [
        Alert(
            source="pagerduty",
            kind="PagerDutyIncident",
            title=short_title(title),
            severity=severity,
            status="resolved" if event_type in _PD_RESOLVED else "firing",
            labels=labels,
            annotations={"event_type": event_type},
            links=links,
            fingerprint=stable_fingerprint("pagerduty", incident_id),
            payload=data,
            description=description,
        )
    ]


# --------------------------------------------------------------------------- generic

_FREE_TEXT_KEYS = frozenset({"message", "description", "summary", "text", "details", "body"})
_MAX_DATA_LABELS = 20


def parse_generic(payload: Any) -> list[Alert]:
    """TARSy's generic JSON (schema in the module docstring)."""
    data = expect_object(payload, "")
    kind_key = "alert_type" if "alert_type" in data else "kind"
    if kind_key not in data:
        raise PayloadError("required string is missing (alias: kind)", "alert_type")
    kind = req_str(data, kind_key, "")
    title = opt_str(data, "title", "")
    message = opt_str(data, "message", "")
    if not (title and title.strip()) and not (message and message.strip()):
        raise PayloadError("required string is missing: give 'title' or 'message'", "title")
    if not (title and title.strip()):
        title = message.strip().splitlines()[0]  # type: ignore[union-attr]
    labels = string_map(data.get("labels"), "labels")
    annotations = string_map(data.get("annotations"), "annotations")
    extra = data.get("data")
    if not labels and isinstance(extra, dict):
        labels = {
            str(k): str(v)
            for k, v in extra.items()
            if k not in _FREE_TEXT_KEYS and isinstance(v, str | int | float) and len(str(v)) <= 200
        }
        labels = dict(list(labels.items())[:_MAX_DATA_LABELS])
    runbook_key = "runbook" if "runbook" in data else "runbook_url"
    runbook = opt_str(data, runbook_key, "")
    if runbook and not runbook.startswith(("http://", "https://")):
        raise PayloadError(f"expected an http(s) URL, got {runbook[:60]!r}", runbook_key)
    links: list[dict[str, str]] = []
    for i, raw in enumerate(opt_list(data, "links", "")):
        path = join_path("links", i)
        item = expect_object(raw, path)
        url = req_str(item, "url", path)
        add_link(links, url, opt_str(item, "title", path) or url)
    severity_raw = data.get("severity")
    if severity_raw is not None and not isinstance(severity_raw, str | int):
        raise PayloadError(f"expected a string, got {type_name(severity_raw)}", "severity")
    description = opt_str(data, "description", "") or ""
    if not description and message and message.strip() != title.strip():
        description = message
    if not description and isinstance(extra, dict) and isinstance(extra.get("message"), str):
        description = extra["message"]
    fingerprint = opt_str(data, "fingerprint", "") or (
        label_fingerprint(kind, labels) if labels else stable_fingerprint("generic", kind, title)
    )
    return [
        Alert(
            source=opt_str(data, "source", "") or "generic",
            kind=kind,
            title=short_title(title),
            severity=normalize_severity(severity_raw),
            status=_status(opt_str(data, "status", ""), "status"),
            labels=labels,
            annotations=annotations,
            links=links,
            runbook_url=runbook,
            fingerprint=fingerprint,
            payload=data,
            description=description,
        )
    ]


# --------------------------------------------------------------------------- detection


def detect_format(payload: Any) -> str:
    """Name of the format a payload looks like; raises `UnknownFormat` when none fits."""
    if not isinstance(payload, dict):
        raise UnknownFormat(f"expected a JSON object, got {type_name(payload)}", SUPPORTED_FORMATS)
    event = payload.get("event")
    if isinstance(event, dict) and "event_type" in event:
        return "pagerduty"
    if "alerts" in payload:
        alerts = payload.get("alerts")
        first = alerts[0] if isinstance(alerts, list) and alerts else {}
        grafana_keys = ("dashboardURL", "panelURL", "valueString", "silenceURL")
        if (
            "orgId" in payload
            or "state" in payload
            or (isinstance(first, dict) and any(k in first for k in grafana_keys))
        ):
            return "grafana"
        return "alertmanager"
    if "ruleName" in payload and "state" in payload:
        return "grafana"
    if "alert_type" in payload or "kind" in payload:
        return "generic"
    keys = ", ".join(sorted(map(str, payload))[:8]) or "none"
    raise UnknownFormat(f"cannot tell the alert format from its keys ({keys})", SUPPORTED_FORMATS)


PARSERS = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "pagerduty": parse_pagerduty,
    "generic": parse_generic,
}


def detect_and_parse(payload: Any) -> list[Alert]:
    """Guess the format (see `detect_format`) and parse. For the CLI and pasted JSON."""
    return PARSERS[detect_format(payload)](payload)
