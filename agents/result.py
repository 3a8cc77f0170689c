"""StageResult: the structured end of a stage, parsed from the model's final markdown."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Confidence = Literal["high", "medium", "low", "unknown"]

_HEADING = re.compile(r"^\s{0,3}(?:#{1,6}\s*(.+?)\s*#*\s*|\*\*(.+?)\*\*:?\s*)$")
_ITEM = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+(.*\S)\s*$")
_SECTION_ALIASES: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "tl;dr", "tldr", "overview"),
    "findings": ("findings", "key findings", "observations", "evidence"),
    "likely_cause": ("likely cause", "root cause", "probable cause", "cause", "likely root cause"),
    "confidence": ("confidence",),
    "next_steps": (
        "next steps",
        "recommended next steps",
        "recommendations",
        "recommended actions",
        "actions",
        "remediation",
    ),
}


@dataclass(slots=True)
class StageResult:
    findings: list[str] = field(default_factory=list)
    likely_cause: str = ""
    confidence: Confidence = "unknown"
    next_steps: list[str] = field(default_factory=list)
    summary: str = ""
    full_text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    iterations: int = 0
    forced_conclusion: bool = False
    tool_calls: int = 0
    llm_calls: int = 0
    agent: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.thinking_tokens


def _section_key(title: str) -> str | None:
    norm = re.sub(r"[^a-z; ]", "", title.lower().replace(":", "")).strip()
    for key, aliases in _SECTION_ALIASES.items():
        if norm in aliases:
            return key
    return None


def _items(lines: list[str]) -> list[str]:
    items: list[str] = []
    for line in lines:
        m = _ITEM.match(line)
        if m:
            items.append(m.group(1).strip())
        elif line.strip() and items and line.startswith((" ", "\t")):
            items[-1] = f"{items[-1]} {line.strip()}"  # continuation of the previous item
        elif line.strip():
            items.append(line.strip())
    return items


def _paragraph(lines: list[str]) -> str:
    return " ".join(line.strip() for line in lines if line.strip())


def parse_final_answer(text: str) -> StageResult:
    """Parse the requested markdown; tolerate other headings, bold titles, missing sections.
    With no recognised section the whole text becomes the summary."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    preamble: list[str] = []
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            key = _section_key(m.group(1) or m.group(2) or "")
            if key is not None:
                current = key
                sections.setdefault(key, [])
                continue
        if current is None:
            preamble.append(line)
        else:
            sections[current].append(line)

    result = StageResult(full_text=text.strip())
    if not sections:
        result.summary = text.strip()
        return result
    result.findings = _items(sections.get("findings", []))
    result.likely_cause = _paragraph(sections.get("likely_cause", []))
    result.next_steps = _items(sections.get("next_steps", []))
    conf = _paragraph(sections.get("confidence", [])).lower()
    found = re.search(r"\b(high|medium|low)\b", conf)
    result.confidence = found.group(1) if found else "unknown"  # type: ignore[assignment]
    summary = _paragraph(sections.get("summary", [])) or _paragraph(preamble)
    if not summary:
        summary = result.likely_cause or "; ".join(result.findings[:3])
    result.summary = summary
    return result
