"""Terminal presenter: a bus sink printing live progress (stages, tool calls, streamed text)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from agents.events import (
    AgentWarning,
    Event,
    LlmTurnFinished,
    LlmTurnStarted,
    TextDelta,
    ToolCallFinished,
)
from chains.events import (
    FollowupFinished,
    FollowupStarted,
    IncidentCreated,
    OccurrenceRecorded,
    SessionFinished,
    SessionNote,
    SessionStarted,
    StageFinished,
    StageStarted,
)

_SHOWN_PURPOSES = {"investigate", "conclude", "synthesize", "chat"}


def short_args(args: dict[str, Any], limit: int = 60) -> str:
    text = " ".join(f"{k}={v}" for k, v in args.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TerminalPresenter:
    def __init__(self, stream: TextIO | None = None, *, show_text: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.show_text = show_text
        self._purpose: dict[str, str] = {}
        self._mid_line = False

    def _line(self, text: str) -> None:
        if self._mid_line:
            self.stream.write("\n")
            self._mid_line = False
        self.stream.write(text + "\n")
        self.stream.flush()

    async def __call__(self, event: Event) -> None:
        self.handle(event)

    def handle(self, event: Event) -> None:  # noqa: C901 - a flat dispatch table
        match event:
            case IncidentCreated():
                self._line(f"● {event.severity} {event.kind}: {event.title} -> chain {event.chain}")
            case OccurrenceRecorded():
                self._line(f"● repeat of an open incident (seen {event.occurrences}×)")
            case SessionStarted():
                resumed = (
                    f" (resuming at stage {event.resumed_from + 1})" if event.resumed_from else ""
                )
                self._line(
                    f"TARSy: chain '{event.chain}': {' → '.join(event.stage_names)}{resumed}"
                )
            case StageStarted():
                self._line(
                    f"\n▶ Stage {event.index + 1}/{event.total} — {event.name} "
                    f"({', '.join(event.agents)})"
                )
            case LlmTurnStarted():
                self._purpose[event.interaction_id] = event.purpose
            case TextDelta():
                if self.show_text and self._purpose.get(event.interaction_id) in _SHOWN_PURPOSES:
                    self.stream.write(event.text)
                    self.stream.flush()
                    self._mid_line = not event.text.endswith("\n")
            case LlmTurnFinished():
                self._purpose.pop(event.interaction_id, None)
                if event.error:
                    self._line(
                        f"  ⚠ LLM call failed ({event.provider}/{event.model}): {event.error}"
                    )
            case ToolCallFinished():
                tool = event.tool.split("__", 1)[-1]
                mark = "⛔" if event.denied else ("✗" if event.error else "🔧")
                tail = (
                    " (denied by tool policy)"
                    if event.denied
                    else (f" — {event.error}" if event.error else "")
                )
                self._line(
                    f"  {mark} {tool} {short_args(event.arguments)} "
                    f"{event.duration_ms / 1000:.1f} s{tail}"
                )
            case AgentWarning():
                self._line(f"  ⚠ {event.code}: {event.message}")
            case SessionNote():
                self._line(f"  ℹ {event.message}")
            case StageFinished():
                if event.status == "completed":
                    self._line(f"  ✓ {event.name} done in {event.duration_s:.1f} s")
                else:
                    self._line(f"  ✗ {event.name} {event.status}: {event.error}")
            case FollowupStarted():
                self._line(f"\n? {event.question}")
            case FollowupFinished():
                if event.status != "answered":
                    self._line(f"  ✗ follow-up failed: {event.error}")
            case SessionFinished():
                self._line("")
            case _:
                pass


def render_outcome(
    status: str,
    *,
    likely_cause: str,
    confidence: str,
    next_steps: list[str],
    executive_summary: str,
    final_text: str,
    error: str | None,
    session_id: str,
    input_tokens: int,
    output_tokens: int,
    duration_s: float,
) -> str:
    """The recommendation as a person reads it at the end of `tarsy investigate`."""
    lines = ["=" * 72]
    if status == "completed":
        lines.append("✅ Investigation complete")
    else:
        lines.append(f"❌ Investigation {status}: {error or 'no reason recorded'}")
    if likely_cause:
        lines += ["", f"Likely cause ({confidence} confidence):", f"  {likely_cause}"]
    if next_steps:
        lines += ["", "Next steps:"] + [f"  {i}. {s}" for i, s in enumerate(next_steps, 1)]
    if executive_summary and not (error and error in executive_summary):
        lines += ["", "Summary:", f"  {executive_summary}"]
    if not likely_cause and not next_steps and final_text:
        lines += ["", final_text]
    lines += [
        "",
        f"session {session_id} · {duration_s:.1f} s · tokens in {input_tokens} / out "
        f"{output_tokens}",
        "=" * 72,
    ]
    return "\n".join(lines)
