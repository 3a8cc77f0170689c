"""Flatten a Slack message (text, attachments, Block Kit) into one simple structure.

Alerting apps spread their content over `text`, legacy `attachments` (title, text, fields,
color) and Block Kit (`header`, `section` text/fields, `context`, `rich_text`, button URLs).
The alert parser reads this flat view instead of every shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .common import expect_list, expect_object, find_links, join_path, type_name
from .errors import PayloadError


@dataclass(slots=True)
class SlackContent:
    title: str = ""
    title_link: str = ""
    color: str = ""
    texts: list[str] = field(default_factory=list)  # mrkdwn chunks, in display order
    fields: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    links: list[tuple[str, str]] = field(default_factory=list)  # (url, label)
    footer: str = ""

    @property
    def body(self) -> str:
        return "\n".join(t for t in self.texts if t)

    @property
    def text(self) -> str:
        """Alias of `all_text()`."""
        return self.all_text()

    def all_text(self) -> str:
        """Everything searchable: title, body, fields and footer."""
        parts = [self.title, self.body, self.footer]
        parts += [f"{k}: {v}" for k, v in self.fields]
        return "\n".join(p for p in parts if p)


def _str(value: Any, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"expected a string, got {type_name(value)}", path)


def _text_obj(value: Any, path: str) -> str:
    """A Block Kit text object (`{"type": "mrkdwn", "text": ...}`) or a plain string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    obj = expect_object(value, path)
    return _str(obj.get("text"), join_path(path, "text"))


def flatten_message(event: dict[str, Any]) -> SlackContent:
    out = SlackContent()
    text = _str(event.get("text"), "event.text")
    attachments = expect_list(event.get("attachments") or [], "event.attachments")
    blocks = expect_list(event.get("blocks") or [], "event.blocks")
    for i, raw in enumerate(attachments):
        _attachment(expect_object(raw, join_path("event.attachments", i)), i, out)
    has_rich_blocks = False
    for i, raw in enumerate(blocks):
        block = expect_object(raw, join_path("event.blocks", i))
        has_rich_blocks |= block.get("type") != "rich_text"
        _block(block, join_path("event.blocks", i), out)
    # Slack mirrors `text` into a single rich_text block for user messages: avoid doubling it.
    if text and (not blocks or has_rich_blocks or not out.texts):
        out.texts.insert(0, text)
    if not out.title:
        first = next((t for t in out.texts if t.strip()), "")
        out.title = first.strip().splitlines()[0] if first.strip() else ""
    for chunk in [out.title, *out.texts, *(v for _, v in out.fields), out.footer]:
        out.links.extend(find_links(chunk))
    return out


def _attachment(att: dict[str, Any], i: int, out: SlackContent) -> None:
    path = join_path("event.attachments", i)
    title = _str(att.get("title"), join_path(path, "title"))
    if title and not out.title:
        out.title = title
        out.title_link = _str(att.get("title_link"), join_path(path, "title_link"))
    if not out.color:
        out.color = _str(att.get("color"), join_path(path, "color"))
    for key in ("pretext", "text"):
        value = _str(att.get(key), join_path(path, key))
        if value:
            out.texts.append(value)
    for j, raw in enumerate(expect_list(att.get("fields") or [], join_path(path, "fields"))):
        fpath = join_path(join_path(path, "fields"), j)
        fld = expect_object(raw, fpath)
        out.fields.append(
            (
                _str(fld.get("title"), join_path(fpath, "title")),
                _str(fld.get("value"), join_path(fpath, "value")),
            )
        )
    if not out.footer:
        out.footer = _str(att.get("footer"), join_path(path, "footer"))
    for j, raw in enumerate(expect_list(att.get("blocks") or [], join_path(path, "blocks"))):
        bpath = join_path(join_path(path, "blocks"), j)
        _block(expect_object(raw, bpath), bpath, out)
    if not out.texts and not out.fields:
        fallback = _str(att.get("fallback"), join_path(path, "fallback"))
        if fallback:
            out.texts.append(fallback)


def _block(block: dict[str, Any], path: str, out: SlackContent) -> None:
    kind = block.get("type")
    if kind == "header":
        text = _text_obj(block.get("text"), join_path(path, "text"))
        if not out.title:
            out.title = text
        else:
            out.texts.append(text)
    elif kind == "section":
        text = _text_obj(block.get("text"), join_path(path, "text"))
        if text:
            out.texts.append(text)
        for j, raw in enumerate(expect_list(block.get("fields") or [], join_path(path, "fields"))):
            value = _text_obj(raw, join_path(join_path(path, "fields"), j))
            label, _, rest = value.partition("\n")
            if rest:
                out.fields.append((label.strip().strip("*").rstrip(":").strip(), rest.strip()))
            else:
                out.texts.append(value)
        acc = block.get("accessory")
        if isinstance(acc, dict) and isinstance(acc.get("url"), str):
            out.links.append(
                (
                    acc["url"],
                    _text_obj(acc.get("text"), "")
                    if isinstance(acc.get("text"), dict | str)
                    else "",
                )
            )
    elif kind == "context":
        for j, raw in enumerate(
            expect_list(block.get("elements") or [], join_path(path, "elements"))
        ):
            el = expect_object(raw, join_path(join_path(path, "elements"), j))
            if el.get("type") in ("mrkdwn", "plain_text"):
                out.texts.append(_str(el.get("text"), join_path(path, "elements")))
    elif kind == "actions":
        for raw in block.get("elements") or []:
            if isinstance(raw, dict) and isinstance(raw.get("url"), str):
                label = raw.get("text")
                out.links.append((raw["url"], _text_obj(label, "") if label else ""))
    elif kind == "rich_text":
        text = _rich_text(block.get("elements") or [], path, out)
        if text.strip():
            out.texts.append(text.strip())
    elif kind == "markdown":
        out.texts.append(_str(block.get("text"), join_path(path, "text")))


def _rich_text(elements: Any, path: str, out: SlackContent, depth: int = 0) -> str:
    """Render rich_text elements as mrkdwn-ish text; links are collected as well."""
    if depth > 8:
        return ""
    parts: list[str] = []
    for j, raw in enumerate(expect_list(elements, join_path(path, "elements"))):
        el = expect_object(raw, join_path(join_path(path, "elements"), j))
        kind = el.get("type")
        if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            parts.append(_rich_text(el.get("elements") or [], path, out, depth + 1) + "\n")
        elif kind == "rich_text_list":
            for sub in el.get("elements") or []:
                if isinstance(sub, dict):
                    inner = _rich_text(sub.get("elements") or [], path, out, depth + 1)
                    parts.append("• " + inner + "\n")
        elif kind == "text":
            style = el.get("style") if isinstance(el.get("style"), dict) else {}
            value = str(el.get("text") or "")
            parts.append(f"*{value}*" if style.get("bold") and value.strip() else value)
        elif kind == "link":
            url = str(el.get("url") or "")
            label = str(el.get("text") or "")
            out.links.append((url, label))
            parts.append(f"<{url}|{label}>" if label else url)
        elif kind == "emoji":
            parts.append(f":{el.get('name', '')}:")
        elif kind == "user":
            parts.append(f"<@{el.get('user_id', '')}>")
        elif kind == "channel":
            parts.append(f"<#{el.get('channel_id', '')}>")
    return "".join(parts)
