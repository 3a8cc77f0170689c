"""Regex groups for secrets in free text. Each group is named in `MaskingSettings.groups`.

Key/value patterns keep the key and the separator and mask only the value, so a reader (and
the model) still sees *that* a password was there without seeing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Replacer = Callable[[re.Match[str]], str]

# A value that is already masked is left alone (masking is idempotent).
_NOT_MASKED = r"(?!\[MASKED)"
# Separator between a key and its value: `key: v`, `key=v`, `"key": "v"`, `KEY='v'`.
_SEP = r"""(["']?\s*[:=]\s*["']?)"""
_VALUE = _NOT_MASKED + r"""([^\s"',;}\]]+)"""


@dataclass(frozen=True, slots=True)
class Rule:
    regex: re.Pattern[str]
    replace: Replacer


def _whole(label: str) -> Replacer:
    return lambda m: f"[MASKED:{label}]"


def _keep_key(label: str) -> Replacer:
    """For (key)(sep)(value) patterns: keep key and separator."""

    def replace(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.strip().lower().replace("-", "_") in NON_SECRET_KEYS:
            return m.group(0)
        return f"{key}{m.group(2)}[MASKED:{label}]"

    return replace


def _kv(keys: str, label: str, flags: int = re.IGNORECASE, value: str = _VALUE) -> Rule:
    return Rule(re.compile(rf"(\b{keys})" + _SEP + value, flags), _keep_key(label))


_PEM_B64 = r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{8,}"  # base64 of "-----BEGIN"

GROUPS: dict[str, list[Rule]] = {
    "private_keys": [
        Rule(
            re.compile(
                r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?"
                r"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
            ),
            _whole("private_key"),
        ),
        Rule(re.compile(_PEM_B64), _whole("pem_base64")),
    ],
    "certificates": [
        Rule(
            re.compile(r"-----BEGIN CERTIFICATE-----[\s\S]*?(?:-----END CERTIFICATE-----|\Z)"),
            _whole("certificate"),
        ),
        Rule(re.compile(_PEM_B64), _whole("pem_base64")),
    ],
    "bearer_tokens": [
        Rule(
            re.compile(
                r"\b(Bearer|Basic|Token)(\s+)" + _NOT_MASKED + r"([A-Za-z0-9\-._~+/]{8,}=*)"
            ),
            _keep_key("token"),
        ),
    ],
    "jwt": [
        Rule(
            re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"),
            _whole("jwt"),
        ),
    ],
    "api_keys": [
        _kv(
            r"[\w-]*(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|client[_-]?secret"
            r"|auth[_-]?token|access[_-]?token|refresh[_-]?token|private[_-]?token|secret|token)"
            r"[\w-]*",
            "api_key",
        ),
        Rule(re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"), _whole("api_key")),
        Rule(re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"), _whole("api_key")),
        Rule(re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"), _whole("api_key")),
        Rule(re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), _whole("api_key")),
        Rule(re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), _whole("api_key")),
    ],
    "passwords": [
        _kv(r"[\w-]*(?:password|passwd|pwd|passphrase)[\w-]*", "password"),
        Rule(
            re.compile(r"(--?(?:password|passwd|pwd)\b)(\s+)" + _VALUE, re.IGNORECASE),
            _keep_key("password"),
        ),
        # Kubernetes env entries: {"name": "DB_PASSWORD", "value": "x"} and the YAML form.
        Rule(
            re.compile(
                r"""(["']?name["']?\s*:\s*["']?[\w.-]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY)"""
                r"""[\w.-]*["']?\s*,?\s*["']?value["']?\s*:\s*["']?)"""
                r"""(?!\[MASKED)([^"'\n]*)""",
                re.IGNORECASE,
            ),
            lambda m: f"{m.group(1)}[MASKED:password]",
        ),
    ],
    "connection_strings": [
        Rule(
            re.compile(
                r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+)(:)"
                + _NOT_MASKED
                + r"([^\s@/'\"]+)(?=@)"
            ),
            _keep_key("password"),
        ),
    ],
    "cloud_keys": [
        Rule(re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), _whole("aws_access_key")),
        _kv(
            r"(?:aws_secret_access_key|aws_session_token|secretAccessKey|AccountKey"
            r"|SharedAccessKey|private_key_id)",
            "cloud_key",
        ),
        Rule(
            re.compile(r'("private_key"\s*:\s*")(?!\[MASKED)((?:[^"\\]|\\.)*)(")'),
            lambda m: f"{m.group(1)}[MASKED:private_key]{m.group(3)}",
        ),
    ],
    "slack_tokens": [
        Rule(re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"), _whole("slack_token")),
        Rule(re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), _whole("slack_token")),
        Rule(
            re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+"),
            _whole("slack_webhook"),
        ),
    ],
    "kubeconfig": [
        _kv(
            r"(?:client-key-data|client-certificate-data|id-token|refresh-token|token"
            r"|auth-provider-token)",
            "kubeconfig",
        ),
    ],
    # Structural masking lives in kubernetes.py; this text rule is the fallback for YAML that
    # does not parse (cut output, several documents mixed with prose).
    "kubernetes_secrets": [],
}

SENSITIVE_KEY = re.compile(
    r"(?i)(password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|client-key-data|credential|auth)"
)
"""Dict keys whose string values are masked wholesale in `Masker.mask_obj`."""

NON_SECRET_KEYS = frozenset(
    {
        "secretname",
        "secret_name",
        "token_type",
        "tokenizer",
        "secretref",
        "secretkeyref",
        "serviceaccounttoken",
        "automountserviceaccounttoken",
        "tokens",
        "input_tokens",
        "output_tokens",
        "thinking_tokens",
        "total_tokens",
        "max_tokens",
        "author",
        "authority",
        "authorization_mode",
    }
)
