"""Slack messages posted by alerting apps -> `Alert` (or None for anything that is not one).

Recognised apps: Alertmanager, Grafana, Datadog, PagerDuty and Opsgenie, whether they post
legacy attachments, Block Kit or plain text; any other bot (or a configured regex match) is
read as a generic alert. Human chatter and TARSy's own messages give None.
"""

from __future__ import annotations

import re
from typing import Any

from chains.alert import Alert, AlertStatus, SlackRef, label_fingerprint

from .common import (
    add_link,
    expect_object,
    normalize_severity,
    severity_from_color,
    short_title,
    slack_to_plain,
    stable_fingerprint,
    unwrap_slack_link,
)
from .slack_content import SlackContent, flatten_message

# Subtypes that are a new message someone posted; everything else (edits, joins, deletes) is not.
_NEW_MESSAGE_SUBTYPES = {None, "bot_message", "thread_broadcast", "file_share"}
_DESCRIPTION_MAX = 4000
_MAX_LINKS = 8

_AM_TITLE = re.compile(r"^\[(FIRING|RESOLVED)(?::(\d+))?\]\s*", re.I)
_GRAFANA_LEGACY = re.compile(r"^\[(Alerting|OK|No Data|Pending|Paused)\]\s*", re.I)
_DD_TITLE = re.compile(
    r"^(?:\[P\d\]\s*)?\[?(Re-?Triggered|Triggered|Recovered|Warn(?:ing)?|No Data|Renotify|"
    r"Alerting)(?: on [^\]]*)?\]?\s*:?\s*(?:\[P\d\]\s*)?",
    re.I,
)
_PD_TITLE = re.compile(
    r"^(?:Incident\s+)?(Triggered|Acknowledged|Resolved|Reassigned|Escalated|Reopened)\b\s*[:\-]?\s*"
    r"(?:#\d+\s*[:\-]?\s*)?",
    re.I,
)
_OG_TITLE = re.compile(
    r"^(?:\[Opsgenie\]\s*)?(?:New alert|Alert created|Alert closed|Closed|Acknowledged|"
    r"Alert acknowledged)\s*[:\-]?\s*(?:\"?#\d+:?\s*)?",
    re.I,
)
_LEADING_EMOJI = re.compile(r"^(?::[\w+\-]+:\s*)+")
_BULLET = re.compile(r"^\s*[•◦▪\-]\s+([A-Za-z_][\w.\-/]*)\s*(?::|=)\s*(.*?)\s*$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z][\w \-]{0,30}?)\s*:\s+(.+?)\s*$")
_SECTION = re.compile(r"^\s*(Details|Labels|Annotations|Tags)\s*:\s*$", re.I)
_TAG = re.compile(r"(?<![\w/])([a-z_][\w.\-/]*):([^\s,:/][^\s,]*)")
_LABEL_FIELDS = {
    "severity",
    "priority",
    "urgency",
    "service",
    "env",
    "environment",
    "host",
    "team",
    "cluster",
    "namespace",
    "monitor",
    "source",
    "region",
}


