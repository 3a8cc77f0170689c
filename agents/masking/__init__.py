"""Masking of secrets before anything leaves a tool or an alert (LLM, Slack, logs, DB)."""

from agents.masking.masker import MASK_FAILED_TEXT, Masker, MaskingError

__all__ = ["MASK_FAILED_TEXT", "Masker", "MaskingError"]
