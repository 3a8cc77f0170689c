"""Block Kit rendering for an incident thread. Pure functions: data in, `(text, blocks)` out.

Everything that came from outside (alert titles, LLM output, tool arguments) goes through
`neutralize_mentions` before it reaches mrkdwn. Button `action_id`s are the contract with the
Bolt action handlers: `tarsy_cancel`, `tarsy_rerun`, `tarsy_feedback_up`,
`tarsy_feedback_down`, `tarsy_details` - each button's `value` is the session id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownBlock,
    MarkdownTextObject,
    SectionBlock,
)

from .text import (
    MARKDOWN_BLOCK_LIMIT,
    MAX_BLOCKS,
    MESSAGE_LIMIT,
    SECTION_LIMIT,
    md_to_mrkdwn,
    neutralize_mentions,
    split_text,
    truncate,
)

Status = Literal["queued", "investigating", "completed", "failed", "cancelled", "timed_out"]
RUNNING: frozenset[str] = frozenset({"queued", "investigating"})

SEVERITY_EMOJI = {"critical": "🔴", "high": "🟠", "warning": "🟡", "info": "🔵"}
ACTION_CANCEL = "tarsy_cancel"
ACTION_RERUN = "tarsy_rerun"
ACTION_FEEDBACK_UP = "tarsy_feedback_up"
ACTION_FEEDBACK_DOWN = "tarsy_feedback_down"
ACTION_DETAILS = "tarsy_details"
MODAL_MAX_BLOCKS = 100
_MAX_LINK_BUTTONS = 4
_MAX_TOOL_LINES = 15


@dataclass(slots=True)
class IncidentView:
    """What the status card shows about one investigation (built by the Slack sink)."""

    session_id: str
    title: str
    severity: str = "unknown"
    source: str = ""
    status: Status = "queued"
    stage_index: int | None = None  # 1-based
    stage_total: int | None = None
    stage_name: str | None = None
    likely_cause: str | None = None
    confidence: str | float | None = None  # "high" or 0.0..1.0
    next_steps: list[str] = field(default_factory=list)
    duration_s: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    occurrences: int = 1
    first_seen: datetime | None = None
    links: list[dict[str, str]] = field(default_factory=list)  # alert, dashboard, ...
    runbook_url: str | None = None
    started_at: datetime | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. a tool server was unavailable


# --------------------------------------------------------------------------- small pieces


def _safe(text: str | None, limit: int = SECTION_LIMIT) -> str:
    return truncate(neutralize_mentions(text or ""), limit)


def _one_line(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_tokens(count: int | None) -> str:
    if count is None:
        return "?"
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)


def slack_time(at: datetime) -> str:
    """A time Slack renders in the reader's own timezone (fallback: HH:MM UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    fallback = at.astimezone(UTC).strftime("%H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{time}}|{fallback}>"


def status_line(view: IncidentView) -> str:
    status = {"running": "investigating", "pending": "queued"}.get(view.status, view.status)
    if status == "queued":
        return "⏳ Queued"
    if status == "investigating":
        if view.stage_index and view.stage_total:
            name = f": {_safe(view.stage_name, 80)}" if view.stage_name else ""
            return f"🔍 Investigating — stage {view.stage_index}/{view.stage_total}{name}"
        return "🔍 Investigating"
    if status == "completed":
        return "✅ Done"
    if status == "failed":
        return f"❌ Failed: {_safe(_one_line(view.error or 'unknown error', 300), 400)}"
    if status == "cancelled":
        return "🚫 Cancelled"
    if status == "timed_out":
        return "⌛ Timed out"
    return _safe(str(status), 40)


def occurrence_note(count: int, first_seen: datetime | None) -> str:
    """`seen 12× since 14:51` (empty for a single occurrence)."""
    if count <= 1:
        return ""
    since = f" since {slack_time(first_seen)}" if first_seen else ""
    return f"seen {count}×{since}"


