from __future__ import annotations

import json

import pytest

from bot.parsers import (
    CancelCommand,
    HelpCommand,
    InvestigateCommand,
    PayloadError,
    StatusCommand,
    parse_investigate_text,
    parse_slash_command,
)

from .conftest import FIXTURES, load_fixture

WHO = {"channel": "C0SRE00001", "user": "U0SRE00001", "team": "T0ACME0001"}


def test_free_text_becomes_manual_alert():
    text = "checkout pods in namespace payments are crash looping since the 14:50 rollout"
    req = parse_investigate_text(text + "\nsecond line", **WHO)
    [alert] = req.alerts
    assert (alert.kind, alert.source) == ("manual", "slack")
    assert alert.title == text
    assert alert.description.endswith("second line")
    assert alert.slack.user == "U0SRE00001" and alert.slack.ts is None
    other = parse_investigate_text("something else entirely", **WHO).alerts[0]
    assert other.fingerprint != alert.fingerprint


def test_long_first_line_is_cut_to_150():
    alert = parse_investigate_text("x" * 400, **WHO).alerts[0]
    assert len(alert.title) == 150 and alert.title.endswith("…")


def test_slash_command_fixture_text():
    form = (FIXTURES / "slack-slash-command.form").read_text()
    from urllib.parse import parse_qs

    text = parse_qs(form)["text"][0]
    cmd = parse_slash_command(text, **WHO)
    assert isinstance(cmd, InvestigateCommand)
    assert cmd.request.alerts[0].title.startswith("checkout pods in namespace payments")


@pytest.mark.parametrize("wrap", ["{}", "```{}```", "```json\n{}\n```"])
def test_pasted_json_is_detected(wrap):
    payload = json.dumps(load_fixture("alertmanager-webhook.json"))
    req = parse_investigate_text(wrap.format(payload), **WHO)
    [alert] = req.alerts
    assert alert.source == "alertmanager" and alert.kind == "KubePodCrashLooping"
    assert alert.slack.channel == "C0SRE00001" and alert.slack.user == "U0SRE00001"


def test_slack_escaped_and_smart_quoted_json():
    text = "{“alert_type”: “disk”, “title”: “a &lt; b”}".replace("“", "“").replace("”", "”")
    [alert] = parse_investigate_text(text, **WHO).alerts
    assert alert.title == "a < b"


def test_broken_json_says_where():
    with pytest.raises(PayloadError) as err:
        parse_investigate_text('{"alert_type": "x", "title": }', **WHO)
    assert str(err.value).startswith("text: looks like JSON but is not valid")
    assert "line 1 column" in str(err.value)


def test_message_link():
    link = "https://acme.slack.com/archives/C123ABC/p1796396292345600"
    req = parse_investigate_text(f"<{link}|message> please look", **WHO)
    assert req.alerts == []
    assert req.message_link.channel == "C123ABC"
    assert req.message_link.ts == "1796396292.345600"
    assert req.note == "please look"
    reply = parse_investigate_text(link + "?thread_ts=1796396000.000100&cid=C123ABC", **WHO)
    assert reply.message_link.thread_ts == "1796396000.000100"


def test_sub_commands():
    assert isinstance(parse_slash_command("", **WHO), HelpCommand)
    assert isinstance(parse_slash_command("help", **WHO), HelpCommand)
    assert parse_slash_command("status", **WHO) == StatusCommand(None)
    assert parse_slash_command("status 3f2a", **WHO) == StatusCommand("3f2a")
    assert parse_slash_command("cancel 3f2a", **WHO) == CancelCommand("3f2a")
    hint = parse_slash_command("cancel", **WHO)
    assert isinstance(hint, HelpCommand) and "session id" in hint.hint
    unknown = parse_slash_command("investigat checkout", **WHO)
    assert isinstance(unknown, HelpCommand) and "investigat" in unknown.hint
    empty = parse_slash_command("investigate   ", **WHO)
    assert isinstance(empty, HelpCommand) and "needs something" in empty.hint
    multi = parse_slash_command('investigate\n{"kind": "k", "title": "t"}', **WHO)
    assert isinstance(multi, InvestigateCommand) and multi.request.alerts[0].kind == "k"
