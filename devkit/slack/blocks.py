"""Block Kit limits that Slack enforces, and a plain-text rendering of blocks."""

from __future__ import annotations

import json
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_MARKDOWN_BLOCK = 12000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT = 40000
MAX_MESSAGE_CHARS = 13000

KNOWN_BLOCK_TYPES = {
    "section",
    "divider",
    "header",
    "context",
    "actions",
    "markdown",
    "rich_text",
    "image",
    "input",
    "file",
    "video",
    "table",
    "context_actions",
}


class BlockError(ValueError):
    """A Slack error code plus the per-field messages Slack returns with it."""

    def __init__(self, code: str, messages: list[str]):
        super().__init__(code)
        self.code = code
        self.messages = messages


def parse_blocks(raw: Any) -> list[dict] | None:
    """Accept blocks as a list or a JSON string (form-encoded calls send strings)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BlockError("invalid_blocks_format", [f"blocks is not valid JSON: {exc}"]) from exc
    if not isinstance(raw, list):
        raise BlockError("invalid_blocks_format", ["blocks must be an array"])
    return raw


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return ""


def validate_blocks(blocks: list[dict]) -> None:
    """Raise BlockError("invalid_blocks", ...) when Slack would reject these blocks."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCK_TYPES:
            errors.append(f"unsupported type {where}/type]")
            continue
        kind = block["type"]
        if kind == "section":
            text = _text_of(block.get("text"))
            if not text and not block.get("fields"):
                errors.append(f"must provide text or fields {where}]")
            if len(text) > MAX_SECTION_TEXT:
                errors.append(
                    f"must be less than {MAX_SECTION_TEXT + 1} characters {where}/text/text]"
                )
        elif kind == "markdown":
            text = str(block.get("text") or "")
            if len(text) > MAX_MARKDOWN_BLOCK:
                errors.append(
                    f"must be less than {MAX_MARKDOWN_BLOCK + 1} characters {where}/text]"
                )
        elif kind == "header":
            text = _text_of(block.get("text"))
            if not text:
                errors.append(f"must be more than 0 characters {where}/text/text]")
            if len(text) > MAX_HEADER_TEXT:
                errors.append(
                    f"must be less than {MAX_HEADER_TEXT + 1} characters {where}/text/text]"
                )
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > MAX_ACTIONS_ELEMENTS:
                errors.append(f"must have 1 to {MAX_ACTIONS_ELEMENTS} elements {where}/elements]")
            for j, element in enumerate(elements):
                if len(_text_of(element.get("text"))) > MAX_BUTTON_TEXT:
                    errors.append(
                        f"must be less than {MAX_BUTTON_TEXT + 1} characters "
                        f"{where}/elements/{j}/text/text]"
                    )
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                errors.append(f"must have 1 to {MAX_CONTEXT_ELEMENTS} elements {where}/elements]")
    if errors:
        raise BlockError("invalid_blocks", errors)


def check_message_size(text: str, blocks: list[dict] | None) -> None:
    """Raise BlockError("msg_too_long") for text or text+blocks beyond Slack's limits."""
    if len(text) > MAX_TEXT:
        raise BlockError("msg_too_long", [f"text is {len(text)} characters (max {MAX_TEXT})"])
    total = len(text) + (len(json.dumps(blocks)) if blocks else 0)
    if total > MAX_MESSAGE_CHARS:
        raise BlockError(
            "msg_too_long", [f"message is {total} characters (max about {MAX_MESSAGE_CHARS})"]
        )


def find_button(blocks: list[dict] | None, action_id: str) -> tuple[str | None, dict] | None:
    """Return (block_id, element) of the interactive element with `action_id`, if any."""
    for block in blocks or []:
        candidates = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None


def _rich_text(elements: list[Any]) -> str:
    out: list[str] = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        if "elements" in element:
            out.append(_rich_text(element["elements"]))
        elif element.get("type") == "user":
            out.append(f"@{element.get('user_id', '')}")
        elif element.get("type") == "link":
            out.append(str(element.get("text") or element.get("url") or ""))
        else:
            out.append(str(element.get("text") or ""))
    return "".join(out)


def render_blocks(blocks: list[dict]) -> list[str]:
    """Flatten blocks into the lines a person would read."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "section":
            if block.get("text"):
                lines.append(_text_of(block["text"]))
            for f in block.get("fields") or []:
                lines.append(_text_of(f))
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                lines.append(f"[{_text_of(accessory.get('text'))}]")
        elif kind == "markdown":
            lines.append(str(block.get("text") or ""))
        elif kind == "header":
            lines.append(f"== {_text_of(block.get('text'))} ==")
        elif kind == "divider":
            lines.append("---")
        elif kind == "context":
            parts = [_text_of(e) or str(e.get("alt_text") or "") for e in block.get("elements", [])]
            lines.append(" | ".join(p for p in parts if p))
        elif kind == "actions":
            labels = []
            for element in block.get("elements") or []:
                label = _text_of(element.get("text")) or element.get("action_id", "?")
                labels.append(f"[{label}]")
            lines.append(" ".join(labels))
        elif kind == "rich_text":
            lines.append(_rich_text(block.get("elements") or []))
        elif kind == "image":
            lines.append(f"<image: {block.get('alt_text', '')}>")
    return lines
