"""The effective configuration as plain data with every secret replaced, safe to print or log."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, SecretStr

from config.models import TarsyConfig

REDACTED = "***"
UNSET = "<unset>"
# keys of free-form maps (MCP env, headers) whose values are treated as secrets
_SECRET_KEY = re.compile(r"(?i)token|secret|passw|pwd|key|auth|cookie|credential|session")
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s]+)(?=@)", re.I)


def redacted(cfg: TarsyConfig) -> dict[str, Any]:
    """`{"config_dir", "tarsy": ..., "agents": ...}` with SecretStr -> `***` / `<unset>`."""
    return {
        "config_dir": cfg.config_dir,
        "tarsy": _model(cfg.settings),
        "agents": _model(cfg.agents),
    }


def secret_values(cfg: TarsyConfig) -> list[str]:
    """Every non-empty secret in the configuration (to scrub from any text as a last resort)."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, SecretStr):
            if v.get_secret_value():
                found.append(v.get_secret_value())
        elif isinstance(v, BaseModel):
            for name in type(v).model_fields:
                walk(getattr(v, name))
        elif isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, str) and _SECRET_KEY.search(str(k)) and x:
                    found.append(x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(cfg.settings)
    walk(cfg.agents)
    return sorted(set(found), key=len, reverse=True)


def mask_url_password(text: str) -> str:
    """`postgresql://user:pw@host/db` -> `postgresql://user:***@host/db`."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


def _model(model: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        is_secret = _unwrap_optional_is_secret(info.annotation)
        out[info.alias or name] = UNSET if value is None and is_secret else _value(value)
    return out


def _unwrap_optional_is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def _value(v: Any, secret_key: bool = False) -> Any:
    if isinstance(v, SecretStr):
        return REDACTED if v.get_secret_value() else UNSET
    if isinstance(v, BaseModel):
        return _model(v)
    if isinstance(v, dict):
        return {k: _value(x, bool(_SECRET_KEY.search(str(k)))) for k, x in v.items()}
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, str):
        if secret_key:
            return REDACTED if v else ""
        return mask_url_password(v)
    return v
