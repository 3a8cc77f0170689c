"""MCP tool hub: connections (one owner task each), tool policy, namespacing, masking."""

from agents.mcp.hub import ToolHub, ToolOutcome
from agents.mcp.policy import ToolPolicy, write_verb
from agents.mcp.tools import ToolSpec, namespaced

__all__ = ["ToolHub", "ToolOutcome", "ToolPolicy", "ToolSpec", "namespaced", "write_verb"]
