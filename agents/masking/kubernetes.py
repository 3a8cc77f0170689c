"""Structural masking of Kubernetes Secrets in parsed objects (JSON or YAML, also List items).

Besides replacing `data` / `stringData` values and the last-applied-configuration annotation,
it returns the secret values it saw (and their base64-decoded forms) so the caller can scrub
them anywhere else in the same text, e.g. a decoded password echoed in a log line.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from agents.masking.patterns import SENSITIVE_KEY

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MASK = "[MASKED:kubernetes_secret]"


def _decoded(value: str) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def is_secret(obj: Any) -> bool:
    return isinstance(obj, dict) and str(obj.get("kind", "")).lower() == "secret"


def mask_secrets(obj: Any, seen: set[str]) -> Any:
    """Return a copy of `obj` with every Secret's payload masked; add raw values to `seen`."""
    if isinstance(obj, list):
        return [mask_secrets(v, seen) for v in obj]
    if not isinstance(obj, dict):
        return obj
    secret = is_secret(obj)
    out: dict[Any, Any] = {}
    for key, value in obj.items():
        if secret and key in ("data", "stringData") and isinstance(value, dict):
            out[key] = {
                k: _mask_value(str(k), v, seen, b64=key == "data") for k, v in value.items()
            }
        elif key == "metadata" and isinstance(value, dict):
            out[key] = _mask_metadata(value, seen)
        else:
            out[key] = mask_secrets(value, seen)
    return out


def _mask_value(key: str, value: Any, seen: set[str], *, b64: bool) -> str:
    """Mask one Secret value. Remember it (and its decoded form) for scrubbing elsewhere, but
    not short or non-sensitive decoded values like a username `checkout`, which would also
    erase every mention of the app of that name."""
    if isinstance(value, str) and len(value) >= 8:
        seen.add(value)
        plain = _decoded(value) if b64 else None
        if plain and len(plain) >= 6 and (SENSITIVE_KEY.search(key) or len(plain) >= 16):
            seen.add(plain)
    return MASK


def _mask_metadata(meta: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    out = dict(meta)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        out["annotations"] = {k: (MASK if k == LAST_APPLIED else v) for k, v in annotations.items()}
    return out


_SECRET_KIND = re.compile(r"""(?i)["']?kind["']?\s*:\s*["']?Secret\b""")


def looks_like_secret_text(text: str) -> bool:
    return LAST_APPLIED in text or _SECRET_KIND.search(text) is not None


def mask_secret_yaml_lines(text: str) -> str:
    """Line-based fallback for YAML that does not parse: after `kind: Secret` appears, mask
    every indented `key: value` line under a `data:` / `stringData:` block."""
    lines = text.split("\n")
    out: list[str] = []
    block_indent: int | None = None
    skip_indent: int | None = None  # inside a multi-line last-applied annotation value
    for line in lines:
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if skip_indent is not None:
            if not stripped or indent > skip_indent:
                continue
            skip_indent = None
        if block_indent is not None:
            if stripped and indent > block_indent and ":" in stripped:
                key = stripped.split(":", 1)[0]
                out.append(f"{' ' * indent}{key}: {MASK}")
                continue
            if stripped and indent <= block_indent:
                block_indent = None
        if stripped.startswith(("data:", "stringData:")) and stripped.rstrip().endswith(":"):
            block_indent = indent
        if LAST_APPLIED in stripped and ":" in stripped:
            key = stripped.split(":", 1)[0]
            out.append(f"{' ' * indent}{key}: {MASK}")
            skip_indent = indent
            continue
        out.append(line)
    return "\n".join(out)
