"""Config directories pointing TARSy at the devkit stand-ins (Gemini server + cluster MCP)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "devkit" / "scenarios" / "checkout-oom.yaml"
SCRIPT = REPO / "devkit" / "scripts" / "checkout-oom.yaml"
FIXTURES = REPO / "tests" / "fixtures"
PG_ENV = "TARSY_TEST_POSTGRES_URL"

THREE_STAGES = {
    "kubernetes": {
        "alert_types": ["~Kube.*"],
        "stages": [
            {"name": "triage", "agent": "TriageAgent"},
            {"name": "diagnose", "agent": "KubernetesAgent"},
            {"name": "recommend", "agent": "RecommendAgent"},
        ],
        "chat": {"agent": "KubernetesAgent"},
    }
}


def checkout_script(**diagnose_respond: Any) -> dict[str, Any]:
    """The shipped 3-stage script; extra keys are merged into the diagnose turns' replies."""
    script = yaml.safe_load(SCRIPT.read_text())
    for turn in script["turns"]:
        if turn["id"].startswith("diagnose") and diagnose_respond:
            turn["respond"].update(diagnose_respond)
    return script


def write_config(
    directory: Path,
    *,
    gemini_url: str,
    database_url: str = "sqlite+aiosqlite:///./tarsy.db",
    record: Path | None = None,
    queue: dict[str, Any] | None = None,
    chains: dict[str, Any] | None = None,
    agents: dict[str, Any] | None = None,
    runbooks: dict[str, Any] | None = None,
    timeouts: dict[str, Any] | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rb_dir = directory / "runbooks"
    rb_dir.mkdir(exist_ok=True)
    (rb_dir / "generic.md").write_text("# Generic runbook (devkit)\nLook at pods and events.\n")
    args = ["-m", "devkit.cli", "cluster", "--scenario", str(SCENARIO)]
    if record is not None:
        args += ["--record", str(record)]
    tarsy = {
        "database": {"url": database_url},
        "queue": {
            "concurrency": 5,
            "lease_seconds": 10,
            "heartbeat_seconds": 1,
            "poll_seconds": 0.2,
            **(queue or {}),
        },
        "timeouts": {
            "session_seconds": 120,
            "stage_seconds": 60,
            "llm_call_seconds": 20,
            "tool_call_seconds": 20,
            "runbook_fetch_seconds": 2,
            **(timeouts or {}),
        },
        "logging": {"level": "WARNING"},
    }
    agent_defs = {
        name: {
            "instructions": f"You are {name}.",
            "mcp_servers": ["kubernetes"],
            "max_iterations": 6,
        }
        for name in ("TriageAgent", "KubernetesAgent", "RecommendAgent")
    }
    agent_defs.update(agents or {})
    cfg = {
        "llm_providers": {
            "gemini": {
                "type": "gemini",
                "model": "gemini-2.5-flash",
                "api_key": "devkit-key",
                "base_url": gemini_url,
                "api_version": "v1beta",
                "max_retries": 1,
                "retry_base_seconds": 0.05,
                "timeout_seconds": 20,
            }
        },
        "default_llm_provider": "gemini",
        "mcp_servers": {
            "kubernetes": {
                "transport": {
                    "type": "stdio",
                    "command": sys.executable,
                    "args": args,
                    "env": {"PYTHONPATH": str(REPO)},
                    "timeout_seconds": 20,
                }
            }
        },
        "agents": agent_defs,
        "chains": chains or THREE_STAGES,
        "routing": {"default_chain": next(iter(chains or THREE_STAGES))},
        "runbooks": {
            "directories": ["runbooks"],
            "default": "generic.md",
            "allowed_hosts": ["127.0.0.1"],  # offline: never fetch the alerts' GitHub URLs
            **(runbooks or {}),
        },
    }
    (directory / "tarsy.yaml").write_text(yaml.safe_dump(tarsy, sort_keys=False))
    (directory / "agents.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return directory


def checkout_alert_payload(namespace: str = "payments", **labels: str) -> dict[str, Any]:
    """A TARSy generic alert for the checkout scenario (labels vary the fingerprint)."""
    return {
        "alert_type": "KubePodCrashLooping",
        "severity": "critical",
        "title": f"checkout pods crash-looping in {namespace}",
        "labels": {"namespace": namespace, "deployment": "checkout", **labels},
        "data": {"message": "Pod checkout-7d9f8b6c5-x2x4q restarted 7 times"},
    }
