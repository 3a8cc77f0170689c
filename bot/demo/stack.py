"""Stand-ins in this process + the real `tarsy serve` in a child process (benchmarks' harness).

    async with ServedStack(tmp, channels=...) as st:
        st.slack      # devkit SlackEmulator (inspect what a person would see)
        st.gemini     # devkit GeminiServer (request log with prompt token counts)
        st.serve      # ServeProcess (pid for psutil, ready_after_s, url)

Unlike `bot.devstack.DevStack` (app in the same process, for tests), the app here has its own
process and event loop, so latency and memory figures are the product's own.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from bot.demo.config import write_demo_config
from bot.demo.serve_process import ServeProcess, child_env


class ServedStack:
    def __init__(
        self,
        workdir: str | Path,
        *,
        channels: dict[str, str] | None = None,
        rate_limits: bool = True,
        script: Any = None,
        scenario: str = "checkout-oom",
        slack_overrides: dict[str, Any] | None = None,
        queue_overrides: dict[str, Any] | None = None,
        webhook_overrides: dict[str, Any] | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.channels = channels
        self.rate_limits = rate_limits
        self.script = script
        self.scenario = scenario
        self.slack_overrides = slack_overrides
        self.queue_overrides = queue_overrides
        self.webhook_overrides = webhook_overrides
        self.start_timeout = start_timeout
        self.db_url = f"sqlite+aiosqlite:///{self.workdir / 'tarsy.db'}"
        self.slack: Any = None
        self.gemini: Any = None
        self.serve: ServeProcess | None = None
        self._stack = contextlib.AsyncExitStack()

    @property
    def url(self) -> str:
        assert self.serve is not None
        return self.serve.url

    async def __aenter__(self) -> ServedStack:
        from bot.demo.runner import paced_script
        from bot.devstack import CHANNELS, GEMINI_KEY
        from devkit.gemini import GeminiServer
        from devkit.slack import SlackEmulator

        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.slack = await self._stack.enter_async_context(
                SlackEmulator(
                    port=0,
                    channels=dict(self.channels or CHANNELS),
                    rate_limits=self.rate_limits,
                )
            )
            script = self.script if self.script is not None else paced_script(0)
            self.gemini = await self._stack.enter_async_context(GeminiServer(script=script, port=0))
            config_dir = write_demo_config(
                self.workdir / "config",
                slack=self.slack,
                db_url=self.db_url,
                scenario=self.scenario,
                slack_overrides=self.slack_overrides,
                queue_overrides=self.queue_overrides,
                webhook_overrides=self.webhook_overrides,
            )
            env = child_env(
                {
                    "SLACK_API_URL": self.slack.api_url,
                    "SLACK_BOT_TOKEN": self.slack.bot_token,
                    "SLACK_APP_TOKEN": self.slack.app_token,
                    "DATABASE_URL": self.db_url,
                    "GOOGLE_GEMINI_BASE_URL": self.gemini.base_url,
                    "GOOGLE_API_KEY": GEMINI_KEY,
                }
            )
            self.serve = ServeProcess(config_dir, self.workdir / "serve.log", env)
            self._stack.push_async_callback(self.serve.stop)
            await self.serve.start(timeout=self.start_timeout)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
