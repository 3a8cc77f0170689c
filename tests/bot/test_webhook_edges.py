"""Webhook edge cases: signature formats, body size tricks, content types, empty and odd
bodies, unknown alert types. Bad input is always a 4xx that names the problem, never a 5xx."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from urllib.parse import urlparse

import aiohttp
import pytest

from storage.repositories.sessions import get_session, list_sessions
from tests.helpers.stack import DevStack, fixture_bytes

HMAC_SECRET = "grafana-secret"
PD_SECRET = "pd-secret"
AUTH = {
    "auth": {
        "grafana": {"type": "hmac", "token": HMAC_SECRET, "header": "X-Grafana-Signature"},
        "pagerduty": {"type": "pagerduty", "token": PD_SECRET},
    }
}
LIMIT = 1_048_576


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
async def hstack(tmp_path):
    async with DevStack(tmp_path, webhook_overrides=AUTH) as st:
        await st.app.worker.stop()  # only intake is under test: sessions stay queued
        yield st


async def post(url, body, headers=None, content_type="application/json"):
    hdrs = {"Content-Type": content_type} if content_type else {}
    hdrs.update(headers or {})
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=hdrs) as resp:
        return resp.status, await resp.json(content_type=None)


async def raw_request(base_url: str, head: str, body: bytes = b"") -> tuple[int, str]:
    """Send bytes as-is (headers that lie) and read the status line and body."""
    u = urlparse(base_url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        async with asyncio.timeout(10):
            data = await reader.read(65536)
    finally:
        writer.close()
    status_line, _, rest = data.decode(errors="replace").partition("\r\n")
    return int(status_line.split()[1]), rest


async def test_signature_formats(hstack):
    url = hstack.url
    g = fixture_bytes("grafana-webhook.json")
    for sig in (
        sign(HMAC_SECRET, g),
        "sha256=" + sign(HMAC_SECRET, g),
        sign(HMAC_SECRET, g).upper(),
    ):
        status, data = await post(url + "/webhooks/grafana", g, {"X-Grafana-Signature": sig})
        assert status == 202, (sig, data)
    status, data = await post(
        url + "/webhooks/grafana", g, {"X-Grafana-Signature": "sha256=" + sign("other", g)}
    )
    assert status == 401 and "does not match" in data["error"]

    p = fixture_bytes("pagerduty-v3-webhook.json")
    good = sign(PD_SECRET, p)
    for header in (
        f"v1={good}",
        f"v1={sign('old', p)},v1={good}",
        f"v1={sign('old', p)}, v1={good}",
    ):
        status, data = await post(url + "/webhooks/pagerduty", p, {"X-PagerDuty-Signature": header})
        assert status == 202, (header, data)
    for header in (f"v1={sign('a', p)},v1={sign('b', p)}", f"v0={good}", good):
        status, data = await post(url + "/webhooks/pagerduty", p, {"X-PagerDuty-Signature": header})
        assert status == 401 and "X-PagerDuty-Signature" in data["error"], header
    assert len(await list_sessions(hstack.app.db)) == 2  # one per source, repeats deduplicated


async def test_oversized_bodies_are_refused_without_reading_them(hstack):
    url = hstack.url
    host = urlparse(url).netloc
    # Content-Length claims more than the limit: refused before any body byte is read.
    status, rest = await raw_request(
        url,
        f"POST /api/v1/alerts HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {LIMIT + 5000}\r\n\r\n",
    )
    assert status == 413 and "limit" in rest

    # Chunked (no Content-Length) and over the limit: counted while reading.
    async def chunks():
        yield b'{"title": "x", "pad": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    status, data = await post(url + "/api/v1/alerts", chunks())
    assert status == 413 and str(LIMIT) in data["error"]

    # Content-Length smaller than the body: only that much is read -> not JSON -> 400.
    body = json.dumps({"title": "disk full", "severity": "warning"}).encode()
    status, rest = await raw_request(
        url,
        f"POST /api/v1/alerts HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Content-Length: 5\r\n\r\n",
        body,
    )
    assert 400 <= status < 500  # aiohttp itself refuses the bytes that follow
    assert await list_sessions(hstack.app.db) == []


BAD_BODIES = [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"title=disk+full", "JSON"),
    (b"\xff\xfe\x00garbage", "JSON"),
    (b"[]", "payload"),
    (b"null", "payload"),
    (b'"just a string"', "payload"),
    (b"42", "payload"),
    (b'{"alerts": [null]}', "payload"),
    (b'{"alerts": [{"labels": "not-a-dict"}]}', "payload"),
    (b'{"alerts": "nope"}', "payload"),
    (b'{"event": null}', "payload"),
    (b'{"event": {"event_type": 5, "data": []}}', "payload"),
    (b'{"title": {"nested": true}}', "payload"),
    (b'{"title": ""}', "payload"),
    (b"[" * 5000 + b"]" * 5000, "JSON"),
]


async def test_bad_input_is_a_4xx_that_names_the_problem(hstack):
    url = hstack.url
    paths = {
        "alertmanager": "/webhooks/alertmanager",
        "grafana": "/webhooks/grafana",
        "pagerduty": "/webhooks/pagerduty",
        "generic": "/api/v1/alerts",
    }
    failures = []
    for source, path in paths.items():
        for body, _kind in BAD_BODIES:
            headers = {}
            if source == "grafana":
                headers["X-Grafana-Signature"] = sign(HMAC_SECRET, body)
            if source == "pagerduty":
                headers["X-PagerDuty-Signature"] = "v1=" + sign(PD_SECRET, body)
            status, data = await post(url + path, body, headers)
            if not (400 <= status < 500 and isinstance(data, dict) and data.get("error")):
                failures.append((source, body[:40], status, data))
    assert failures == []
    status, data = await post(url + "/api/v1/alerts", b"", {})
    assert status == 400 and "empty" in data["error"]
    assert await list_sessions(hstack.app.db) == []


async def test_content_types_and_unknown_alert_type(hstack):
    url = hstack.url
    # A JSON body with a sloppy content type is still read (many senders get it wrong).
    body = json.dumps(
        {"title": "Quantum flux capacitor overheating", "kind": "FluxCapacitorHot"}
    ).encode()
    status, data = await post(url + "/api/v1/alerts", body, content_type="text/plain")
    assert status == 202, data
    row = await get_session(hstack.app.db, data["session_id"])
    assert row.alert_kind == "FluxCapacitorHot"
    assert row.chain_name == hstack.app.cfg.agents.routing.default_chain
    status, data = await post(
        url + "/api/v1/alerts", b"title=x", content_type="application/x-www-form-urlencoded"
    )
    assert status == 400 and "application/json" in data["error"]
