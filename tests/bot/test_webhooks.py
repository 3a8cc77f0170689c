"""Webhooks: auth per source, size cap, strict parsing, routing, durability across a restart."""

from __future__ import annotations

import hashlib
import hmac
import json

import aiohttp
import pytest

from storage.repositories.sessions import get_session, list_sessions
from tests.helpers.stack import (
    INCIDENT_CHANNEL,
    PAYMENTS_CHANNEL,
    DevStack,
    buttons,
    fixture_bytes,
    message_text,
)

BEARER = "am-token-123"
HMAC_SECRET = "grafana-secret"
PD_SECRET = "pd-secret"
GENERIC = "generic-token"

WEBHOOK_AUTH = {
    "auth": {
        "alertmanager": {"type": "bearer", "token": BEARER},
        "grafana": {"type": "hmac", "token": HMAC_SECRET, "header": "X-Grafana-Signature"},
        "pagerduty": {"type": "pagerduty", "token": PD_SECRET},
        "generic": {"type": "bearer", "token": GENERIC},
    }
}


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def good_headers(source: str, body: bytes) -> dict[str, str]:
    if source == "alertmanager":
        return {"Authorization": f"Bearer {BEARER}"}
    if source == "grafana":
        return {"X-Grafana-Signature": "sha256=" + sign(HMAC_SECRET, body)}
    if source == "pagerduty":
        return {"X-PagerDuty-Signature": f"v1=deadbeef,v1={sign(PD_SECRET, body)}"}
    return {"Authorization": f"Bearer {GENERIC}"}


CASES = [
    ("alertmanager", "/webhooks/alertmanager", "alertmanager-webhook.json", INCIDENT_CHANNEL),
    ("grafana", "/webhooks/grafana", "grafana-webhook.json", PAYMENTS_CHANNEL),
    ("pagerduty", "/webhooks/pagerduty", "pagerduty-v3-webhook.json", INCIDENT_CHANNEL),
    ("generic", "/api/v1/alerts", "generic-alert.json", INCIDENT_CHANNEL),
]


@pytest.fixture
async def wstack(tmp_path):
    async with DevStack(tmp_path, webhook_overrides=WEBHOOK_AUTH) as st:
        yield st


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers={"Content-Type": "application/json", **headers}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_each_format_opens_a_thread_in_the_routed_channel(wstack):
    session_ids = {}
    for source, path, fixture, _channel in CASES:
        body = fixture_bytes(fixture)
        status, data = await post(wstack.url + path, body, good_headers(source, body))
        assert status == 202, (source, data)
        assert data["deduplicated"] is False and data["session_id"] and data["alert_id"]
        session_ids[source] = data["session_id"]
    slack = wstack.slack
    for source, _path, _fixture, channel in CASES:
        sid = session_ids[source]

        def done(sid=sid, channel=channel):
            return any(
                sid in message_text(m)
                and any("tarsy_rerun" in buttons(r) for r in slack.thread(channel, m.ts))
                for m in slack.messages(channel)
            )

        await slack.wait_for(done, timeout=45)
        root = next(m for m in slack.messages(channel) if sid in message_text(m))
        row = await get_session(wstack.app.db, sid)
        assert row.slack_channel == channel and row.slack_thread_ts == root.ts
        assert len(slack.thread(channel, root.ts)) >= 4  # card + stages + final


async def test_rejections_store_nothing(wstack):
    url = wstack.url
    body = fixture_bytes("alertmanager-webhook.json")
    status, data = await post(url + "/webhooks/alertmanager", body, {"Authorization": "Bearer x"})
    assert status == 401 and "bearer" in data["error"]
    status, data = await post(url + "/webhooks/alertmanager", body, {})
    assert status == 401
    gbody = fixture_bytes("grafana-webhook.json")
    status, data = await post(
        url + "/webhooks/grafana", gbody, {"X-Grafana-Signature": sign("wrong", gbody)}
    )
    assert status == 401 and "X-Grafana-Signature" in data["error"]
    pbody = fixture_bytes("pagerduty-v3-webhook.json")
    status, data = await post(
        url + "/webhooks/pagerduty", pbody, {"X-PagerDuty-Signature": "v1=" + sign("wrong", pbody)}
    )
    assert status == 401
    bad = b'{"alerts": [oops'
    status, data = await post(
        url + "/webhooks/alertmanager", bad, good_headers("alertmanager", bad)
    )
    assert status == 400 and "JSON" in data["error"]
    wrong_shape = json.dumps({"alerts": {"not": "a list"}}).encode()
    status, data = await post(
        url + "/webhooks/alertmanager", wrong_shape, good_headers("alertmanager", wrong_shape)
    )
    assert status == 400 and "alerts" in data["error"]
    huge = b'{"pad": "' + b"x" * (1_048_576 + 10) + b'"}'
    status, data = await post(
        url + "/webhooks/alertmanager", huge, good_headers("alertmanager", huge)
    )
    assert status == 413 and "limit" in data["error"]
    assert await list_sessions(wstack.app.db) == []
    assert wstack.slack.messages(INCIDENT_CHANNEL) == []


async def test_accepted_alert_survives_a_restart(tmp_path):
    async with DevStack(tmp_path, webhook_overrides=WEBHOOK_AUTH) as st:
        await st.stop_app()
        # Store the alert with a replica whose worker never runs (it is stopped at once).
        await st.start_app()
        await st.app.worker.stop()
        body = fixture_bytes("generic-alert.json")
        status, data = await post(st.url + "/api/v1/alerts", body, good_headers("generic", body))
        assert status == 202
        sid = data["session_id"]
        await st.stop_app()  # "crash" before investigating
        assert (await _status(st, sid)) == "queued"
        await st.start_app()
        slack = st.slack
        await slack.wait_for(
            lambda: any(
                sid in message_text(m) and "Done" in message_text(m)
                for m in slack.messages(INCIDENT_CHANNEL)
            ),
            timeout=45,
        )
        assert (await get_session(st.app.db, sid)).status == "completed"


async def _status(st: DevStack, sid: str) -> str:
    from storage.engine import Database

    db = Database(st.db_url)
    try:
        return (await get_session(db, sid)).status
    finally:
        await db.close()