def parse_alert_message(
    event: dict[str, Any],
    *,
    alert_bots: list[str],
    alert_patterns: list[str],
    own_bot_id: str | None,
    own_user_id: str | None,
) -> Alert | None:
    """Read a channel message as an alert, or return None when it is not one.

    A message counts when it was posted by a bot whose username / app name / bot id contains
    one of `alert_bots` (case-insensitive; an empty list accepts every bot), by any bot whose
    content is recognisably an alerting app's, or by anyone when one of `alert_patterns`
    (regexes) matches its text. Edits, joins, thread replies and our own messages give None.
    Accepts the inner `event` or the whole `event_callback` envelope. Raises `PayloadError` only
    when a field has an impossible type (e.g. `attachments` not a list).
    """
    event = expect_object(event, "event")
    team = _s(event.get("team_id"))
    if event.get("type") == "event_callback" and isinstance(event.get("event"), dict):
        event = event["event"]
    team = _s(event.get("team")) or team
    if event.get("type", "message") != "message":
        return None
    subtype = event.get("subtype")
    if subtype not in _NEW_MESSAGE_SUBTYPES:
        return None
    bot_id = _s(event.get("bot_id"))
    user = _s(event.get("user"))
    if (own_bot_id and bot_id == own_bot_id) or (own_user_id and user == own_user_id):
        return None
    ts = _s(event.get("ts"))
    thread_ts = _s(event.get("thread_ts"))
    if thread_ts and thread_ts != ts and subtype != "thread_broadcast":
        return None
    channel = _s(event.get("channel"))

    profile = event.get("bot_profile") if isinstance(event.get("bot_profile"), dict) else {}
    identity = " ".join(
        x
        for x in (
            _s(event.get("username")),
            _s(profile.get("name")),
            bot_id,
            _s(event.get("app_id")),
        )
        if x
    ).lower()
    is_bot = bool(bot_id) or subtype == "bot_message"
    content = flatten_message(event)
    source = _source_from_identity(identity) if is_bot else None
    source = source or _source_from_content(content)

    bot_listed = is_bot and (
        not alert_bots or any(b.strip().lower() in identity for b in alert_bots if b.strip())
    )
    pattern_hit = _matches_any(alert_patterns, content.all_text())
    recognised = is_bot and source is not None
    if not (bot_listed or pattern_hit or recognised):
        return None
    ref = SlackRef(channel=channel, ts=ts or None, team=team or None)
    return _build_alert(event, content, source or "slack", ref)


# --------------------------------------------------------------------------- detection


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _matches_any(patterns: list[str], text: str) -> bool:
    for pattern in patterns:
        try:
            if re.search(pattern, text, re.I | re.M):
                return True
        except re.error:
            continue  # config validation reports bad regexes; never crash on a message
    return False


def _source_from_identity(identity: str) -> str | None:
    for name, source in (
        ("alertmanager", "alertmanager"),
        ("prometheus", "alertmanager"),
        ("grafana", "grafana"),
        ("datadog", "datadog"),
        ("pagerduty", "pagerduty"),
        ("opsgenie", "opsgenie"),
    ):
        if name in identity:
            return source
    return None


def _source_from_content(c: SlackContent) -> str | None:
    urls = " ".join(url for url, _ in c.links) + " " + c.title_link
    title = _clean_title(c.title)
    if "pagerduty.com" in urls:
        return "pagerduty"
    if "opsgenie.com" in urls or "opsgenie" in c.footer.lower():
        return "opsgenie"
    if "datadoghq" in urls or "datadog" in c.footer.lower():
        return "datadog"
    if _AM_TITLE.match(title):
        if "grafana" in (urls + c.footer + c.body).lower():
            return "grafana"
        return "alertmanager"
    if _GRAFANA_LEGACY.match(title):
        return "grafana"
    if _DD_TITLE.match(title) and ":" in title[:40]:
        return "datadog"
    return None


# --------------------------------------------------------------------------- extraction


def _build_alert(event: dict[str, Any], c: SlackContent, source: str, ref: SlackRef) -> Alert:
    raw_title = _clean_title(c.title)
    title, status = _strip_title(raw_title, source)
    blocks = _split_alert_blocks(c.body)
    parsed = [_parse_block(b) for b in blocks]
    labels = _merge_labels([p[0] for p in parsed])
    annotations: dict[str, str] = {}
    for _, ann in parsed:
        for k, v in ann.items():
            annotations.setdefault(k, v)
    for key, value in c.fields:
        _add_field(key, value, labels, annotations)
    if not labels:
        labels.update(_tags_anywhere(c))

    runbook = _find_runbook(c, labels, annotations)
    if status is None:
        status = _status_from_text(c)
    kind = labels.get("alertname") or _kind_from_title(title, source)
    severity = _severity(labels, annotations, c)
    fingerprint = _fingerprint(source, kind, labels, c, title)
    links = _links(c, source, runbook)
    description = slack_to_plain(c.body).strip() or title
    if len(description) > _DESCRIPTION_MAX:
        description = description[: _DESCRIPTION_MAX - 1] + "…"
    return Alert(
        source=source,
        kind=kind,
        title=short_title(title or kind),
        severity=severity,
        status=status,
        labels=labels,
        annotations=annotations,
        links=links,
        runbook_url=runbook,
        fingerprint=fingerprint,
        payload=event,
        slack=ref,
        description=description,
    )