def _context_line(view: IncidentView) -> str:
    parts: list[str] = []
    if view.duration_s is not None:
        parts.append(f"⏱ {format_duration(view.duration_s)}")
    if view.tokens_in is not None or view.tokens_out is not None:
        parts.append(f"{format_tokens(view.tokens_in)} in / {format_tokens(view.tokens_out)} out")
    seen = occurrence_note(view.occurrences, view.first_seen)
    if seen:
        parts.append(seen)
    if view.source:
        parts.append(_safe(view.source, 40))
    parts.append(f"session `{_safe(view.session_id, 64)}`")
    return " · ".join(parts)


def _confidence(value: str | float | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        return f"{value * 100:.0f}%" if value <= 1 else f"{value:.0f}%"
    return _safe(str(value), 40)


def _link_buttons(view: IncidentView) -> list[ButtonElement]:
    links = list(view.links)
    if view.runbook_url:
        links.append({"title": "Runbook", "url": view.runbook_url})
    buttons: list[ButtonElement] = []
    seen: set[str] = set()
    for link in links:
        url = link.get("url", "")
        if not url.startswith(("http://", "https://")) or url in seen or len(url) > 3000:
            continue
        seen.add(url)
        title = _one_line(link.get("title") or "Link", 40)
        buttons.append(ButtonElement(text=title, url=url, action_id=f"tarsy_link_{len(seen)}"))
        if len(buttons) >= _MAX_LINK_BUTTONS:
            break
    return buttons


def _header(view: IncidentView) -> HeaderBlock:
    emoji = SEVERITY_EMOJI.get(view.severity, "⚪")
    return HeaderBlock(text=_one_line(f"{emoji} {view.title or 'Untitled alert'}", 150))


# --------------------------------------------------------------------------- status card


def status_card(view: IncidentView) -> tuple[str, list[dict[str, Any]]]:
    """The thread's root/status message; edited as the investigation moves on."""
    emoji = SEVERITY_EMOJI.get(view.severity, "⚪")
    status = status_line(view)
    blocks: list[Any] = [_header(view), SectionBlock(text=MarkdownTextObject(text=status))]
    if view.likely_cause:
        conf = _confidence(view.confidence)
        conf_txt = f" _(confidence: {conf})_" if conf else ""
        text = f"*Likely cause:* {_safe(view.likely_cause, 2500)}{conf_txt}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT))))
    steps = [s for s in view.next_steps if s and s.strip()][:3]
    if steps:
        lines = "\n".join(f"{i}. {_safe(_one_line(s, 600), 900)}" for i, s in enumerate(steps, 1))
        text = truncate(f"*Next steps:*\n{lines}", SECTION_LIMIT)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    if view.warnings:
        text = "\n".join(_safe(_one_line(w, 300), 400) for w in view.warnings[:3])
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=text)]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_context_line(view))]))
    elements: list[ButtonElement] = _link_buttons(view)
    if view.status in RUNNING:
        elements.append(
            ButtonElement(
                text="Cancel",
                action_id=ACTION_CANCEL,
                value=view.session_id,
                style="danger",
                confirm=ConfirmObject(
                    title="Cancel investigation?",
                    text="TARSy stops this investigation. You can re-run it later.",
                    confirm="Cancel it",
                    deny="Keep running",
                ),
            )
        )
    if elements:
        blocks.append(ActionsBlock(elements=elements))
    fallback = f"{emoji} {_one_line(view.title, 150)} — {status}"
    return _safe(fallback, 3000), [b.to_dict() for b in blocks]


# --------------------------------------------------------------------------- stages and tools


def _short_value(value: Any, limit: int) -> str:
    if isinstance(value, dict | list):
        return "{…}" if isinstance(value, dict) else "[…]"
    text = _one_line(str(value), 200)
    return text if len(text) <= limit else text[:limit] + "…"


