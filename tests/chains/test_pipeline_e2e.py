"""In-process pipeline with the real investigator against the devkit Gemini server and the
cluster MCP server (stdio): parallel stage + synthesis, runbooks over HTTP (token, server
down), follow-up answered from the database."""

from __future__ import annotations

from aiohttp import web

from chains.alert import Alert
from chains.events import SessionNote
from chains.followups import submit_followup
from chains.intake import intake
from chains.service import open_pipeline
from config.loader import load_config
from devkit.gemini import GeminiServer
from storage.repositories.sessions import get_session
from storage.repositories.timeline import get_timeline
from tests.chains.devkit_env import checkout_script, write_config
from tests.helpers.db import sqlite_url


def _final(cause: str, step: str) -> list[str]:
    return [
        f"## Findings\n- {cause}\n",
        f"## Likely cause\n{cause}\n## Confidence\nhigh\n",
        f"## Next steps\n1. {step}\n",
    ]


PARALLEL_SCRIPT = {
    "turns": [
        {
            "id": "synth",
            "match": {"system_contains": "Several investigators examined"},
            "respond": {
                "text": _final(
                    "merged: OOMKilled after the memory limit cut", "roll back to revision 41"
                )
            },
        },
        {
            "id": "k8s-1",
            "match": {
                "system_contains": "You are KubernetesAgent",
                "lacks_function_response": "resources_get",
            },
            "respond": {
                "function_calls": [
                    {
                        "name": "kubernetes__resources_get",
                        "args": {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "namespace": "payments",
                            "name": "checkout",
                        },
                    }
                ]
            },
        },
        {
            "id": "k8s-final",
            "match": {"system_contains": "You are KubernetesAgent"},
            "respond": {"text": _final("memory limit 128Mi in revision 42", "restore 512Mi")},
        },
        {
            "id": "logs-1",
            "match": {
                "system_contains": "You are LogsAgent",
                "lacks_function_response": "pods_log",
            },
            "respond": {
                "function_calls": [
                    {
                        "name": "kubernetes__pods_log",
                        "args": {"namespace": "payments", "name": "checkout-7d9f8b6c5-x2x4q"},
                    }
                ]
            },
        },
        {
            "id": "logs-final",
            "match": {"system_contains": "You are LogsAgent"},
            "respond": {"text": _final("java heap OutOfMemoryError", "raise the limit")},
        },
        {
            "id": "triage",
            "match": {"system_contains": "Stage: triage"},
            "respond": {"text": _final("checkout pods crash-loop", "look deeper")},
        },
        {
            "id": "recommend",
            "match": {"system_contains": "Stage: recommend"},
            "respond": {"text": _final("limit cut in rollout 42", "kubectl rollout undo")},
        },
    ]
}


def _alert(**kw) -> Alert:
    base = dict(
        source="generic",
        kind="KubePodCrashLooping",
        severity="critical",
        title="checkout pods crash-looping",
        labels={"namespace": "payments", "deployment": "checkout"},
    )
    return Alert(**{**base, **kw})


async def test_parallel_stage_with_synthesis(tmp_path):
    chains = {
        "k8s": {
            "stages": [
                {"name": "triage", "agent": "TriageAgent"},
                {
                    "name": "diagnose",
                    "agents": ["KubernetesAgent", "LogsAgent"],
                    "synthesis_agent": "SynthAgent",
                },
                {"name": "recommend", "agent": "RecommendAgent"},
            ]
        }
    }
    agents = {
        "LogsAgent": {"instructions": "You are LogsAgent.", "mcp_servers": ["kubernetes"]},
        "SynthAgent": {"instructions": "You are SynthAgent.", "mcp_servers": []},
    }
    async with GeminiServer(script=PARALLEL_SCRIPT) as g:
        cfg = load_config(
            write_config(tmp_path / "cfg", gemini_url=g.base_url, chains=chains, agents=agents)
        )
        async with open_pipeline(cfg, database_url_=sqlite_url(tmp_path), scheduler=False) as p:
            r = await intake(p.db, _alert(), cfg, p.masker, emit=p.bus.emit)
            await p.worker.run_until_idle(wait_s=60)
            await p.bus.drain()
            await p.recorder.flush()
            s = await get_session(p.db, r.session_id)
            assert s.status == "completed", s.error
            tl = await get_timeline(p.db, r.session_id)
        diagnose = tl.stages[1]
        assert diagnose.result["likely_cause"] == "merged: OOMKilled after the memory limit cut"
        assert set(diagnose.result["agent_results"]) == {"KubernetesAgent", "LogsAgent"}
        assert (
            diagnose.result["agent_results"]["LogsAgent"]["likely_cause"]
            == "java heap OutOfMemoryError"
        )
        # both parallel agents' reports reached the synthesis call
        synth = next(q for q in g.requests if q.turn_id == "synth")
        text = str(synth.body)
        assert "memory limit 128Mi in revision 42" in text and "java heap OutOfMemoryError" in text
        # the recommend stage got the merged result, not the raw parallel ones
        rec = next(q for q in g.requests if q.turn_id == "recommend")
        assert "merged: OOMKilled" in str(rec.body)
        by_agent = {x.agent for x in tl.llm_interactions if x.stage_id == diagnose.id}
        assert by_agent == {"KubernetesAgent", "LogsAgent", "SynthAgent"}


