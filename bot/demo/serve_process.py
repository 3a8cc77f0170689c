"""Run the real `tarsy serve` as a child process and wait until it says it is ready.

Used by `tarsy demo` and the benchmarks: the app under test runs exactly as an operator runs
it (its own process, its own event loop, config from a directory), so what we measure and
show is the product, not a test double. Its stdout/stderr go to a log file; errors quote the
log's tail so the reader sees why it did not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path

from bot.devstack import APP_ENV_OVERRIDES, env_without

READY = re.compile(r"TARSy ready: http=(?P<url>\S+)")

# Variables that would point the child somewhere other than the config we wrote.
_OVERRIDES = (*APP_ENV_OVERRIDES, "GOOGLE_GEMINI_BASE_URL")


class ServeError(RuntimeError):
    """`tarsy serve` did not start (or died); the message says why and where the log is."""


def _code_root() -> str:
    """The directory holding the `bot` package (import path for the child)."""
    import bot

    return str(Path(list(bot.__path__)[0]).resolve().parent)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """Our environment minus app overrides, plus `extra`; the child imports this code tree."""
    env = env_without(_OVERRIDES)
    env.update(extra)
    root = _code_root()
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class ServeProcess:
    """`python -m bot.cli serve --config-dir DIR` with ready detection and graceful stop."""

    def __init__(self, config_dir: Path, log_path: Path, env: dict[str, str]) -> None:
        self.config_dir = Path(config_dir)
        self.log_path = Path(log_path)
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.url: str = ""
        self.started_at = 0.0
        self.ready_after_s = 0.0
        self._pump: asyncio.Task | None = None
        self._log = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, timeout: float = 30.0) -> str:  # noqa: ASYNC109
        """Spawn and wait for the ready line; returns the app's HTTP base URL."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")  # noqa: SIM115 - closed in stop()
        self.started_at = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--config-dir",
            str(self.config_dir),
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            env=self.env,
        )
        try:
            async with asyncio.timeout(timeout):
                await self._wait_ready()
        except TimeoutError:
            await self.stop()
            raise ServeError(
                f"tarsy serve did not become ready within {timeout:.0f} s.\n"
                f"{self._tail()}\nFull log: {self.log_path}"
            ) from None
        self.ready_after_s = time.perf_counter() - self.started_at
        self._pump = asyncio.create_task(self._copy_stdout(), name="serve-stdout")
        return self.url

    async def _wait_ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                code = await self.proc.wait()
                raise ServeError(
                    f"tarsy serve exited with code {code} before it was ready.\n"
                    f"{self._tail()}\nFull log: {self.log_path}"
                )
            self._write(line)
            m = READY.search(line.decode(errors="replace"))
            if m:
                self.url = m["url"]
                return

    async def _copy_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self._write(line)

    def _write(self, data: bytes) -> None:
        if self._log is not None and not self._log.closed:
            self._log.write(data)
            self._log.flush()

    def _tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").strip().splitlines()
            if text:
                return "Last lines of its log:\n  " + "\n  ".join(text[-lines:])
        return "(it wrote nothing to its log)"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, timeout: float = 20.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM (graceful shutdown), then SIGKILL if it does not exit in time."""
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pump, 5)
            self._pump = None
        if self._log is not None:
            self._log.close()
        return proc.returncode

    async def __aenter__(self) -> ServeProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
