"""A complete local TARSy: Slack emulator + scripted Gemini + demo cluster + the real app.

Used by `tests/helpers/stack.py`, the demo and benchmarks. Everything binds 127.0.0.1 on
ephemeral ports; the config is written to a directory so the app loads it exactly as
`tarsy serve --config-dir DIR` would (the subprocess variant runs just that).

    async with DevStack(tmp_path) as st:
        await st.slack.post_event(fixture)          # drive the emulated Slack
        st.slack.thread("C0ALERTS01", ts)           # read what a person sees
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ALERT_CHANNEL = "C0ALERTS01"
SRE_CHANNEL = "C0SRE00001"
INCIDENT_CHANNEL = "C0INCIDENT"
PAYMENTS_CHANNEL = "C0PAYMENTS"
OTHER_CHANNEL = "C0RANDOM01"
CHANNELS = {
    ALERT_CHANNEL: "alerts",
    SRE_CHANNEL: "sre",
    INCIDENT_CHANNEL: "incidents",
    PAYMENTS_CHANNEL: "payments-oncall",
    OTHER_CHANNEL: "random",
}
GEMINI_KEY = "devkit-gemini-key"

# A 3-stage scripted investigation of the checkout OOM scenario (`Stage: <name>` markers).
CHECKOUT_SCRIPT: dict[str, Any] = {
    "turns": [
        {
            "id": "triage-tools",
            "match": {"system_contains": "Stage: triage", "lacks_function_response": "pods_list"},
            "respond": {
                "function_calls": [
                    {"name": "cluster__pods_list", "args": {"namespace": "payments"}}
                ]
            },
        },
        {
            "id": "triage-answer",
            "match": {"system_contains": "Stage: triage"},
            "respond": {
                "text": [
                    "All 3 checkout pods in payments are in CrashLoopBackOff ",
                    "with last state OOMKilled (exit 137) since 14:51.",
                ]
            },
        },
        {
            "id": "diagnose-tools",
            "match": {
                "system_contains": "Stage: diagnose",
                "lacks_function_response": "events_list",
            },
            "respond": {
                "function_calls": [
                    {"name": "cluster__events_list", "args": {"namespace": "payments"}}
                ]
            },
        },
        {
            "id": "diagnose-answer",
            "match": {"system_contains": "Stage: diagnose"},
            "respond": {
                "text": [
                    "Root cause: the 14:50 rollout (revision 42) cut the memory limit from 512Mi ",
                    "to 128Mi while the JVM heap is -Xmx384m, so every pod is OOMKilled. ",
                    "Confidence: high.",
                ]
            },
        },
        {
            "id": "recommend-answer",
            "match": {"system_contains": "Stage: recommend"},
            "respond": {
                "text": [
                    "**Root cause:** revision 42 lowered checkout's memory limit to 128Mi.\n\n",
                    "1. Roll back: `kubectl -n payments rollout undo deployment/checkout "
                    "--to-revision=41`\n",
                    "2. Verify the pods become Ready.\n",
                ]
            },
        },
        {
            "id": "followup",
            "match": {"system_contains": "Follow-up chat"},
            "respond": {
                "text": [
                    "Yes. Revision 42 (14:50) changed the checkout memory limit from 512Mi ",
                    "to 128Mi.",
                ]
            },
        },
    ],
    "default": {"text": ["I have no scripted answer for this request."]},
}


def _cluster_command() -> tuple[str, list[str]]:
    return sys.executable, ["-m", "devkit.cli", "cluster", "--scenario", "checkout-oom"]


def write_config(
    config_dir: Path,
    *,
    slack: Any,
    gemini_url: str,
    db_url: str,
    mode: str = "socket",
    slack_overrides: dict[str, Any] | None = None,
    webhook_overrides: dict[str, Any] | None = None,
    queue_overrides: dict[str, Any] | None = None,
    timeouts: dict[str, Any] | None = None,
    mcp_transport: dict[str, Any] | None = None,
) -> Path:
    """Write tarsy.yaml + agents.yaml for a local stack into `config_dir`.

    `mcp_transport` replaces the demo cluster's transport (e.g. a command that dies, to
    exercise an unhealthy MCP server).
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    slack_cfg: dict[str, Any] = {
        "mode": mode,
        "bot_token": slack.bot_token,
        "app_token": slack.app_token,
        "signing_secret": slack.signing_secret,
        "api_url": slack.api_url,
        "alert_channels": [ALERT_CHANNEL],
        "default_channel": INCIDENT_CHANNEL,
        "edit_interval_s": 0.2,
    }
    slack_cfg.update(slack_overrides or {})
    webhooks: dict[str, Any] = {
        "channel_rules": [{"channel": PAYMENTS_CHANNEL, "match": {"team": "payments-sre"}}],
    }
    webhooks.update(webhook_overrides or {})
    queue = {"poll_seconds": 0.2, "lease_seconds": 10, "heartbeat_seconds": 1}
    queue.update(queue_overrides or {})
    settings = {
        "slack": slack_cfg,
        "webhooks": webhooks,
        "http": {"host": "127.0.0.1", "port": 0},
        "database": {"url": db_url},
        "queue": queue,
        "timeouts": {"session_seconds": 120, "stage_seconds": 60, **(timeouts or {})},
        "logging": {"level": "INFO"},
    }
    command, args = _cluster_command()
    transport = mcp_transport or {
        "type": "stdio",
        "command": command,
        "args": args,
        "env": {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    }
    agents = {
        "llm_providers": {
            "gemini": {
                "type": "gemini",
                "model": "gemini-2.5-flash",
                "api_key": GEMINI_KEY,
                "base_url": gemini_url,
                "api_version": "v1beta",
                "timeout_seconds": 30,
                "max_retries": 1,
                "retry_base_seconds": 0.1,
            }
        },
        "default_llm_provider": "gemini",
        "mcp_servers": {
            "cluster": {
                "transport": transport,
                "instructions": "Read-only demo cluster.",
                "summarization": {"enabled": False},
            }
        },
        "agents": {
            "TriageAgent": {
                "instructions": "Scope the incident.",
                "mcp_servers": ["cluster"],
                "max_iterations": 4,
            },
            "KubernetesAgent": {
                "instructions": "Find the root cause.",
                "mcp_servers": ["cluster"],
                "max_iterations": 4,
            },
            "RecommendAgent": {"instructions": "Recommend actions.", "max_iterations": 2},
        },
        "chains": {
            "kubernetes": {
                "stages": [
                    {"name": "triage", "agent": "TriageAgent"},
                    {"name": "diagnose", "agent": "KubernetesAgent"},
                    {"name": "recommend", "agent": "RecommendAgent"},
                ],
                "chat": {"enabled": True, "agent": "KubernetesAgent", "max_iterations": 3},
            }
        },
        "routing": {"default_chain": "kubernetes"},
        # Offline: never reach for the alert's GitHub runbook URL.
        "runbooks": {"directories": [], "default": None, "allowed_hosts": ["127.0.0.1"]},
    }
    (config_dir / "tarsy.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    (config_dir / "agents.yaml").write_text(yaml.safe_dump(agents, sort_keys=False))
    return config_dir


class DevStack:
    """Emulated Slack + Gemini + (stdio) demo cluster + the TARSy app, in this process.

    `restart_app()` stops and starts only the app (same database), to test durability.
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        mode: str = "socket",
        script: dict[str, Any] | str | None = None,
        rate_limits: bool = True,
        slack_overrides: dict[str, Any] | None = None,
        webhook_overrides: dict[str, Any] | None = None,
        queue_overrides: dict[str, Any] | None = None,
        timeouts: dict[str, Any] | None = None,
        db_url: str | None = None,
        start_app: bool = True,
        mcp_transport: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.mode = mode
        self.script = script if script is not None else CHECKOUT_SCRIPT
        self.rate_limits = rate_limits
        self.slack_overrides = slack_overrides
        self.webhook_overrides = webhook_overrides
        self.queue_overrides = queue_overrides
        self.timeouts = timeouts
        self.mcp_transport = mcp_transport
        self.db_url = db_url or f"sqlite+aiosqlite:///{self.workdir / 'tarsy.db'}"
        self.start_app_on_enter = start_app
        self.slack: Any = None
        self.gemini: Any = None
        self.app: Any = None
        self.config_dir = self.workdir / "config"
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> DevStack:
        from devkit.gemini import GeminiServer
        from devkit.slack import SlackEmulator

        try:
            self.slack = await self._stack.enter_async_context(
                SlackEmulator(port=0, channels=dict(CHANNELS), rate_limits=self.rate_limits)
            )
            self.gemini = await self._stack.enter_async_context(
                GeminiServer(script=self.script, port=0)
            )
            write_config(
                self.config_dir,
                slack=self.slack,
                gemini_url=self.gemini.base_url,
                db_url=self.db_url,
                mode=self.mode,
                slack_overrides=self.slack_overrides,
                webhook_overrides=self.webhook_overrides,
                queue_overrides=self.queue_overrides,
                timeouts=self.timeouts,
                mcp_transport=self.mcp_transport,
            )
            if self.start_app_on_enter:
                await self.start_app()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop_app()
        await self._stack.aclose()

    async def start_app(self) -> Any:
        from bot.app import TarsyApp
        from config.loader import load_config

        cfg = load_config(self.config_dir, env=_clean_env())
        self.app = TarsyApp(cfg, ready_stream=_DEVNULL)
        await self.app.start()
        if self.mode == "http":
            self.slack.set_request_url(f"{self.app.url}/slack/events")
        return self.app

    async def stop_app(self) -> None:
        if self.app is not None:
            app, self.app = self.app, None
            with contextlib.suppress(Exception):
                if self.mode == "http" and self.slack is not None:
                    self.slack.set_request_url(None)
            await app.stop()

    async def restart_app(self) -> Any:
        await self.stop_app()
        return await self.start_app()

    @property
    def url(self) -> str:
        return self.app.url

    async def settle(self, wait_s: float = 10.0) -> None:
        """Wait until the app has pushed every event it produced so far to Slack."""
        async with asyncio.timeout(wait_s):
            await self.app.bus.drain(wait_s)
            if self.app.presenter is not None:
                await self.app.presenter.drain(wait_s)


# Variables that would point the app somewhere other than the config a stack writes.
APP_ENV_OVERRIDES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "DATABASE_URL",
    "TARSY_SLACK_MODE",
    "TARSY_HTTP_PORT",
)


def env_without(skip: tuple[str, ...] | frozenset[str]) -> dict[str, str]:
    """The process env minus the variables named in `skip`."""
    return {k: v for k, v in os.environ.items() if k not in skip}


def _clean_env() -> dict[str, str]:
    """The process env minus overrides that would point the app elsewhere."""
    return env_without(APP_ENV_OVERRIDES)


class _Devnull:
    """Swallows the app's "ready" line in tests (no file handle to leak)."""

    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        return None


_DEVNULL = _Devnull()