async def _runbook_server(token_seen: list):
    async def handler(request: web.Request) -> web.Response:
        token_seen.append(request.headers.get("Authorization"))
        return web.Response(text="# Checkout OOM runbook\nCompare memory limits with -Xmx.\n")

    app = web.Application()
    app.router.add_get("/acme/runbooks/main/checkout.md", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def test_runbook_over_http_with_token_then_server_down(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_devkit_token_123")
    seen: list = []
    runner, port = await _runbook_server(seen)
    url = f"http://127.0.0.1:{port}/acme/runbooks/main/checkout.md"
    try:
        async with GeminiServer(script=checkout_script()) as g:
            cfg = load_config(
                write_config(
                    tmp_path / "cfg",
                    gemini_url=g.base_url,
                    runbooks={"allowed_hosts": ["127.0.0.1"]},
                )
            )
            async with open_pipeline(cfg, database_url_=sqlite_url(tmp_path), scheduler=False) as p:
                notes: list = []

                async def keep(e):
                    if isinstance(e, SessionNote):
                        notes.append(e)

                p.bus.add_sink(keep)
                r = await intake(p.db, _alert(runbook_url=url), cfg, p.masker, emit=p.bus.emit)
                await p.worker.run_until_idle(wait_s=60)
                assert (await get_session(p.db, r.session_id)).status == "completed"
                assert seen == ["Bearer ghp_devkit_token_123"]
                first = g.requests[0]
                assert "Compare memory limits with -Xmx." in str(first.body)
                assert "ghp_devkit_token_123" not in g.all_request_text()
                assert notes == []

                await runner.cleanup()  # the runbook server goes away
                p.worker.runbooks._cache.clear()
                n = len(g.requests)
                r2 = await intake(
                    p.db,
                    _alert(runbook_url=url, labels={"namespace": "b"}),
                    cfg,
                    p.masker,
                    emit=p.bus.emit,
                )
                await p.worker.run_until_idle(wait_s=60)
                assert (await get_session(p.db, r2.session_id)).status == "completed"
                await p.bus.drain()
                await p.recorder.flush()
                tl = await get_timeline(p.db, r2.session_id)
            assert len(notes) == 1 and url in notes[0].message
            assert "unreachable" in notes[0].message and "generic.md" in notes[0].message
            note_rows = [e for e in tl.events if e.type == "SessionNote"]
            assert note_rows and url in note_rows[0].message  # visible in the session
            assert "Generic runbook (devkit)" in str(g.requests[n].body)
    finally:
        await runner.cleanup()


async def test_followup_answered_with_context_from_database(tmp_path):
    async with GeminiServer(script=checkout_script()) as g:
        cfg = load_config(write_config(tmp_path / "cfg", gemini_url=g.base_url))
        async with open_pipeline(cfg, database_url_=sqlite_url(tmp_path), scheduler=False) as p:
            r = await intake(p.db, _alert(), cfg, p.masker, emit=p.bus.emit)
            await p.worker.run_until_idle(wait_s=60)
            fid = await submit_followup(
                p.db, r.session_id, "Is it safe to roll back now?", "U0ONCALL"
            )
            await p.worker.run_until_idle(wait_s=60)
            await p.bus.drain()
            await p.recorder.flush()
            tl = await get_timeline(p.db, r.session_id)
        f = next(x for x in tl.followups if x.id == fid)
        assert f.status == "answered", f.error
        assert "Rolling back is safe here" in f.answer
        chat = next(q for q in g.requests if q.turn_id == "followup-rollback")
        body = str(chat.body)
        # incident context from the DB: the stored stage results reached the model
        assert "revision 42 (14:50, image 2.14.0) sets a 128Mi memory limit" in body
        assert any(x.followup_id == fid and x.purpose == "chat" for x in tl.llm_interactions)