def tool_line(
    tool: str,
    args: dict[str, Any] | None,
    duration_ms: float | None,
    error: str | None = None,
    denied: bool = False,
) -> str:
    """`🔧 pods_log payments/checkout-7d9… 0.4 s` - one compact line per tool call."""
    name = tool.rsplit("__", 1)[-1].rsplit(".", 1)[-1] if tool else "tool"
    args = dict(args or {})
    shown: list[str] = []
    namespace = args.pop("namespace", None)
    for key in ("name", "pod", "pod_name", "deployment", "resource"):
        if key in args and namespace is not None:
            shown.append(f"{_short_value(namespace, 20)}/{_short_value(args.pop(key), 12)}")
            namespace = None
            break
    if namespace is not None:
        shown.append(_short_value(namespace, 20))
    for value in args.values():
        if len(shown) >= 3:
            break
        if value is None or value == "" or isinstance(value, bool):
            continue
        shown.append(_short_value(value, 24))
    arg_text = _one_line(" ".join(shown), 60)
    timing = format_duration(duration_ms / 1000) if duration_ms is not None else ""
    body = neutralize_mentions(" ".join(p for p in (f"`{name}`", arg_text, timing) if p))
    if denied:
        return f"🚫 {body} — denied"
    if error:
        return f"⚠️ {body} — {_safe(_one_line(error, 120), 200)}"
    return f"🔧 {body}"


def stage_message(
    stage_name: str,
    index: int,
    total: int,
    text: str,
    tool_lines: list[str],
    done: bool = False,
    error: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The message that streams one stage: title, tool calls so far, the stage's text."""
    mark = " ❌" if error else (" ✅" if done else " ⏳")
    title = f"*Stage {index}/{total} — {_safe(_one_line(stage_name, 80), 120)}*{mark}"
    blocks: list[dict[str, Any]] = [SectionBlock(text=MarkdownTextObject(text=title)).to_dict()]
    budget = MESSAGE_LIMIT - len(title)
    if tool_lines:
        lines = list(tool_lines)
        hidden = max(0, len(lines) - _MAX_TOOL_LINES)
        lines = lines[hidden:]
        if hidden:
            lines.insert(0, f"_… {hidden} earlier tool calls_")
        tools_text = truncate("\n".join(lines), SECTION_LIMIT)
        budget -= len(tools_text)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=tools_text)]).to_dict())
    if error:
        err = f"❌ {_safe(_one_line(error, 500), 700)}"
        budget -= len(err)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=err)).to_dict())
    body = md_to_mrkdwn(neutralize_mentions(text or "")).strip()
    if body:
        body = truncate(body, max(200, budget - 100), "\n_… (cut here; see Show details)_")
        for chunk in split_text(body, SECTION_LIMIT)[: MAX_BLOCKS - len(blocks)]:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)).to_dict())
    fallback = f"Stage {index}/{total} — {_one_line(stage_name, 80)}"
    return neutralize_mentions(fallback), blocks


# --------------------------------------------------------------------------- final message


FAILED_HINT = (
    "No recommendation this time. *Show details* has what each stage found before it stopped; "
    "*Re-run* starts a fresh investigation (check `/health` first if the LLM or a tool server "
    "was failing)."
)


def final_message(
    view: IncidentView,
    recommendation_markdown: str,
    summary: str = "",
    *,
    markdown_block: bool = True,
) -> tuple[str, list[dict[str, Any]]]:
    """The closing message: summary, recommendation and the feedback/re-run buttons.

    The recommendation goes into a `markdown` block (Slack renders the LLM's Markdown); with
    `markdown_block=False` it is converted to mrkdwn sections instead. The returned text is
    the mrkdwn fallback (notifications, clients without markdown blocks).
    """
    emoji = SEVERITY_EMOJI.get(view.severity, "⚪")
    title = _safe(_one_line(view.title, 150), 300)
    succeeded = view.status == "completed"
    if succeeded:
        head = f"{emoji} *Recommendation* — {title}"
    else:
        # No recommendation to rate: say what happened and offer a re-run instead.
        head = f"{status_line(view)}\n{emoji} {title}"
        if not (recommendation_markdown or "").strip():
            recommendation_markdown = FAILED_HINT
    blocks: list[dict[str, Any]] = [SectionBlock(text=MarkdownTextObject(text=head)).to_dict()]
    if summary.strip():
        text = truncate(f"*Summary:* {md_to_mrkdwn(neutralize_mentions(summary))}", SECTION_LIMIT)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)).to_dict())
    rec_md = neutralize_mentions(recommendation_markdown or "", escape_entities=False).strip()
    rec_mrkdwn = md_to_mrkdwn(neutralize_mentions(recommendation_markdown or "")).strip()
    if rec_md:
        room = MESSAGE_LIMIT - len(head) - len(summary) - 600
        if markdown_block:
            rec = truncate(rec_md, min(MARKDOWN_BLOCK_LIMIT, room), "\n\n_… (see Show details)_")
            blocks.append(MarkdownBlock(text=rec).to_dict())
        else:
            rec = truncate(rec_mrkdwn, room, "\n_… (see Show details)_")
            for chunk in split_text(rec, SECTION_LIMIT)[: MAX_BLOCKS - 4]:
                blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)).to_dict())
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_context_line(view))]).to_dict())
    sid = view.session_id
    buttons = [ButtonElement(text="Re-run", action_id=ACTION_RERUN, value=sid)]
    if succeeded:
        buttons += [
            ButtonElement(text="👍", action_id=ACTION_FEEDBACK_UP, value=sid),
            ButtonElement(text="👎", action_id=ACTION_FEEDBACK_DOWN, value=sid),
        ]
    buttons.append(ButtonElement(text="Show details", action_id=ACTION_DETAILS, value=sid))
    blocks.append(ActionsBlock(elements=buttons).to_dict())
    fallback = truncate(f"{head}\n{rec_mrkdwn}", 3000)
    return fallback, blocks


