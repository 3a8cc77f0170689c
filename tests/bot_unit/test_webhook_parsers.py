from __future__ import annotations

import copy

import pytest

from bot.parsers import (
    PayloadError,
    UnknownFormat,
    detect_and_parse,
    detect_format,
    normalize_severity,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
    parse_pagerduty,
)

from .conftest import load_fixture

RUNBOOK = "https://github.com/acme/runbooks/blob/main/kubernetes/KubePodCrashLooping.md"


def test_alertmanager_fixture():
    [alert] = parse_alertmanager(load_fixture("alertmanager-webhook.json"))
    assert alert.source == "alertmanager"
    assert alert.kind == "KubePodCrashLooping"
    assert alert.title == "KubePodCrashLooping: Pod is crash looping."
    assert alert.severity == "critical"
    assert alert.status == "firing"
    assert alert.labels["namespace"] == "payments"
    assert alert.labels["cluster"] == "prod-eu-1"
    assert "pod" not in alert.labels  # pods differ inside the group
    assert alert.runbook_url == RUNBOOK
    assert "checkout-7d9f8b6c5-x2x4q" in alert.description
    assert "checkout-7d9f8b6c5-k8m2p" in alert.description
    assert [link["title"] for link in alert.links] == ["Prometheus", "Alertmanager"]
    assert len(alert.fingerprint) == 32


def test_alertmanager_fingerprint_follows_group_key_not_alert_count():
    payload = load_fixture("alertmanager-webhook.json")
    [first] = parse_alertmanager(payload)
    repeat = copy.deepcopy(payload)
    repeat["alerts"] = repeat["alerts"][:1]
    repeat["status"] = "resolved"
    [again] = parse_alertmanager(repeat)
    assert again.fingerprint == first.fingerprint
    assert again.status == "resolved"
    other = copy.deepcopy(payload)
    other["groupKey"] = other["groupKey"].replace("payments", "search")
    assert parse_alertmanager(other)[0].fingerprint != first.fingerprint


def test_alertmanager_without_group_key_uses_first_alert_fingerprint():
    payload = load_fixture("alertmanager-webhook.json")
    del payload["groupKey"]
    a = parse_alertmanager(payload)[0].fingerprint
    payload["alerts"][0]["fingerprint"] = "ffff"
    assert parse_alertmanager(payload)[0].fingerprint != a


def test_grafana_fixture():
    [alert] = parse_grafana(load_fixture("grafana-webhook.json"))
    assert alert.source == "grafana"
    assert alert.kind == "CheckoutHighErrorRate"
    assert alert.title == "CheckoutHighErrorRate: checkout 5xx ratio is 12.5% (threshold 5%)"
    assert alert.severity == "unknown"
    assert alert.labels["team"] == "payments-sre"
    titles = {link["title"]: link["url"] for link in alert.links}
    assert titles["Dashboard"] == "https://grafana.acme.example/d/checkout-red?orgId=1"
    assert "Panel" in titles and "Silence" in titles


def test_grafana_legacy_webhook():
    [alert] = parse_grafana(
        {
            "ruleName": "Disk full",
            "ruleId": 7,
            "state": "ok",
            "tags": {"severity": "warn"},
            "ruleUrl": "https://g.example/d/1",
            "message": "disk at 95%",
        }
    )
    assert (alert.kind, alert.status, alert.severity) == ("Disk full", "resolved", "warning")


def test_pagerduty_fixture():
    [alert] = parse_pagerduty(load_fixture("pagerduty-v3-webhook.json"))
    assert alert.source == "pagerduty"
    assert alert.title == "Disk usage above 90% on db-primary-0 (/var/lib/postgresql)"
    assert alert.severity == "high"  # P2
    assert alert.status == "firing"
    assert alert.labels["incident_key"] == "db-primary-0-disk-usage"
    assert alert.labels["service"] == "Postgres (prod)"
    assert alert.links[0]["url"] == "https://acme.pagerduty.com/incidents/Q2XK1N9SCWLEHO"
    assert alert.runbook_url is None


def test_pagerduty_resolved_keeps_fingerprint_and_ignores_annotations():
    payload = load_fixture("pagerduty-v3-webhook.json")
    [fired] = parse_pagerduty(payload)
    payload["event"]["event_type"] = "incident.resolved"
    [resolved] = parse_pagerduty(payload)
    assert resolved.status == "resolved"
    assert resolved.fingerprint == fired.fingerprint
    payload["event"]["event_type"] = "incident.annotated"
    assert parse_pagerduty(payload) == []


def test_generic_fixture():
    [alert] = parse_generic(load_fixture("generic-alert.json"))
    assert alert.source == "generic"
    assert alert.kind == "kubernetes"
    assert alert.title == "Namespace stuck in Terminating"
    assert alert.severity == "warning"
    assert alert.runbook_url.endswith("NamespaceTerminating.md")
    assert alert.labels == {"cluster": "prod-eu-1", "namespace": "legacy-batch"}
    assert "47 minutes" in alert.description


