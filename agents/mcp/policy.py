"""Tool policy: read-only by default, operator allow/deny globs per server.

A tool whose name contains a write verb (name tokens split on `_`, `-`, `.`, `/` and camelCase)
is denied unless `allow_write_tools` matches it. `deny_tools` always wins; when `allow_tools`
is set, only matching tools are offered at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from config.models import WRITE_VERBS, McpServerConfig

_SPLIT = re.compile(r"[_\-./\s]+|(?<=[a-z0-9])(?=[A-Z])")
_WRITE = frozenset(WRITE_VERBS)


def name_tokens(tool: str) -> list[str]:
    return [t.lower() for t in _SPLIT.split(tool) if t]


def write_verb(tool: str) -> str | None:
    """The first write verb among the tool name's tokens, or None for a read-looking tool."""
    for token in name_tokens(tool):
        if token in _WRITE:
            return token
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def _matches(tool: str, patterns: list[str]) -> str | None:
    for pattern in patterns:
        if fnmatchcase(tool, pattern):
            return pattern
    return None


class ToolPolicy:
    def __init__(self, server: str, cfg: McpServerConfig) -> None:
        self.server = server
        self._allow = list(cfg.allow_tools)
        self._deny = list(cfg.deny_tools)
        self._allow_write = list(cfg.allow_write_tools)

    def decide(self, tool: str) -> Decision:
        where = f"mcp_servers.{self.server}"
        if pattern := _matches(tool, self._deny):
            return Decision(False, f"denied by {where}.deny_tools pattern '{pattern}'")
        if self._allow and not _matches(tool, self._allow):
            return Decision(False, f"not in {where}.allow_tools")
        verb = write_verb(tool)
        if verb and not _matches(tool, self._allow_write):
            return Decision(
                False,
                f"'{tool}' looks like a write operation (verb '{verb}'); TARSy is read-only "
                f"unless {where}.allow_write_tools allows it",
            )
        return Decision(True, "allowed")
