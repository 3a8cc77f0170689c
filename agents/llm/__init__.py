"""LLM providers behind one small interface: stream a turn with retries."""

from agents.llm.base import (
    FunctionCall,
    LlmError,
    LlmProvider,
    LlmRequest,
    Message,
    ToolResultMessage,
    TurnOutput,
)
from agents.llm.registry import ProviderRegistry, make_provider

__all__ = [
    "FunctionCall",
    "LlmError",
    "LlmProvider",
    "LlmRequest",
    "Message",
    "ProviderRegistry",
    "ToolResultMessage",
    "TurnOutput",
    "make_provider",
]
