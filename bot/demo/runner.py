"""The `tarsy demo` flow: stand-ins up, real `tarsy serve` up, alert in, thread out, follow-up.

Everything runs on 127.0.0.1: the devkit Slack emulator and Gemini stand-in live in this
process; `tarsy serve` is a child process that reaches them over Socket Mode / HTTP exactly
as it would reach Slack and Gemini; the demo cluster is an MCP stdio server the app spawns.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from bot.demo.config import write_demo_config
from bot.demo.serve_process import ServeError, ServeProcess, child_env
from bot.demo.transcript import ThreadPrinter

ALERT_CHANNEL = "C0ALERTS01"
ASKER_ID = "U0SRE00001"
ASKER_NAME = "maria (on-call SRE)"
FOLLOWUP_QUESTION = "can we just roll back?"
FINAL_BUTTON = "tarsy_rerun"


class DemoError(Exception):
    """Something the person running the demo can fix; the message says how."""


@dataclass
class DemoOptions:
    llm: str = "scripted"  # scripted | gemini
    workdir: Path = Path(".tarsy")
    slack_port: int = 0
    timeout_s: float | None = None  # per phase; default depends on --llm
    question: str = FOLLOWUP_QUESTION
    chunk_delay_ms: int = 250  # scripted model: pause between streamed chunks (watchable)


@dataclass
class DemoResult:
    session_id: str
    status: str
    db_url: str
    thread: str
    stored: str = ""


def load_alert_event() -> dict[str, Any]:
    """The packaged Alertmanager bot message, re-stamped so it looks like it just arrived."""
    text = resources.files("bot.demo").joinpath("alert-message.json").read_text("utf-8")
    body = json.loads(text)
    event = copy.deepcopy(body)
    ts = f"{time.time():.6f}"
    event["event"]["ts"] = event["event"]["event_ts"] = ts
    event["event_time"] = int(float(ts))
    event["event_id"] = f"Ev0DEMO{int(float(ts) * 1000)}"
    return event


def paced_script(chunk_delay_ms: int) -> dict[str, Any]:
    """The devkit checkout-oom script, streaming its answers with a pause between chunks."""
    import yaml

    from devkit import scripts_dir

    script = yaml.safe_load((scripts_dir() / "checkout-oom.yaml").read_text())
    for turn in script.get("turns", []):
        respond = turn.get("respond")
        if chunk_delay_ms > 0 and isinstance(respond, dict) and respond.get("text"):
            respond.setdefault("chunk_delay_ms", chunk_delay_ms)
    return script


def _reset_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()


class Demo:
    def __init__(self, opts: DemoOptions, out: TextIO) -> None:
        self.opts = opts
        self.out = out
        self.workdir = Path(opts.workdir).resolve()
        self.db_path = self.workdir / "demo.db"
        self.db_url = f"sqlite+aiosqlite:///{self.db_path}"
        self.real_llm = opts.llm == "gemini"
        default_timeout = 300.0 if self.real_llm else 45.0
        self.timeout_s = opts.timeout_s or default_timeout

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _check_llm(self) -> str:
        if not self.real_llm:
            return ""
        key = os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY") or ""
        if not key:
            raise DemoError(
                "--llm gemini needs a Gemini API key: export GOOGLE_API_KEY=... "
                "(create one at https://aistudio.google.com/apikey), or run `tarsy demo` "
                "without --llm to use the offline scripted model."
            )
        return key

    async def run(self) -> DemoResult:
        from bot.devstack import CHANNELS, GEMINI_KEY
        from devkit.gemini import GeminiServer
        from devkit.slack import SlackEmulator

        key = self._check_llm()
        self.workdir.mkdir(parents=True, exist_ok=True)
        _reset_db(self.db_path)
        started = time.perf_counter()
        async with contextlib.AsyncExitStack() as stack:
            self.say("== TARSy demo: everything local, no credentials, no network ==")
            try:
                slack = await stack.enter_async_context(
                    SlackEmulator(port=self.opts.slack_port, channels=dict(CHANNELS))
                )
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    raise DemoError(
                        f"port {self.opts.slack_port} on 127.0.0.1 is busy, so the Slack "
                        "emulator cannot listen on it: stop what uses it (`ss -ltnp | grep "
                        f":{self.opts.slack_port}`) or pass another --slack-port (0 = any free)."
                    ) from None
                raise
            slack.add_user(ASKER_ID, ASKER_NAME)
            self.say(f"Slack emulator:   {slack.api_url}  (channels #alerts, #incidents, ...)")
            env = {
                "SLACK_API_URL": slack.api_url,
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_APP_TOKEN": slack.app_token,
                "DATABASE_URL": self.db_url,
            }
            if self.real_llm:
                env["GOOGLE_API_KEY"] = key
                self.say("LLM:              real Gemini (GOOGLE_API_KEY)")
            else:
                gemini = await stack.enter_async_context(
                    GeminiServer(script=paced_script(self.opts.chunk_delay_ms), port=0)
                )
                env["GOOGLE_GEMINI_BASE_URL"] = gemini.base_url
                env["GOOGLE_API_KEY"] = GEMINI_KEY
                self.say(f"Gemini stand-in:  {gemini.base_url}  (scripted checkout-oom run)")
            self.say("Cluster:          devkit demo cluster over MCP stdio (checkout-oom)")
            config_dir = write_demo_config(
                self.workdir / "config",
                slack=slack,
                db_url=self.db_url,
                real_llm=self.real_llm,
            )
            serve = ServeProcess(config_dir, self.workdir / "serve.log", child_env(env))
            try:
                url = await serve.start(timeout=30)
            except ServeError as e:
                raise DemoError(str(e)) from None
            stack.push_async_callback(serve.stop)
            ready = f"ready in {serve.ready_after_s:.1f} s"
            self.say(f"tarsy serve:      pid {serve.pid}, {ready}, {url}")
            self.say(f"                  log: {serve.log_path}")
            self.say()

            result = await self._conversation(slack, serve)
            await serve.stop()
        result.session_id, result.status = await self._stored_session(result)
        self._epilogue(result, time.perf_counter() - started)
        return result

    async def _conversation(self, slack: Any, serve: ServeProcess) -> DemoResult:
        body = load_alert_event()
        alert_ts = body["event"]["ts"]
        self.say("== Alertmanager posts into #alerts; TARSy answers in the thread ==")
        await slack.post_event(body)
        printer = ThreadPrinter(slack, ALERT_CHANNEL, alert_ts, self.out)

        def alive() -> None:
            if not serve.running:
                raise DemoError(
                    f"tarsy serve exited (code {serve.proc.returncode if serve.proc else '?'}); "
                    f"see {serve.log_path}"
                )

        def final_posted() -> bool:
            alive()
            thread = slack.thread(ALERT_CHANNEL, alert_ts)
            return any(FINAL_BUTTON in _button_ids(m) for m in thread) and not _busy(thread)

        await self._follow(printer, final_posted, "the final recommendation")
        self.say()
        self.say(f"== {ASKER_NAME} asks a follow-up question in the thread ==")
        question_ts = await slack.post_message(
            ALERT_CHANNEL,
            text=f"<@{slack.bot_user_id}> {self.opts.question}",
            user=ASKER_ID,
            thread_ts=alert_ts,
        )

        def answered() -> bool:
            alive()
            later = [
                m
                for m in slack.thread(ALERT_CHANNEL, alert_ts)
                if float(m.ts) > float(question_ts) and m.user == slack.bot_user_id
            ]
            return bool(later) and not _busy(later)

        await self._follow(printer, answered, "the answer to the follow-up question")
        return DemoResult("", "", self.db_url, slack.render_thread(ALERT_CHANNEL, alert_ts))

    async def _follow(self, printer: ThreadPrinter, done: Any, what: str) -> None:
        try:
            await printer.follow_until(done, self.timeout_s, what=what)
        except TimeoutError as e:
            raise DemoError(
                f"{e}. The app's log is in {self.workdir / 'serve.log'}; "
                "raise the limit with --timeout if the model is slow."
            ) from None

    async def _stored_session(self, result: DemoResult) -> tuple[str, str]:
        from storage.engine import Database
        from storage.repositories.sessions import list_sessions
        from storage.repositories.timeline import get_timeline

        db = Database(self.db_url)
        try:
            sessions = await list_sessions(db)
            if not sessions:
                raise DemoError(f"no investigation was stored in {self.db_path}")
            tl = await get_timeline(db, sessions[0].id)
        finally:
            await db.close()
        if tl is not None:
            answered = sum(1 for f in tl.followups if f.status == "answered")
            result.stored = (
                f"{len(tl.alerts)} alert, {len(tl.stages)} stages, "
                f"{len(tl.llm_interactions)} LLM calls, {len(tl.tool_calls)} tool calls, "
                f"{len(tl.slack_messages)} Slack messages, {len(tl.followups)} follow-up "
                f"({answered} answered), {len(tl.events)} events"
            )
        return sessions[0].id, sessions[0].status

    def _epilogue(self, result: DemoResult, elapsed: float) -> None:
        self.say()
        self.say("== The thread as it now reads in Slack ==")
        self.say(result.thread)
        self.say()
        outcome = f"investigation {result.session_id} {result.status}"
        self.say(f"== Done in {elapsed:.1f} s: {outcome} ==")
        self.say("Audit trail (alert, stages, every LLM and tool call, Slack messages, follow-up):")
        self.say(f"  database: {self.db_path}")
        if result.stored:
            self.say(f"  stored:   {result.stored}")
        tarsy = _tarsy_command()
        self.say(
            f"  browse:   {tarsy} sessions show {result.session_id} --database-url {result.db_url}"
        )
        self.say(f"  list:     {tarsy} sessions list --database-url {result.db_url}")
        self.say(f"  config:   {self.workdir / 'config'}")
        self.say(f"  app log:  {self.workdir / 'serve.log'}")


def _button_ids(msg: Any) -> set[str]:
    ids: set[str] = set()
    for block in msg.blocks or []:
        if block.get("type") == "actions":
            ids.update(el.get("action_id", "") for el in block.get("elements", []))
        acc = block.get("accessory")
        if isinstance(acc, dict) and acc.get("action_id"):
            ids.add(acc["action_id"])
    return ids


def _busy(msgs: list[Any]) -> bool:
    """A message is still being written (streaming, or the 'Looking into it' placeholder)."""
    return any(m.streaming or "Looking into it" in (m.text or "") for m in msgs)


async def run_demo(opts: DemoOptions, out: TextIO) -> DemoResult:
    return await Demo(opts, out).run()


def main_sync(opts: DemoOptions, out: TextIO) -> DemoResult:
    return asyncio.run(run_demo(opts, out))


def _tarsy_command() -> str:
    """`tarsy` when it is on PATH, else the path of this environment's script (e.g. the
    `.venv/bin/tarsy` that `make demo` created), so the printed command works as shown."""
    import shutil
    import sys

    if shutil.which("tarsy"):
        return "tarsy"
    script = Path(sys.executable).with_name("tarsy")
    if not script.exists():
        return "tarsy"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)
