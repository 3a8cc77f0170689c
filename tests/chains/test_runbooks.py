"""Runbook resolution: alert URL over HTTP with a bearer token, local dir, fallbacks, masking."""

from __future__ import annotations

import socket

from aiohttp import web

from agents.masking import Masker
from chains.alert import Alert
from chains.runbooks import GENERIC_RUNBOOK, RunbookResolver, github_raw_url
from config.models import ChainConfig, RunbookSettings


async def _server(handler) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_github_blob_rewritten_to_raw():
    assert (
        github_raw_url("https://github.com/acme/runbooks/blob/main/k8s/OOM.md")
        == "https://raw.githubusercontent.com/acme/runbooks/main/k8s/OOM.md"
    )
    assert github_raw_url("https://example.com/x.md") == "https://example.com/x.md"


async def test_alert_runbook_url_fetched_with_token_cached_and_masked(tmp_path):
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(text="# OOM runbook\nRoll back. db password: hunter2-Secret\n")

    runner, port = await _server(handler)
    try:
        settings = RunbookSettings(directories=[str(tmp_path)], allowed_hosts=["127.0.0.1"])
        resolver = RunbookResolver(
            settings, github_token="ghp_test_token", masker=Masker.from_settings(None)
        )
        alert = Alert(
            source="cli",
            kind="KubePodOOMKilled",
            title="t",
            runbook_url=f"http://127.0.0.1:{port}/runbooks/oom.md",
        )
        rb = await resolver.resolve(alert)
        assert rb.source.endswith("/runbooks/oom.md") and rb.notes == []
        assert "Roll back." in rb.text
        assert "hunter2-Secret" not in rb.text  # runbooks are untrusted text: masked
        assert seen == ["Bearer ghp_test_token"]
        await resolver.resolve(alert)
        assert len(seen) == 1  # served from the TTL cache
    finally:
        await runner.cleanup()


async def test_token_not_sent_to_untrusted_hosts(tmp_path):
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(text="ok")

    runner, port = await _server(handler)
    try:
        resolver = RunbookResolver(RunbookSettings(directories=[]), github_token="ghp_x")
        text, _ = await resolver.fetch(f"http://127.0.0.1:{port}/r.md")
        assert text == "ok" and seen == [None]
    finally:
        await runner.cleanup()


async def test_server_down_notes_and_falls_back_to_chain_then_generic(tmp_path):
    (tmp_path / "generic.md").write_text("# Generic\nlook around\n")
    (tmp_path / "chain.md").write_text("# Chain runbook\n")
    port = _free_port()
    settings = RunbookSettings(directories=[str(tmp_path)])
    resolver = RunbookResolver(settings, timeout_seconds=2)
    alert = Alert(
        source="cli",
        kind="X",
        title="t",
        annotations={"runbook_url": f"http://127.0.0.1:{port}/gone.md"},
    )
    rb = await resolver.resolve(
        alert, ChainConfig(stages=[{"name": "a", "agent": "A"}], runbook="chain.md")
    )
    assert rb.text.startswith("# Chain runbook")
    assert len(rb.notes) == 1 and f"127.0.0.1:{port}/gone.md" in rb.notes[0]
    assert "unreachable" in rb.notes[0]
    rb2 = await resolver.resolve(alert)
    assert rb2.text.startswith("# Generic") and rb2.source.endswith("generic.md")


async def test_nothing_available_gives_builtin_generic_and_http_errors_are_named(tmp_path):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=404)

    runner, port = await _server(handler)
    try:
        resolver = RunbookResolver(RunbookSettings(directories=[str(tmp_path)]))
        alert = Alert(source="cli", kind="X", title="t", runbook_url=f"http://127.0.0.1:{port}/a")
        rb = await resolver.resolve(alert)
        assert rb.text == GENERIC_RUNBOOK and rb.source == "builtin:generic"
        assert "returned HTTP 404" in rb.notes[0]
        assert "generic.md' not found" in rb.notes[1]
    finally:
        await runner.cleanup()


async def test_path_traversal_refused(tmp_path):
    (tmp_path / "rb").mkdir()
    (tmp_path / "secret.md").write_text("nope")
    resolver = RunbookResolver(RunbookSettings(directories=[str(tmp_path / "rb")], default=None))
    rb = await resolver.resolve(
        Alert(source="cli", kind="X", title="t", annotations={"runbook": "../secret.md"})
    )
    assert rb.source == "builtin:generic" and "outside" in rb.notes[0]