def _clean_title(title: str) -> str:
    """Plain title text: no leading emoji, no surrounding bold/italic markers."""
    text = _LEADING_EMOJI.sub("", title.strip().strip("*_~ "))
    return slack_to_plain(text).strip().strip("*_~ ").strip()


def _strip_title(title: str, source: str) -> tuple[str, AlertStatus | None]:
    """Remove the app's status prefix from a title; return the status it names, if any."""
    m = _AM_TITLE.match(title)
    if m:
        return title[m.end() :], "resolved" if m.group(1).upper() == "RESOLVED" else "firing"
    m = _GRAFANA_LEGACY.match(title)
    if m:
        return title[m.end() :], "resolved" if m.group(1).upper() == "OK" else "firing"
    if source == "datadog":
        m = _DD_TITLE.match(title)
        if m:
            return title[m.end() :], "resolved" if m.group(1).lower() == "recovered" else "firing"
    if source == "pagerduty":
        m = _PD_TITLE.match(title)
        if m:
            return title[m.end() :], "resolved" if m.group(1).lower() == "resolved" else "firing"
    if source == "opsgenie":
        m = _OG_TITLE.match(title)
        if m:
            closed = "closed" in m.group(0).lower()
            return title[m.end() :].strip('"'), "resolved" if closed else "firing"
    return title, None


def _status_from_text(c: SlackContent) -> AlertStatus:
    head = slack_to_plain(c.title + "\n" + c.body[:300]).lower()
    if re.search(r"\b(resolved|recovered|closed)\b", head):
        return "resolved"
    for key, value in c.fields:
        if key.lower() == "status" and re.search(r"resolved|closed|ok\b", value.lower()):
            return "resolved"
    return "firing"


def _split_alert_blocks(body: str) -> list[str]:
    """Alertmanager's template repeats `*Alert:* ...` per alert; split there."""
    parts = re.split(r"\n(?=\s*\*?Alert:\*?\s)", body)
    return [p for p in parts if p.strip()] or [""]


def _parse_block(text: str) -> tuple[dict[str, str], dict[str, str]]:
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    section = ""
    for raw_line in text.splitlines():
        line = raw_line.replace("*", "")
        sec = _SECTION.match(line)
        if sec:
            section = sec.group(1).lower()
            continue
        bullet = _BULLET.match(line)
        if bullet and section != "tags":
            key, value = bullet.group(1), _clean_value(bullet.group(2))
            target = annotations if section == "annotations" else labels
            target.setdefault(key, value)
            continue
        if section == "tags":
            labels.update(_parse_tags(line))
            continue
        kv = _KEY_LINE.match(line)
        if kv:
            section = ""
            key = kv.group(1).strip().lower().replace(" ", "_")
            value = kv.group(2)
            if key == "alert":
                summary, _, sev = value.rpartition(" - ")
                if summary and normalize_severity(sev.strip("` ")) != "unknown":
                    annotations.setdefault("summary", summary.strip())
                    labels.setdefault("severity", sev.strip("` "))
                else:
                    annotations.setdefault("summary", value.strip())
            elif key == "tags":
                labels.update(_parse_tags(value))
            elif key in ("description", "summary", "message"):
                annotations.setdefault(key, slack_to_plain(value).strip())
            elif key in ("runbook", "runbook_url"):
                annotations.setdefault("runbook_url", unwrap_slack_link(value))
            elif key in _LABEL_FIELDS:
                labels.setdefault(key, _clean_value(value))
    return labels, annotations


def _clean_value(value: str) -> str:
    value = value.strip().strip("`").strip()
    if value.startswith("<") and value.endswith(">"):
        return unwrap_slack_link(value)
    return slack_to_plain(value)