def followup_answer_blocks(text: str) -> list[dict[str, Any]]:
    """An answer to a question in the thread (LLM Markdown), within one message's limits."""
    md = neutralize_mentions(text or "", escape_entities=False).strip() or "_(no answer)_"
    return [MarkdownBlock(text=truncate(md, MARKDOWN_BLOCK_LIMIT - 500, "\n\n_… (cut)_")).to_dict()]


# --------------------------------------------------------------------------- details modal


def details_modal(timeline: dict[str, Any]) -> dict[str, Any]:
    """A modal with every stage's tool calls and full output.

    `timeline` = {"session_id", "title", "status", "stages": [{"name", "status", "output",
    "error", "tools": [{"tool", "arguments", "duration_ms", "error", "denied"}]}],
    "final": str}. Longer than 100 blocks -> cut, with a note saying where the rest is.
    """
    sid = str(timeline.get("session_id") or "")
    blocks: list[dict[str, Any]] = []
    title = _one_line(str(timeline.get("title") or "Investigation"), 150)
    blocks.append(HeaderBlock(text=title).to_dict())
    status = _safe(str(timeline.get("status") or ""), 40)
    ctx = f"session `{_safe(sid, 64)}`" + (f" · {status}" if status else "")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=ctx)]).to_dict())
    stages = timeline.get("stages") or []
    total = len(stages)
    for i, stage in enumerate(stages, 1):
        if not isinstance(stage, dict):
            continue
        blocks.append(DividerBlock().to_dict())
        mark = {"completed": "✅", "failed": "❌", "cancelled": "🚫", "timed_out": "⌛"}.get(
            str(stage.get("status")), "⏳"
        )
        name = _safe(_one_line(str(stage.get("name") or f"stage {i}"), 80), 120)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*Stage {i}/{total} — {name}* {mark}")
            ).to_dict()
        )
        tools = [t for t in stage.get("tools") or [] if isinstance(t, dict)]
        if tools:
            lines = [
                tool_line(
                    str(t.get("tool") or "tool"),
                    t.get("arguments") if isinstance(t.get("arguments"), dict) else {},
                    t.get("duration_ms"),
                    t.get("error"),
                    bool(t.get("denied")),
                )
                for t in tools
            ]
            for chunk in split_text("\n".join(lines), SECTION_LIMIT):
                blocks.append(ContextBlock(elements=[MarkdownTextObject(text=chunk)]).to_dict())
        if stage.get("error"):
            err = f"❌ {_safe(str(stage['error']), 2900)}"
            blocks.append(SectionBlock(text=MarkdownTextObject(text=err)).to_dict())
        output = md_to_mrkdwn(neutralize_mentions(str(stage.get("output") or ""))).strip()
        for chunk in split_text(output, SECTION_LIMIT):
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)).to_dict())
    final = md_to_mrkdwn(neutralize_mentions(str(timeline.get("final") or ""))).strip()
    if final:
        blocks.append(DividerBlock().to_dict())
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Final analysis*")).to_dict())
        for chunk in split_text(final, SECTION_LIMIT):
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)).to_dict())
    if len(blocks) > MODAL_MAX_BLOCKS:
        hidden = len(blocks) - (MODAL_MAX_BLOCKS - 1)
        note = (
            f"_… {hidden} more blocks not shown. Full record: "
            f"`tarsy sessions show {_safe(sid, 64)}`_"
        )
        blocks = blocks[: MODAL_MAX_BLOCKS - 1]
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]).to_dict())
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Investigation details"},
        "close": {"type": "plain_text", "text": "Close"},
        "private_metadata": sid[:3000],
        "blocks": blocks,
    }