def test_generic_fingerprints_differ_by_namespace_and_accept_explicit_key():
    payload = load_fixture("generic-alert.json")
    a = parse_generic(payload)[0].fingerprint
    payload["data"]["namespace"] = "other"
    assert parse_generic(payload)[0].fingerprint != a
    payload["fingerprint"] = "my-key"
    assert parse_generic(payload)[0].fingerprint == "my-key"


def test_generic_message_only_and_kind_alias():
    [alert] = parse_generic({"kind": "Disk", "message": "disk full\nmore lines", "severity": "P1"})
    assert (alert.title, alert.severity, alert.kind) == ("disk full", "critical", "Disk")
    assert alert.description == "disk full\nmore lines"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alertmanager-webhook.json", "alertmanager"),
        ("grafana-webhook.json", "grafana"),
        ("pagerduty-v3-webhook.json", "pagerduty"),
        ("generic-alert.json", "generic"),
    ],
)
def test_detect_every_fixture(name, expected):
    payload = load_fixture(name)
    assert detect_format(payload) == expected
    alerts = detect_and_parse(payload)
    assert len(alerts) == 1 and alerts[0].source == expected


def test_unknown_format_lists_supported_formats():
    with pytest.raises(UnknownFormat) as err:
        detect_and_parse({"hello": "world"})
    assert "alertmanager, grafana, pagerduty, generic" in str(err.value)
    assert "hello" in str(err.value)
    with pytest.raises(UnknownFormat, match="expected a JSON object, got list"):
        detect_and_parse([1, 2])


def _am(**changes):
    payload = load_fixture("alertmanager-webhook.json")
    payload.update(changes)
    return payload


def _am_alert0(**changes):
    payload = load_fixture("alertmanager-webhook.json")
    payload["alerts"][0].update(changes)
    return payload


MALFORMED = [
    (parse_alertmanager, "not json object", "(payload): expected an object, got string"),
    (parse_alertmanager, _am(alerts=None), "alerts: required list is missing"),
    (parse_alertmanager, _am(alerts={}), "alerts: expected a list, got object"),
    (parse_alertmanager, _am(alerts=[]), "alerts: expected at least one alert"),
    (parse_alertmanager, _am(alerts=[7]), "alerts[0]: expected an object, got number"),
    (
        parse_alertmanager,
        _am_alert0(labels=["a"]),
        "alerts[0].labels: expected an object, got list",
    ),
    (
        parse_alertmanager,
        _am_alert0(annotations={"summary": {"x": 1}}),
        "alerts[0].annotations.summary: expected a string value, got object",
    ),
    (parse_alertmanager, _am(commonLabels="x"), "commonLabels: expected an object, got string"),
    (parse_alertmanager, _am(status="exploded"), "status: expected 'firing' or 'resolved'"),
    (
        parse_alertmanager,
        _am(commonLabels={}, groupLabels={}, alerts=[{"labels": {}}]),
        "commonLabels.alertname: no alertname",
    ),
    (
        parse_pagerduty,
        {"event": {"event_type": "incident.triggered"}},
        "event.data: required object is missing",
    ),
    (
        parse_pagerduty,
        {"event": {"event_type": "service.created", "data": {}}},
        "event.event_type: unsupported event type 'service.created'",
    ),
    (
        parse_pagerduty,
        {"event": {"event_type": "incident.triggered", "data": {"id": "X"}}},
        "event.data.title: required string is missing or empty",
    ),
    (parse_pagerduty, {"evt": {}}, "event: required object is missing"),
    (parse_generic, {"title": "x"}, "alert_type: required string is missing"),
    (parse_generic, {"alert_type": "x"}, "title: required string is missing"),
    (
        parse_generic,
        {"alert_type": "x", "title": "t", "labels": {"a": [1]}},
        "labels.a: expected a string value, got list",
    ),
    (
        parse_generic,
        {"alert_type": "x", "title": "t", "runbook": "file:///etc/passwd"},
        "runbook: expected an http(s) URL",
    ),
    (
        parse_generic,
        {"alert_type": "x", "title": "t", "links": [{"title": "no url"}]},
        "links[0].url: required string is missing",
    ),
    (parse_generic, {"alert_type": 5.5, "title": ["t"]}, "title: expected a string, got list"),
]


@pytest.mark.parametrize(("parser", "payload", "message"), MALFORMED)
def test_malformed_payloads_name_the_field(parser, payload, message):
    with pytest.raises(PayloadError) as err:
        parser(payload)
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("critical", "critical"),
        ("CRIT", "critical"),
        ("P1", "critical"),
        ("sev-1", "critical"),
        ("error", "high"),
        ("P2", "high"),
        ("major", "high"),
        ("warn", "warning"),
        ("P3", "warning"),
        ("info", "info"),
        ("P5", "info"),
        ("low", "info"),
        ("danger", "critical"),
        ("#a30200", "critical"),
        ("#ff9900", "high"),
        ("#ffd700", "warning"),
        ("#36a64f", "info"),
        ("#888888", "unknown"),
        ("banana", "unknown"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_severity_normalisation(value, expected):
    assert normalize_severity(value) == expected
