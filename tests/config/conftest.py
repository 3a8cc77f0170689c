"""Helpers: a scratch `config/` directory in a temp cwd, and a clean environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import ENV_OVERRIDES

# A small valid agents.yaml; tests replace single lines, so the line numbers below matter.
AGENTS = """\
llm_providers:
  gemini: {type: gemini, model: gemini-2.5-flash}
default_llm_provider: gemini
mcp_servers:
  kubernetes:
    transport: {type: stdio, command: npx}
agents:
  TriageAgent: {mcp_servers: [kubernetes]}
  KubernetesAgent: {mcp_servers: [kubernetes]}
chains:
  kubernetes:
    stages:
      - {name: triage, agent: TriageAgent}
      - {name: diagnose, agent: KubernetesAgent}
routing:
  default_chain: kubernetes
runbooks: {directories: [runbooks]}
"""

TARSY = """\
slack:
  mode: socket
http:
  port: 8080
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in [*ENV_OVERRIDES, "GOOGLE_API_KEY", "GEMINI_API_KEY", "TARSY_TEST_KEY"]:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.fixture
def cfg_dir(tmp_path: Path, clean_env: pytest.MonkeyPatch):
    """`write(agents=..., tarsy=...)` -> the `config` dir, with cwd = its parent."""
    clean_env.chdir(tmp_path)
    root = tmp_path / "config"
    (root / "runbooks").mkdir(parents=True)
    (root / "runbooks" / "generic.md").write_text("# generic\n")

    def write(agents: str = AGENTS, tarsy: str | None = TARSY) -> Path:
        (root / "agents.yaml").write_text(agents)
        if tarsy is not None:
            (root / "tarsy.yaml").write_text(tarsy)
        return root

    return write
