"""Small helpers shared by the parsers: strict field access, severity, Slack link syntax."""

from __future__ import annotations

import colorsys
import hashlib
import re
from typing import Any

from chains.alert import Severity

from .errors import PayloadError

# --------------------------------------------------------------------------- strict access


def type_name(value: Any) -> str:
    """JSON-ish name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def join_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def expect_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"expected an object, got {type_name(value)}", path or "(payload)")
    return value


def expect_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(f"expected a list, got {type_name(value)}", path)
    return value


def opt_object(data: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    """`data[key]` as an object; missing/null gives `{}`."""
    value = data.get(key)
    if value is None:
        return {}
    return expect_object(value, join_path(path, key))


def opt_list(data: dict[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    return expect_list(value, join_path(path, key))


def opt_str(data: dict[str, Any], key: str, path: str) -> str | None:
    """`data[key]` as a string; numbers are accepted and converted, missing/null gives None."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"expected a string, got {type_name(value)}", join_path(path, key))


def req_str(data: dict[str, Any], key: str, path: str) -> str:
    value = opt_str(data, key, path)
    if value is None or not value.strip():
        raise PayloadError("required string is missing or empty", join_path(path, key))
    return value


def string_map(value: Any, path: str) -> dict[str, str]:
    """A labels/annotations object: string keys, scalar values (converted to strings)."""
    if value is None:
        return {}
    obj = expect_object(value, path)
    out: dict[str, str] = {}
    for key, item in obj.items():
        if isinstance(item, str):
            out[str(key)] = item
        elif isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif isinstance(item, int | float):
            out[str(key)] = str(item)
        else:
            raise PayloadError(
                f"expected a string value, got {type_name(item)}", join_path(path, str(key))
            )
    return out


TITLE_MAX = 150


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def short_title(text: str, limit: int = TITLE_MAX) -> str:
    """One-line title: whitespace runs collapsed to one space, then cut to `limit`."""
    return truncate(" ".join(text.split()), limit)


def stable_fingerprint(*parts: str) -> str:
    """Hash of a few identifying strings (same length as `label_fingerprint`)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- severity

_SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(
        [
            "critical",
            "crit",
            "fatal",
            "emergency",
            "emerg",
            "disaster",
            "page",
            "sev1",
            "sev0",
            "p1",
            "p0",
            "danger",
            "alert",
            "urgent",
        ],
        "critical",
    ),
    **dict.fromkeys(["high", "error", "err", "major", "sev2", "p2", "severe"], "high"),
    **dict.fromkeys(
        ["warning", "warn", "medium", "moderate", "average", "minor", "sev3", "p3"], "warning"
    ),
    **dict.fromkeys(
        [
            "info",
            "information",
            "informational",
            "low",
            "notice",
            "debug",
            "none",
            "ok",
            "good",
            "sev4",
            "sev5",
            "p4",
            "p5",
        ],
        "info",
    ),
}


def normalize_severity(value: Any) -> Severity:
    """Map the many spellings alerting tools use onto critical/high/warning/info/unknown.

    Accepts words (`crit`, `error`, `warn`), priorities (`P1`..`P5`, `SEV-2`) and Slack
    attachment colours (`danger`, `#a30200`).
    """
    if value is None:
        return "unknown"
    text = str(value).strip().lower()
    if not text:
        return "unknown"
    key = re.sub(r"[\s_\-]", "", text)
    if key in _SEVERITY_WORDS:
        return _SEVERITY_WORDS[key]
    if re.fullmatch(r"#?[0-9a-f]{6}|#?[0-9a-f]{3}", text):
        return severity_from_color(text)
    return "unknown"


def severity_from_color(color: str | None) -> Severity:
    """Slack attachment colour -> severity (red critical, orange high, yellow warning)."""
    if not color:
        return "unknown"
    text = color.strip().lower()
    if text in ("danger", "warning", "good"):
        return {"danger": "critical", "warning": "warning", "good": "info"}[text]  # type: ignore[return-value]
    text = text.lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if not re.fullmatch(r"[0-9a-f]{6}", text):
        return "unknown"
    r, g, b = (int(text[i : i + 2], 16) / 255 for i in (0, 2, 4))
    hue, _light, sat = colorsys.rgb_to_hls(r, g, b)
    if sat < 0.25:
        return "unknown"
    deg = hue * 360
    if deg < 15 or deg >= 330:
        return "critical"
    if deg < 40:
        return "high"
    if deg < 70:
        return "warning"
    return "info"


# --------------------------------------------------------------------------- Slack syntax

SLACK_LINK = re.compile(r"<((?:https?|mailto):[^>|\s]+)(?:\|([^>]*))?>")
BARE_URL = re.compile(r"(?<![<|(\w])https?://[^\s<>|`\"')\]]+")


def unwrap_slack_link(text: str) -> str:
    """`<url|label>` or `<url>` -> url; anything else is returned stripped."""
    text = text.strip()
    m = SLACK_LINK.fullmatch(text)
    if m:
        return m.group(1)
    m = SLACK_LINK.search(text)
    if m:
        return m.group(1)
    m = BARE_URL.search(text)
    return m.group(0) if m else text


def find_links(text: str) -> list[tuple[str, str]]:
    """All `(url, label)` pairs in Slack mrkdwn (wrapped links and bare URLs)."""
    out: list[tuple[str, str]] = []
    for m in SLACK_LINK.finditer(text):
        out.append((m.group(1), (m.group(2) or "").strip()))
    for m in BARE_URL.finditer(SLACK_LINK.sub(" ", text)):
        out.append((m.group(0).rstrip(".,;"), ""))
    return out


def slack_to_plain(text: str) -> str:
    """Slack mrkdwn -> readable plain text: links unwrapped, entities unescaped."""

    def link(m: re.Match[str]) -> str:
        label = (m.group(2) or "").strip()
        if label and not label.startswith(":") and label != m.group(1):
            return f"{label} ({m.group(1)})"
        return m.group(1)

    text = SLACK_LINK.sub(link, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def add_link(links: list[dict[str, str]], url: str, title: str) -> None:
    """Append a link unless that URL is already there."""
    url = url.strip()
    if url and url.startswith(("http://", "https://")) and all(x["url"] != url for x in links):
        links.append({"title": title, "url": url})
