"""Text helpers for Slack: make untrusted text harmless, convert Markdown, split to limits.

Slack limits (see LIBNOTES): 3,000 chars per section text, 12,000 per `markdown` block,
50 blocks per message, and messages near 13k chars get rejected - we cap at 11,000.
"""

from __future__ import annotations

import re

SECTION_LIMIT = 3000
MARKDOWN_BLOCK_LIMIT = 12000
MESSAGE_LIMIT = 11000
MAX_BLOCKS = 50
ZWSP = "\u200b"

_LINK = re.compile(r"<((?:https?|mailto):[^<>|\s]+)(\|[^<>]*)?>")
_SPECIAL = re.compile(r"<([!@#][^<>]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_BARE_BROADCAST = re.compile(r"(?<![\w.])@(here|channel|everyone)\b", re.I)
_FENCE_LINE = re.compile(r"^\s*```")


def escape(text: str) -> str:
    """Escape `& < >` per Slack rules; existing `&amp; &lt; &gt;` entities are kept as is."""
    out = []
    last = 0
    for m in _ENTITY.finditer(text):
        out.append(_escape_raw(text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_escape_raw(text[last:]))
    return "".join(out)


def _escape_raw(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _special_to_plain(m: re.Match[str]) -> str:
    """`<@U1|dana>` -> `@dana`, `<!here>` -> `@\u200bhere`, `<#C1|ops>` -> `#ops`."""
    inner = m.group(1)
    ref, _, label = inner.partition("|")
    if ref.startswith("@"):
        return "@" + ZWSP + (label or ref[1:])
    if ref.startswith("#"):
        return "#" + (label or ref[1:])
    # `!here`, `!channel`, `!everyone`, `!subteam^S1|@sre`, `!date^...|fallback`
    if ref.startswith("!date"):
        return label or "(date)"
    name = label.lstrip("@") if label else ref[1:].split("^")[-1]
    return "@" + ZWSP + name


def neutralize_mentions(text: str, *, keep_links: bool = True, escape_entities: bool = True) -> str:
    """Make untrusted text safe to post: no pings, no Slack control syntax.

    Mentions (`<@U…>`, `<!here>`, `<!channel>`, `<!everyone>`, `<!subteam^…>`) become plain
    `@\u200bname`; bare `@here`/`@channel`/`@everyone` get a zero-width space; `& < >` are
    escaped. With `keep_links`, `<https://…|label>` links stay clickable. Use
    `escape_entities=False` for `markdown` blocks, which do not use Slack's entity escaping.
    """
    if not text:
        return ""
    pieces: list[str] = []
    last = 0
    if keep_links:
        for m in _LINK.finditer(text):
            pieces.append(_neutral_segment(text[last : m.start()], escape_entities))
            label = _neutral_segment(m.group(2) or "", escape_entities)
            pieces.append(f"<{m.group(1)}{label}>")
            last = m.end()
    pieces.append(_neutral_segment(text[last:], escape_entities))
    return "".join(pieces)


def _neutral_segment(text: str, escape_entities: bool = True) -> str:
    text = _SPECIAL.sub(_special_to_plain, text)
    if escape_entities:
        text = escape(text)
    return _BARE_BROADCAST.sub(lambda m: "@" + ZWSP + m.group(1), text)


# --------------------------------------------------------------------------- Markdown


_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_MD_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_ITALIC = re.compile(r"(?<![\*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\*\w])")
_MD_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_MD_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_INLINE_CODE = re.compile(r"`[^`\n]+`")


def md_to_mrkdwn(markdown: str) -> str:
    """Markdown (what LLMs write) -> Slack mrkdwn for fallback/section text.

    `**bold**` -> `*bold*`, `*italic*` -> `_italic_`, `# Heading` -> `*Heading*`,
    `[t](u)` -> `<u|t>`, `~~x~~` -> `~x~`, `- item` -> `• item`; code is left alone.
    """
    out: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE_LINE.match(line):
            in_fence = not in_fence
            out.append(line.strip())
            continue
        if in_fence:
            out.append(line)
            continue
        out.append(_convert_line(line))
    return "\n".join(out)


def _convert_line(line: str) -> str:
    codes: list[str] = []

    def stash(m: re.Match[str]) -> str:
        codes.append(m.group(0))
        return f"\x00{len(codes) - 1}\x00"

    line = _INLINE_CODE.sub(stash, line)
    heading = _MD_HEADING.match(line)
    if heading:
        line = "*" + heading.group(1).replace("**", "").strip() + "*"
    else:
        line = _MD_BULLET.sub(lambda m: m.group(1) + "• ", line)
        line = _MD_ITALIC.sub(r"_\1_", line)
        line = _MD_BOLD.sub(lambda m: "\x01" + m.group(2) + "\x01", line)
        line = line.replace("\x01", "*")
        line = _MD_STRIKE.sub(r"~\1~", line)
    line = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", line)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], line)


# --------------------------------------------------------------------------- splitting


def truncate(text: str, limit: int, note: str = "…") -> str:
    """Cut to at most `limit` chars, ending with `note`; closes an open code fence."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(note) - 4)]
    if cut.count("```") % 2:
        cut += "\n```"
    return cut + note


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split into chunks of at most `limit` chars on paragraph, then line boundaries.

    A chunk never ends inside a code fence: the fence is closed and reopened in the next chunk.
    Lines longer than `limit` are cut at a space when possible.
    """
    if limit < 16:
        raise ValueError("limit must be at least 16 characters")
    if len(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for para in _paragraphs(text):
        candidate = f"{current}\n\n{para}" if current else para
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
            current = ""
        if len(para) <= limit:
            current = para
        else:
            parts = _split_lines(para, limit)
            chunks.extend(parts[:-1])
            current = parts[-1]
    if current:
        chunks.append(current)
    return chunks


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs; a code fence is never split here."""
    paras: list[str] = []
    buf: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if _FENCE_LINE.match(line):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if buf:
                paras.append("\n".join(buf))
                buf = []
            continue
        buf.append(line)
    if buf:
        paras.append("\n".join(buf))
    return paras


def _split_lines(para: str, limit: int) -> list[str]:
    chunks: list[str] = []
    lines: list[str] = []
    size = 0
    in_fence = False  # fence state at the end of `lines`
    fence_open = "```"

    def flush() -> None:
        nonlocal lines, size
        if not lines:
            return
        body = "\n".join(lines)
        if in_fence:
            body += "\n```"
        chunks.append(body)
        lines = [fence_open] if in_fence else []
        size = len(fence_open) if in_fence else 0

    for line in para.split("\n"):
        is_fence = bool(_FENCE_LINE.match(line))
        reserve = 4 if (in_fence or is_fence) else 0
        for piece in _hard_split(line, limit - 8):
            extra = len(piece) + (1 if lines else 0)
            if size + extra + reserve > limit and lines and lines != [fence_open]:
                flush()
                extra = len(piece) + (1 if lines else 0)
            lines.append(piece)
            size += extra
        if is_fence:
            in_fence = not in_fence
            if in_fence:
                fence_open = line.strip()
    flush_final = "\n".join(lines)
    if flush_final and lines != [fence_open]:
        chunks.append(flush_final)
    return chunks


def _hard_split(line: str, limit: int) -> list[str]:
    if len(line) <= limit:
        return [line]
    parts = []
    while len(line) > limit:
        cut = line.rfind(" ", limit // 2, limit)
        cut = cut if cut > 0 else limit
        parts.append(line[:cut])
        line = line[cut:].lstrip(" ")
    parts.append(line)
    return parts
