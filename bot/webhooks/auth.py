"""Webhook authentication per source: bearer token, HMAC-SHA256 header, PagerDuty v3 signature.

Every comparison is constant-time (`hmac.compare_digest`). `check_auth` returns None when the
request is authentic, else a short reason safe to send back (it never echoes the secret).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from config.models import WebhookAuth

PAGERDUTY_HEADER = "X-PagerDuty-Signature"


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def check_bearer(headers: Mapping[str, str], token: str) -> str | None:
    value = headers.get("Authorization", "")
    scheme, _, given = value.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return "missing bearer token (send 'Authorization: Bearer <token>')"
    if not _eq(given.strip(), token):
        return "invalid bearer token"
    return None


def check_hmac(headers: Mapping[str, str], body: bytes, secret: str, header: str) -> str | None:
    given = headers.get(header, "").strip()
    if not given:
        return f"missing signature header {header} (hex HMAC-SHA256 of the body)"
    if given.lower().startswith("sha256="):
        given = given[len("sha256=") :]
    if not _eq(given.lower(), _hmac_hex(secret, body)):
        return f"signature in {header} does not match the body"
    return None


def check_pagerduty(headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    """PagerDuty v3: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]` (several during rotation)."""
    raw = headers.get(PAGERDUTY_HEADER, "").strip()
    if not raw:
        return f"missing {PAGERDUTY_HEADER} header"
    expected = _hmac_hex(secret, body)
    ok = False
    for part in raw.split(","):
        version, _, sig = part.strip().partition("=")
        # Check every candidate (no early exit) so timing does not reveal which one matched.
        if version == "v1" and _eq(sig.strip().lower(), expected):
            ok = True
    return None if ok else f"no v1 signature in {PAGERDUTY_HEADER} matches the body"


def check_auth(auth: WebhookAuth | None, headers: Mapping[str, str], body: bytes) -> str | None:
    if auth is None or auth.type == "none":
        return None
    secret = auth.token.get_secret_value() if auth.token else ""
    if auth.type == "bearer":
        return check_bearer(headers, secret)
    if auth.type == "hmac":
        return check_hmac(headers, body, secret, auth.header)
    if auth.type == "pagerduty":
        return check_pagerduty(headers, body, secret)
    return f"unsupported auth type {auth.type!r}"
