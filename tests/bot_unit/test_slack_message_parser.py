from __future__ import annotations

import copy

import pytest

from bot.parsers import PayloadError, parse_alert_message
from bot.parsers.common import stable_fingerprint

from .conftest import load_fixture

BOTS = ["alertmanager", "grafana", "datadog", "pagerduty", "opsgenie"]
RUNBOOK = "https://github.com/acme/runbooks/blob/main/kubernetes/KubePodCrashLooping.md"


def parse(event, *, bots=BOTS, patterns=(), own_bot="B0TARSY001", own_user="U0TARSYBOT"):
    return parse_alert_message(
        event,
        alert_bots=list(bots),
        alert_patterns=list(patterns),
        own_bot_id=own_bot,
        own_user_id=own_user,
    )


def am_event():
    return load_fixture("slack-event-alert-message.json")["event"]


def test_alertmanager_fixture_message():
    alert = parse(am_event())
    assert alert is not None
    assert alert.source == "alertmanager"
    assert alert.kind == "KubePodCrashLooping"
    assert alert.title == "KubePodCrashLooping (payments critical prod-eu-1)"
    assert alert.severity == "critical"
    assert alert.status == "firing"
    assert alert.labels == {
        "alertname": "KubePodCrashLooping",
        "cluster": "prod-eu-1",
        "container": "checkout",
        "namespace": "payments",
        "severity": "critical",
    }
    assert alert.runbook_url == RUNBOOK
    assert alert.annotations["summary"] == "Pod is crash looping."
    assert alert.links[0]["url"].startswith("http://alertmanager.monitoring.svc:9093/")
    assert alert.slack.channel == "C0ALERTS01" and alert.slack.ts == "1796396292.345600"
    assert "checkout-7d9f8b6c5-k8m2p" in alert.description


def test_whole_envelope_is_accepted_and_team_kept():
    alert = parse(load_fixture("slack-event-alert-message.json"))
    assert alert.kind == "KubePodCrashLooping" and alert.slack.team == "T0ACME0001"


def test_repeat_and_resolved_messages_share_the_fingerprint():
    first = parse(am_event())
    again = am_event()
    att = again["attachments"][0]
    att["title"] = att["title"].replace("FIRING:2", "FIRING:3")
    att["text"] += "\n\n*Alert:* Pod is crash looping. - `critical`\n*Details:*\n  • *pod:* `x-3`"
    assert parse(again).fingerprint == first.fingerprint
    resolved = am_event()
    resolved["attachments"][0]["title"] = "[RESOLVED] KubePodCrashLooping (payments critical)"
    resolved["attachments"][0]["color"] = "2eb886"
    alert = parse(resolved)
    assert alert.status == "resolved"
    assert alert.fingerprint == first.fingerprint
    other = am_event()
    other["attachments"][0]["text"] = other["attachments"][0]["text"].replace(
        "`payments`", "`search`"
    )
    assert parse(other).fingerprint != first.fingerprint


def test_human_chatter_is_not_an_alert():
    event = {
        "type": "message",
        "user": "U0SRE00001",
        "text": "is prod slow for anyone?",
        "ts": "1.2",
        "channel": "C1",
    }
    assert parse(event) is None


def test_human_message_matching_a_pattern_is_an_alert():
    event = {
        "type": "message",
        "user": "U0SRE00001",
        "ts": "1.2",
        "channel": "C1",
        "text": "ALERT: checkout p99 latency 4s\nRunbook: <https://rb.example/lat|runbook>",
    }
    alert = parse(event, patterns=[r"^ALERT:"])
    assert alert is not None
    assert alert.source == "slack"
    assert alert.title == "ALERT: checkout p99 latency 4s"
    assert alert.runbook_url == "https://rb.example/lat"


