"""The agents' `StageResult` as seen by chains, plus small helpers over it."""

from __future__ import annotations

from typing import Any

from agents.result import StageResult  # noqa: F401  (re-exported)


def result_tokens(result: Any) -> tuple[int, int]:
    """(input, output) tokens a stage result reports (0 when unknown)."""
    i = getattr(result, "input_tokens", None) or 0
    o = getattr(result, "output_tokens", None) or 0
    return int(i), int(o)