# --------------------------------------------------------------------------- command replies


def help_text(hint: str | None = None) -> str:
    """Usage of `/tarsy`; `hint` (e.g. an unknown sub-command) is shown first."""
    lines = []
    if hint:
        lines.append(f"⚠️ {neutralize_mentions(hint)}")
        lines.append("")
    lines += [
        "*TARSy* investigates alerts and answers questions in the thread.",
        "• `/tarsy investigate <what is wrong>` — free text, e.g. "
        "`/tarsy investigate checkout pods crash looping in payments`",
        "• `/tarsy investigate <alert JSON>` — Alertmanager, Grafana, PagerDuty or generic "
        "JSON (``` fences are fine)",
        "• `/tarsy investigate <link to a Slack message>` — investigate an alert posted anywhere",
        "• `/tarsy status [session id]` — running investigations, or one in detail",
        "• `/tarsy cancel <session id>` — stop an investigation",
        "• `/tarsy help` — this message",
        "Ask follow-up questions by mentioning TARSy in an investigation thread.",
    ]
    return "\n".join(lines)


def view_from(obj: Any) -> IncidentView:
    """An `IncidentView` from a view, a dict, or a stored session row (`id`, `alert_title`,
    `alert_severity`, `status`, `started_at`/`finished_at`, token counts, `error`)."""
    if isinstance(obj, IncidentView):
        return obj

    def get(*names: str) -> Any:
        for name in names:
            value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
            if value is not None:
                return value
        return None

    started, finished = get("started_at"), get("finished_at")
    duration = get("duration_s")
    if duration is None and isinstance(started, datetime):
        end = finished if isinstance(finished, datetime) else datetime.now(started.tzinfo)
        duration = max(0.0, (end - started).total_seconds())
    status = str(get("status") or "queued")
    return IncidentView(
        session_id=str(get("session_id", "id") or "?"),
        title=str(get("title", "alert_title") or "Investigation"),
        severity=str(get("severity", "alert_severity") or "unknown"),
        source=str(get("source", "alert_source") or ""),
        status={"running": "investigating", "pending": "queued"}.get(status, status),  # type: ignore[arg-type]
        duration_s=duration,
        tokens_in=get("tokens_in", "input_tokens"),
        tokens_out=get("tokens_out", "output_tokens"),
        occurrences=int(get("occurrences") or 1),
        error=get("error"),
    )


def status_text(sessions: list[Any]) -> str:
    """`/tarsy status`: one line per investigation, in the order given.

    Accepts `IncidentView`s, dicts or stored session rows (see `view_from`)."""
    if not sessions:
        return "No investigations are running right now."
    lines = [f"*{len(sessions)} investigation{'s' if len(sessions) != 1 else ''}:*"]
    for view in map(view_from, sessions[:20]):
        emoji = SEVERITY_EMOJI.get(view.severity, "⚪")
        took = f" · {format_duration(view.duration_s)}" if view.duration_s is not None else ""
        lines.append(
            f"{emoji} `{_safe(view.session_id, 64)}` {_safe(_one_line(view.title, 80), 200)} — "
            f"{status_line(view)}{took}"
        )
    if len(sessions) > 20:
        lines.append(f"_… and {len(sessions) - 20} more_")
    return truncate("\n".join(lines), SECTION_LIMIT)