def test_own_messages_are_ignored():
    event = am_event()
    assert parse(event, own_bot="B0ALERTMGR") is None
    mine = {
        "type": "message",
        "user": "U0TARSYBOT",
        "text": "[FIRING:1] X",
        "ts": "1.2",
        "channel": "C1",
    }
    assert parse(mine, patterns=["FIRING"]) is None


def test_edits_joins_and_thread_replies_are_ignored():
    edited = am_event()
    edited["subtype"] = "message_changed"
    assert parse(edited) is None
    reply = am_event()
    reply["thread_ts"] = "1796396000.000001"
    assert parse(reply) is None
    followup = load_fixture("slack-event-thread-followup.json")
    assert parse(followup, patterns=[".*"]) is None


def test_unlisted_bot_with_unrecognised_content_is_ignored():
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0DEPLOY",
        "username": "deploybot",
        "text": "Deployed checkout 2.14.0 to prod",
        "ts": "1.2",
        "channel": "C1",
    }
    assert parse(event) is None
    assert parse(event, bots=[]) is not None  # empty list: every bot counts


def test_renamed_alertmanager_bot_is_recognised_by_content():
    event = am_event()
    event["username"] = "Prod alerts"
    event["bot_id"] = "B0CUSTOM"
    alert = parse(event)
    assert alert is not None and alert.source == "alertmanager"


def test_grafana_unified_alerting_message():
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0GRAFANA",
        "username": "Grafana",
        "ts": "1796396400.000100",
        "channel": "C0ALERTS01",
        "attachments": [
            {
                "color": "#D63232",
                "title": "[FIRING:1] CheckoutHighErrorRate Payments (checkout payments-sre)",
                "title_link": "https://grafana.acme.example/alerting/list",
                "text": "**Firing**\n\nValue: B=0.125\nLabels:\n"
                " - alertname = CheckoutHighErrorRate\n"
                " - service = checkout\n - team = payments-sre\nAnnotations:\n"
                " - summary = checkout 5xx ratio is 12.5%\n"
                " - runbook_url = https://rb.example/checkout-5xx\n"
                "Source: https://grafana.acme.example/alerting/grafana/eb0a/view\n",
                "footer": "Grafana v11.3.0",
            }
        ],
    }
    alert = parse(event)
    assert alert.source == "grafana"
    assert alert.kind == "CheckoutHighErrorRate"
    assert alert.labels["team"] == "payments-sre"
    assert alert.annotations["summary"] == "checkout 5xx ratio is 12.5%"
    assert alert.runbook_url == "https://rb.example/checkout-5xx"
    assert alert.severity == "critical"  # red colour, no severity label
    legacy = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0G",
        "username": "grafana",
        "ts": "1.3",
        "channel": "C1",
        "attachments": [{"title": "[OK] Disk usage", "text": "all good", "color": "good"}],
    }
    resolved = parse(legacy)
    assert resolved.status == "resolved" and resolved.title == "Disk usage"


def test_datadog_triggered_and_recovered():
    def dd(title: str, color: str) -> dict:
        return {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0DD",
            "username": "Datadog",
            "ts": "1.4",
            "channel": "C1",
            "attachments": [
                {
                    "title": title,
                    "color": color,
                    "title_link": "https://app.datadoghq.com/monitors/123456?from_ts=1",
                    "text": "CPU above 90% for 10m on web-3\n\nTags: env:prod, service:checkout, "
                    "team:payments",
                }
            ],
        }

    fired = parse(dd("Triggered: [P2] High CPU on checkout", "#e01e5a"))
    assert fired.source == "datadog"
    assert fired.status == "firing"
    assert fired.title == "High CPU on checkout"
    assert fired.labels == {"env": "prod", "service": "checkout", "team": "payments"}
    assert fired.severity == "high"  # P2 in the title
    recovered = parse(dd("Recovered: [P2] High CPU on checkout", "#2eb886"))
    assert recovered.status == "resolved"
    assert recovered.fingerprint == fired.fingerprint


