# ruff: noqa: E501  (a table of realistic secrets reads best one per line)
"""Masking: every regex group, Kubernetes Secrets in YAML and JSON (also in Lists), fail-closed."""

from __future__ import annotations

import json

import pytest

from agents.masking import MASK_FAILED_TEXT, Masker
from agents.mcp.hub import ToolHub
from config.models import MaskingSettings, McpServerConfig
from tests.agents.conftest import SECRET_B64, SECRET_PLAIN

M = Masker.from_settings()

SECRET_YAML = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: checkout-db-credentials
  namespace: payments
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {{"apiVersion":"v1","data":{{"password":"{SECRET_B64}"}},"kind":"Secret"}}
data:
  username: Y2hlY2tvdXQ=
  password: {SECRET_B64}
stringData:
  api: plain-text-value-123
type: Opaque
"""


def test_secret_yaml_masked_and_names_kept() -> None:
    out = M.mask_text(SECRET_YAML)
    assert SECRET_B64 not in out and "plain-text-value-123" not in out
    assert "Y2hlY2tvdXQ=" not in out
    assert "last-applied-configuration" in out and '"data"' not in out
    assert "name: checkout-db-credentials" in out  # decoded username 'checkout' is not scrubbed


def test_secret_json_list_items_masked() -> None:
    doc = {
        "kind": "List",
        "items": [
            {
                "kind": "Secret",
                "metadata": {
                    "name": "a",
                    "annotations": {
                        "kubectl.kubernetes.io/last-applied-configuration": f'{{"x":"{SECRET_B64}"}}'
                    },
                },
                "data": {"password": SECRET_B64},
            },
            {"kind": "ConfigMap", "data": {"greeting": "hello"}},
        ],
    }
    out = M.mask_text(json.dumps(doc))
    assert SECRET_B64 not in out
    assert "hello" in out  # ConfigMap data is not a secret
    masked_obj = M.mask_obj(doc)
    assert SECRET_B64 not in json.dumps(masked_obj)
    assert masked_obj["items"][1]["data"]["greeting"] == "hello"


def test_decoded_secret_value_scrubbed_elsewhere_in_same_text() -> None:
    text = SECRET_YAML + "---\nlog: connecting with " + SECRET_PLAIN + "\n"
    out = M.mask_text(text)
    assert SECRET_PLAIN not in out and SECRET_B64 not in out


def test_unparseable_secret_yaml_uses_line_fallback() -> None:
    text = "Here is the object:\n" + SECRET_YAML.replace("type: Opaque", "type: [unclosed")
    out = M.mask_text(text)
    assert SECRET_B64 not in out and "plain-text-value-123" not in out


@pytest.mark.parametrize(
    ("group", "text", "secret"),
    [
        (
            "private_keys",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "MIIEpAIBAAKCAQEA",
        ),
        (
            "private_keys",
            "key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2",
            "LS0tLS1CRUdJTiBQUklWQVRF",
        ),
        (
            "certificates",
            "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
            "MIIDdzCCAl",
        ),
        ("bearer_tokens", "Authorization: Bearer abcDEF123456ghiJKL", "abcDEF123456ghiJKL"),
        (
            "jwt",
            "tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.SflKxwRJSMeKKF2QT4",
            "SflKxwRJSMeKKF2QT4",
        ),
        ("api_keys", 'config: {"api_key": "k-1234567890abcdef"}', "k-1234567890abcdef"),
        ("api_keys", "OPENAI sk-proj-abcdefghijklmnopqrstuvwxyz123", "sk-proj-abcdefghij"),
        ("api_keys", "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghij"),
        ("passwords", "password: hunter2!", "hunter2!"),
        ("passwords", "DB_PASSWORD=s3cr3t-value", "s3cr3t-value"),
        ("passwords", '{"name": "DB_PASSWORD", "value": "envsecret9"}', "envsecret9"),
        ("passwords", "mysql --password hunter3 -h db", "hunter3"),
        ("connection_strings", "DSN postgres://app:dbpass99@db:5432/x", "dbpass99"),
        ("cloud_keys", "AWS key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
        (
            "cloud_keys",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI",
        ),
        (
            "cloud_keys",
            '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n"}',
            "MIIEvQ",
        ),
        ("slack_tokens", "bot xoxb-123456789012-abcdefABCDEF", "xoxb-123456789012"),
        ("slack_tokens", "app xapp-1-A0123-456-abcdef", "xapp-1-A0123"),
        (
            "kubeconfig",
            "users:\n- name: admin\n  user:\n    client-key-data: QUJDREVGR0hJSktM\n    token: kubetok123456",
            "QUJDREVGR0hJSktM",
        ),
        ("kubeconfig", "    token: kubetok123456", "kubetok123456"),
    ],
)
def test_each_group_masks_its_secret(group: str, text: str, secret: str) -> None:
    only = Masker.from_settings(MaskingSettings(groups=[group]))
    out = only.mask_text(text)
    assert secret not in out, out
    assert "[MASKED" in out
    none = Masker.from_settings(MaskingSettings(groups=[]))
    assert secret in none.mask_text(text)  # the group, not something else, did the masking


def test_ordinary_text_is_untouched_and_masking_is_idempotent() -> None:
    text = "pod checkout-7d9f8b6c5-x2x4q OOMKilled (exit code 137), input_tokens: 500, passed: 3"
    assert M.mask_text(text) == text
    once = M.mask_text("password: hunter2 and Bearer abcdefghijkl")
    assert M.mask_text(once) == once


def test_custom_pattern_and_disabled() -> None:
    settings = MaskingSettings(groups=[], patterns=[{"name": "ticket", "pattern": r"TICKET-\d+"}])
    assert Masker.from_settings(settings).mask_text("see TICKET-42") == "see [MASKED:ticket]"
    off = Masker.from_settings(MaskingSettings(enabled=False))
    assert off.mask_text("password: x1") == "password: x1"


def test_unknown_group_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown masking group"):
        Masker.from_settings(MaskingSettings(groups=["nope"]))


def test_mask_obj_sensitive_keys_and_env() -> None:
    out = M.mask_obj(
        {
            "password": "x",
            "secretName": "db",
            "env": [{"name": "API_TOKEN", "value": "tok-1"}, {"name": "MODE", "value": "prod"}],
        }
    )
    assert out["password"].startswith("[MASKED") and out["secretName"] == "db"
    assert out["env"][0]["value"].startswith("[MASKED") and out["env"][1]["value"] == "prod"


def test_hub_fails_closed_when_masking_raises() -> None:
    cfg = McpServerConfig.model_validate({"transport": {"type": "stdio", "command": "x"}})
    hub = ToolHub({"k": cfg})

    class Exploding(Masker):
        def mask_text(self, text: str) -> str:
            raise RuntimeError("boom")

    hub._maskers["k"] = Exploding([])
    text, error = hub._safe_mask("k", f"password: {SECRET_PLAIN}")
    assert text == MASK_FAILED_TEXT and error and "boom" in error
