"""Neutral tool descriptions offered to a model, and their Gemini form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SEPARATOR = "__"
_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
MAX_NAME = 64


def namespaced(server: str, tool: str) -> str:
    """`server__tool`, sanitised to the characters function-calling APIs accept."""
    name = _INVALID.sub("_", f"{server}{SEPARATOR}{tool}")
    if not re.match(r"[A-Za-z_]", name):
        name = f"_{name}"
    return name[:MAX_NAME]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str  # namespaced, what the model sees
    server: str
    tool: str  # the server's own tool name
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_gemini(self) -> Any:
        from google.genai import types

        return types.FunctionDeclaration(
            name=self.name,
            description=self.description,
            parameters_json_schema=self.parameters or {"type": "object", "properties": {}},
        )

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters or {"type": "object", "properties": {}},
            },
        }
