"""Local stand-ins for the outside world (Slack, Gemini, a Kubernetes cluster over MCP).

Nothing here imports from the TARSy packages (bot, agents, chains, storage, config).
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def scenarios_dir() -> Path:
    """Directory holding the demo cluster scenarios (``*.yaml``)."""
    return _HERE / "scenarios"


def scripts_dir() -> Path:
    """Directory holding the scripted Gemini conversations (``*.yaml``)."""
    return _HERE / "scripts"
