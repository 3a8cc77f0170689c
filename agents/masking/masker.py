"""`Masker`: one object per masking configuration, shared by agents, chains and bot."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from agents.masking import kubernetes as k8s
from agents.masking.patterns import GROUPS, NON_SECRET_KEYS, SENSITIVE_KEY, Rule
from config.models import MaskingSettings

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_YAML_PARSE = 1_000_000  # bigger texts use the line-based fallback (bounded CPU)

MASK_FAILED_TEXT = "[result withheld: masking failed]"


class MaskingError(RuntimeError):
    """Masking could not be completed; callers must fail closed (withhold the text)."""


class Masker:
    """Masks secrets in text and JSON-like objects.

    `mask_text` first masks Kubernetes Secrets structurally when the text is JSON or YAML,
    then applies the regex groups, then scrubs any secret value found structurally (and its
    base64-decoded form) wherever else it appears in the text.
    """

    def __init__(
        self,
        rules: list[Rule],
        *,
        kubernetes_secrets: bool = True,
        enabled: bool = True,
    ) -> None:
        self._rules = rules
        self._k8s = kubernetes_secrets
        self.enabled = enabled

    @classmethod
    def from_settings(cls, settings: MaskingSettings | None = None) -> Masker:
        settings = settings or MaskingSettings()
        unknown = [g for g in settings.groups if g not in GROUPS]
        if unknown:
            raise ValueError(
                f"unknown masking group(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(GROUPS))})"
            )
        rules: list[Rule] = []
        seen_ids: set[int] = set()
        for group in settings.groups:
            for rule in GROUPS[group]:
                if id(rule) not in seen_ids:
                    seen_ids.add(id(rule))
                    rules.append(rule)
        for custom in settings.patterns:
            replacement = custom.replacement.replace("{name}", custom.name)
            rules.append(Rule(re.compile(custom.pattern), lambda m, r=replacement: r))
        return cls(
            rules,
            kubernetes_secrets="kubernetes_secrets" in settings.groups,
            enabled=settings.enabled,
        )

    # ------------------------------------------------------------------ text

    def mask_text(self, text: str) -> str:
        if not self.enabled or not text:
            return text
        seen: set[str] = set()
        if self._k8s and k8s.looks_like_secret_text(text):
            text = self._mask_structured_text(text, seen)
        text = self._apply_rules(text)
        return _scrub(text, seen)

    def _apply_rules(self, text: str) -> str:
        for rule in self._rules:
            text = rule.regex.sub(rule.replace, text)
        return text

    def _mask_structured_text(self, text: str, seen: set[str]) -> str:
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                obj = json.loads(text)
            except ValueError:
                pass
            else:
                masked = k8s.mask_secrets(obj, seen)
                return text if masked == obj else json.dumps(masked, indent=2)
        docs = None
        if len(text) <= _MAX_YAML_PARSE:
            try:
                docs = list(yaml.load_all(text, Loader=_Loader))
            except yaml.YAMLError:
                docs = None
        if docs and all(isinstance(d, dict | list) or d is None for d in docs):
            masked_docs = [k8s.mask_secrets(d, seen) for d in docs]
            if masked_docs == docs:
                return text
            return yaml.safe_dump_all(masked_docs, sort_keys=False, default_flow_style=False)
        return k8s.mask_secret_yaml_lines(text)

    # ------------------------------------------------------------------ objects

    def mask_obj(self, obj: Any) -> Any:
        """Mask a JSON-like object (dicts, lists, strings, numbers); returns a new object."""
        if not self.enabled:
            return obj
        seen: set[str] = set()
        if self._k8s:
            obj = k8s.mask_secrets(obj, seen)
        return self._walk(obj, seen)

    def _walk(self, obj: Any, seen: set[str]) -> Any:
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                if (
                    isinstance(key, str)
                    and isinstance(value, str)
                    and value
                    and not value.startswith("[MASKED")
                    and SENSITIVE_KEY.search(key)
                    and key.lower() not in NON_SECRET_KEYS
                ):
                    out[key] = "[MASKED:secret_field]"
                else:
                    out[key] = self._walk(value, seen)
            if _is_secret_env(obj):
                out["value"] = "[MASKED:password]"
            return out
        if isinstance(obj, list):
            return [self._walk(v, seen) for v in obj]
        if isinstance(obj, str):
            return _scrub(self.mask_text(obj), seen)
        return obj


def _is_secret_env(obj: dict[str, Any]) -> bool:
    name, value = obj.get("name"), obj.get("value")
    return (
        isinstance(name, str)
        and isinstance(value, str)
        and bool(value)
        and SENSITIVE_KEY.search(name) is not None
        and set(obj) <= {"name", "value", "valueFrom"}
    )


def _scrub(text: str, values: set[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= 4 and value in text:
            text = text.replace(value, "[MASKED:kubernetes_secret]")
    return text
