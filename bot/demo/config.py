"""Config directories for the demo and benchmarks: the shipped chain, pointed at the stand-ins.

`tarsy.yaml` comes from `bot.devstack.write_config` (emulated Slack, loopback HTTP, SQLite).
`agents.yaml` is the *shipped* `config/agents.yaml` (same agents, prompts, chain and runbooks
a real deployment uses) with the LLM provider and the `kubernetes` MCP server swapped for the
devkit stand-ins. The Gemini base URL is deliberately not written: the app finds it in
`GOOGLE_GEMINI_BASE_URL`, exactly as a user pointing TARSy at a proxy would.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

import config as _config_pkg
import devkit as _devkit_pkg


def _package_dir(module: Any) -> Path:
    """A package's directory (also for the namespace packages an editable install makes)."""
    return Path(list(module.__path__)[0]).resolve()


SHIPPED_CONFIG = _package_dir(_config_pkg)
DEVKIT_PARENT = _package_dir(_devkit_pkg).parent
DEMO_MODEL = "gemini-2.5-flash"


def cluster_transport(scenario: str = "checkout-oom", record: Path | None = None) -> dict:
    """stdio transport for the devkit demo cluster MCP server (`python -m devkit.cli cluster`)."""
    args = ["-m", "devkit.cli", "cluster", "--scenario", scenario]
    if record is not None:
        args += ["--record", str(record)]
    return {
        "type": "stdio",
        "command": sys.executable,
        "args": args,
        # stdio servers do not inherit the environment: give it our import path explicitly
        "env": {"PYTHONPATH": str(DEVKIT_PARENT)},
        "timeout_seconds": 30,
    }


def demo_agents(
    *,
    scenario: str = "checkout-oom",
    summarization: bool = True,
    threshold_tokens: int | None = None,
    record: Path | None = None,
    real_llm: bool = False,
) -> dict[str, Any]:
    """The shipped agents.yaml with the LLM provider and cluster replaced."""
    agents: dict[str, Any] = yaml.safe_load((SHIPPED_CONFIG / "agents.yaml").read_text())
    agents["llm_providers"] = {
        "gemini": {
            "type": "gemini",
            "model": DEMO_MODEL,
            "api_key": "${GOOGLE_API_KEY}",
            "api_version": "v1beta",
            "temperature": 0.2,
            "timeout_seconds": 120 if real_llm else 30,
            "max_retries": 4 if real_llm else 1,
            "retry_base_seconds": 1.0 if real_llm else 0.1,
        }
    }
    agents["default_llm_provider"] = "gemini"
    server = agents["mcp_servers"]["kubernetes"]
    server["transport"] = cluster_transport(scenario, record)
    server["summarization"] = {"enabled": summarization}
    if threshold_tokens is not None:
        server["summarization"]["threshold_tokens"] = threshold_tokens
    # The scripted recommend stage checks the 5xx rate before recommending: give it the tools.
    agents["agents"]["RecommendAgent"]["mcp_servers"] = ["kubernetes"]
    runbooks = agents.setdefault("runbooks", {})
    runbooks["directories"] = [str(SHIPPED_CONFIG / "runbooks")]
    runbooks.pop("github_token", None)
    runbooks["allowed_hosts"] = ["127.0.0.1"]  # offline: no GitHub fetch for the alert's URL
    return agents


def write_demo_config(
    config_dir: Path,
    *,
    slack: Any,
    db_url: str,
    gemini_url: str = "",
    scenario: str = "checkout-oom",
    summarization: bool = True,
    real_llm: bool = False,
    slack_overrides: dict[str, Any] | None = None,
    queue_overrides: dict[str, Any] | None = None,
    webhook_overrides: dict[str, Any] | None = None,
) -> Path:
    """Write tarsy.yaml + agents.yaml for a local run into `config_dir` and return it."""
    from bot.devstack import write_config

    timeouts = {"session_seconds": 600, "stage_seconds": 300} if real_llm else None
    write_config(
        config_dir,
        slack=slack,
        gemini_url=gemini_url,
        db_url=db_url,
        slack_overrides=slack_overrides,
        queue_overrides=queue_overrides,
        webhook_overrides=webhook_overrides,
        timeouts=timeouts,
    )
    agents = demo_agents(scenario=scenario, summarization=summarization, real_llm=real_llm)
    (config_dir / "agents.yaml").write_text(yaml.safe_dump(agents, sort_keys=False))
    return config_dir


def write_cli_config(
    config_dir: Path,
    *,
    db_url: str,
    scenario: str = "checkout-oom",
    summarization: bool = True,
) -> Path:
    """Config for `tarsy investigate` (no Slack): the shipped chain against the stand-ins."""
    config_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "database": {"url": db_url},
        "queue": {"poll_seconds": 0.2, "lease_seconds": 30, "heartbeat_seconds": 5},
        "timeouts": {"session_seconds": 300, "stage_seconds": 120},
        "logging": {"level": "WARNING"},
    }
    agents = demo_agents(scenario=scenario, summarization=summarization)
    (config_dir / "tarsy.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    (config_dir / "agents.yaml").write_text(yaml.safe_dump(agents, sort_keys=False))
    return config_dir