def test_pagerduty_blocks_message_matches_webhook_fingerprint():
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0PD",
        "ts": "1.5",
        "channel": "C1",
        "bot_profile": {"name": "PagerDuty"},
        "text": "Triggered: #4821",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":red_circle: Triggered "
                    "<https://acme.pagerduty.com/incidents/Q2XK1N9SCWLEHO|#4821 "
                    "Disk usage above 90% on db-primary-0>",
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Urgency*\nHigh"},
                    {"type": "mrkdwn", "text": "*Service*\nPostgres (prod)"},
                    {"type": "mrkdwn", "text": "*Priority*\nP1"},
                ],
            },
        ],
    }
    alert = parse(event)
    assert alert.source == "pagerduty"
    assert alert.kind == "PagerDutyIncident"
    assert alert.severity == "critical"
    assert alert.labels["service"] == "Postgres (prod)"
    assert alert.fingerprint == stable_fingerprint("pagerduty", "Q2XK1N9SCWLEHO")
    assert any("pagerduty.com/incidents" in link["url"] for link in alert.links)
    event["text"] = "Resolved: #4821"
    event["blocks"][0]["text"]["text"] = event["blocks"][0]["text"]["text"].replace(
        ":red_circle: Triggered", ":large_green_circle: Resolved"
    )
    assert parse(event).status == "resolved"


def test_opsgenie_message():
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0OG",
        "username": "Opsgenie",
        "ts": "1.6",
        "channel": "C1",
        "attachments": [
            {
                "title": 'New alert: "#812: Kafka consumer lag high"',
                "title_link": "https://acme.app.opsgenie.com/alert/detail/4f1b-22aa/details",
                "fields": [
                    {"title": "Priority", "value": "P3"},
                    {"title": "Tags", "value": "team:data, env:prod"},
                ],
            }
        ],
    }
    alert = parse(event)
    assert (alert.source, alert.severity, alert.status) == ("opsgenie", "warning", "firing")
    assert alert.title == "Kafka consumer lag high"
    assert alert.labels["team"] == "data"
    assert alert.fingerprint == stable_fingerprint("opsgenie", "4f1b-22aa")


def test_rich_text_message_from_listed_bot():
    event = {
        "type": "message",
        "bot_id": "B0X",
        "ts": "1.7",
        "channel": "C1",
        "bot_profile": {"name": "Alertmanager"},
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {
                                "type": "text",
                                "text": "[FIRING:1] NodeDiskFull",
                                "style": {"bold": True},
                            },
                            {"type": "text", "text": "\nseverity: warning\nrunbook: "},
                            {"type": "link", "url": "https://rb.example/disk", "text": "runbook"},
                        ],
                    }
                ],
            }
        ],
    }
    alert = parse(event)
    assert alert.kind == "NodeDiskFull"
    assert alert.severity == "warning"
    assert alert.runbook_url == "https://rb.example/disk"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda e: e.update(attachments={"a": 1}), "event.attachments: expected a list"),
        (lambda e: e.update(attachments=["x"]), "event.attachments[0]: expected an object"),
        (
            lambda e: e["attachments"][0].update(fields="x"),
            "event.attachments[0].fields: expected a list",
        ),
        (
            lambda e: e.update(blocks=[{"type": "section", "text": 5}]),
            "event.blocks[0].text: expected an object",
        ),
        (lambda e: e.update(text=["x"]), "event.text: expected a string"),
    ],
)
def test_odd_slack_payloads_raise_precise_errors(mutate, path):
    event = copy.deepcopy(am_event())
    mutate(event)
    with pytest.raises(PayloadError) as err:
        parse(event)
    assert str(err.value).startswith(path)


def test_not_an_object():
    with pytest.raises(PayloadError, match="expected an object, got list"):
        parse([])  # type: ignore[arg-type]


def test_bad_configured_regex_does_not_crash():
    event = {"type": "message", "user": "U1", "text": "hello", "ts": "1", "channel": "C"}
    assert parse(event, patterns=["(unclosed"]) is None