def _parse_tags(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _TAG.finditer(slack_to_plain(text).replace("`", " ")):
        out.setdefault(m.group(1), m.group(2))
    return out


def _tags_anywhere(c: SlackContent) -> dict[str, str]:
    for line in c.body.splitlines():
        if re.match(r"^\s*\*?tags\*?\s*:", line, re.I):
            return _parse_tags(line.split(":", 1)[1])
    return {}


def _merge_labels(maps: list[dict[str, str]]) -> dict[str, str]:
    """Labels of all alerts in a grouped message; keys whose values differ (pod, instance)
    are dropped - they are not what identifies the group."""
    merged: dict[str, str] = {}
    conflicting: set[str] = set()
    for labels in maps:
        for k, v in labels.items():
            if k in merged and merged[k] != v:
                conflicting.add(k)
            merged.setdefault(k, v)
    return {k: v for k, v in merged.items() if k not in conflicting}


def _add_field(key: str, value: str, labels: dict[str, str], annotations: dict[str, str]) -> None:
    name = slack_to_plain(key).strip().strip("*").rstrip(":").strip().lower().replace(" ", "_")
    if not name:
        return
    if name == "tags":
        for k, v in _parse_tags(value).items():
            labels.setdefault(k, v)
    elif name in ("runbook", "runbook_url"):
        annotations.setdefault("runbook_url", unwrap_slack_link(value))
    elif name in _LABEL_FIELDS and "\n" not in value.strip() and len(value) <= 100:
        labels.setdefault(name, _clean_value(value))
    else:
        annotations.setdefault(name, slack_to_plain(value).strip())


def _find_runbook(
    c: SlackContent, labels: dict[str, str], annotations: dict[str, str]
) -> str | None:
    for d in (annotations, labels):
        for key in ("runbook_url", "runbook"):
            if d.get(key):
                url = unwrap_slack_link(d[key])
                if url.startswith(("http://", "https://")):
                    return url
    for url, label in c.links:
        if "runbook" in label.lower():
            return url
    return None


def _kind_from_title(title: str, source: str) -> str:
    if source == "pagerduty":
        return "PagerDutyIncident"
    if source == "opsgenie":
        return "OpsgenieAlert"
    if source in ("alertmanager", "grafana"):
        first = title.split()[0] if title.split() else ""
        if first:
            return first
    cleaned = re.sub(r"\s+", " ", title).strip()
    return cleaned[:80] or source


def _severity(labels: dict[str, str], annotations: dict[str, str], c: SlackContent) -> Any:
    for key in ("severity", "priority", "urgency"):
        sev = normalize_severity(labels.get(key) or annotations.get(key))
        if sev != "unknown":
            return sev
    m = re.search(r"\[(P[1-5])\]|\b(P[1-5])\b", c.title)
    if m:
        return normalize_severity(m.group(1) or m.group(2))
    return severity_from_color(c.color)


def _fingerprint(
    source: str, kind: str, labels: dict[str, str], c: SlackContent, title: str
) -> str:
    urls = [c.title_link] + [url for url, _ in c.links]
    if source == "pagerduty":
        for url in urls:
            m = re.search(r"pagerduty\.com/incidents/(\w+)", url)
            if m:
                return stable_fingerprint("pagerduty", m.group(1))
    if source == "opsgenie":
        for url in urls:
            m = re.search(r"opsgenie\.com/alert/detail/([\w\-]+)", url)
            if m:
                return stable_fingerprint("opsgenie", m.group(1))
    if source == "datadog":
        for url in urls:
            m = re.search(r"/monitors/(\d+)", url)
            if m:
                scope = ",".join(f"{k}:{v}" for k, v in sorted(labels.items()))
                return stable_fingerprint("datadog", m.group(1), scope)
    if labels:
        return label_fingerprint(kind, labels)
    return stable_fingerprint(source, kind, re.sub(r"\d+", "#", title.lower()))


def _links(c: SlackContent, source: str, runbook: str | None) -> list[dict[str, str]]:
    names = {
        "alertmanager": "Alertmanager",
        "grafana": "Grafana",
        "datadog": "Datadog monitor",
        "pagerduty": "PagerDuty incident",
        "opsgenie": "Opsgenie alert",
    }
    links: list[dict[str, str]] = []
    if c.title_link:
        add_link(links, c.title_link, names.get(source, "Alert"))
    for url, label in c.links:
        if url == runbook or len(links) >= _MAX_LINKS:
            continue
        plain = label if label and not label.startswith(":") else ""
        add_link(links, url, plain or url.split("/")[2] if "//" in url else url)
    return links
