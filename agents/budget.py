"""Result budgets: keep big tool results from flooding the model's context.

Over the server's threshold a result is summarised by an LLM call (see `Investigator`) or, if
that fails, cut to head + tail + the lines that look like errors. Either way the model is told
what happened; the full masked text stays in `ToolCallFinished.result`.
"""

from __future__ import annotations

import re

CHARS_PER_TOKEN = 4
SUMMARIZER_INPUT_CHARS = 60_000  # bounded input for the summariser (a 2 MB log is pre-cut)

ERROR_LINE = re.compile(
    r"(?i)\b(error|err|exception|traceback|oom\w*|out ?of ?memory|killed|panic|fatal|fail(ed|ure)?"
    r"|crash\w*|backoff|timeout|timed out|refused|denied|unhealthy|evicted|exit code [1-9])\b"
)


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def over_budget(text: str, threshold_tokens: int) -> bool:
    return estimate_tokens(text) > threshold_tokens


def cut(text: str, max_chars: int) -> str:
    """Head + tail + (as many as fit) error-looking lines from the middle, in order."""
    if len(text) <= max_chars:
        return text
    head_len = max_chars * 3 // 10
    tail_len = max_chars * 3 // 10
    errors_budget = max_chars - head_len - tail_len
    head, middle, tail = text[:head_len], text[head_len:-tail_len], text[-tail_len:]
    # whole lines only at the seams
    head = head[: head.rfind("\n") + 1] or head
    tail = tail[tail.find("\n") + 1 :] or tail
    picked: list[str] = []
    used = 0
    total_errors = 0
    for line in middle.split("\n"):
        if ERROR_LINE.search(line):
            total_errors += 1
            line = line if len(line) <= 500 else line[:500] + "…"
            if used + len(line) + 1 <= errors_budget:
                picked.append(line)
                used += len(line) + 1
    omitted = len(text) - len(head) - len(tail) - used
    note = (
        f"\n[… {omitted} characters omitted; {len(picked)} of {total_errors} error-looking "
        "lines from the omitted part follow …]\n"
    )
    return (
        head + note + "\n".join(picked) + ("\n[… end of error lines …]\n" if picked else "") + tail
    )


def cut_for_model(text: str, threshold_tokens: int) -> str:
    original = estimate_tokens(text)
    body = cut(text, threshold_tokens * CHARS_PER_TOKEN)
    return (
        f"[Tool result cut: it was ~{original} tokens, over the {threshold_tokens}-token budget. "
        "Shown: the beginning, the end and error-looking lines. Ask for a narrower query "
        "(e.g. fewer lines, a label selector, a time range) if you need more.]\n" + body
    )


def summarized_for_model(summary: str, original_tokens: int) -> str:
    return (
        f"[Tool result summarised: the full output was ~{original_tokens} tokens; this is an "
        "LLM summary of it. Ask for a narrower query if you need exact lines.]\n" + summary.strip()
    )
