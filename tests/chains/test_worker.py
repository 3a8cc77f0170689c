"""Queue worker + runner + recorder against a real database, with a scripted investigator.

Covers the logic paths quickly (3 stages, parallel synthesis, policies, timeouts, cancel,
resume, follow-ups, dedup, resolved); the devkit end-to-end tests cover the real agents.
"""

from __future__ import annotations

import asyncio

from agents.masking import Masker
from chains.alert import Alert
from chains.bus import EventBus
from chains.events import SessionFinished, StageStarted
from chains.followups import request_cancel, rerun, submit_followup
from chains.intake import intake
from chains.recorder import AuditRecorder
from chains.worker import Worker
from storage import queue
from storage.repositories import stages as stage_repo
from storage.repositories.sessions import get_session
from storage.repositories.timeline import get_timeline
from tests.chains.fakes import FakeInvestigator, make_config


def _alert(**kw) -> Alert:
    base = dict(
        source="alertmanager",
        kind="KubePodCrashLooping",
        severity="critical",
        title="checkout pods crash-looping",
        labels={"namespace": "payments", "deployment": "checkout"},
        payload={"note": "db password=hunter2-very-secret"},
    )
    base.update(kw)
    return Alert(**base)


class Harness:
    def __init__(self, cfg, db, inv=None, owner="w1"):
        self.cfg, self.db = cfg, db
        self.inv = inv or FakeInvestigator()
        self.bus = EventBus()
        self.events: list = []
        self.recorder = AuditRecorder(db)
        self.bus.add_sink(self.recorder, name="recorder")

        async def keep(e):
            self.events.append(e)

        self.bus.add_sink(keep, name="collector")
        self.masker = Masker.from_settings(None)
        self.worker = Worker(
            cfg, db, self.inv, self.bus, owner, masker=self.masker, scheduler=False
        )

    async def submit(self, alert=None):
        return await intake(
            self.db,
            alert or _alert(),
            self.cfg,
            self.masker,
            emit=self.bus.emit,
            wake=self.worker.wake,
        )

    async def settle(self):
        assert await self.bus.drain(10)
        assert await self.recorder.flush(10)

    async def close(self):
        await self.worker.stop()
        await self.bus.aclose()
        await self.recorder.aclose()


async def test_three_stage_chain_completes_and_timeline_is_rebuilt_from_db(db, tmp_path):
    h = Harness(make_config(tmp_path), db)
    r = await h.submit()
    assert r.created and r.occurrences == 1 and r.alert_id
    await h.worker.run_until_idle(wait_s=20)
    await h.settle()
    s = await get_session(db, r.session_id)
    assert s.status == "completed", s.error
    assert "recommend cause by RecommendAgent" in s.final_text
    assert s.executive_summary
    assert s.result["next_steps"] == ["fix recommend"]
    # each stage saw the previous stages' results, in order
    assert [c.prior for c in h.inv.calls] == [[], ["triage"], ["triage", "diagnose"]]
    tl = await get_timeline(db, r.session_id)
    assert [(st.index, st.name, st.status) for st in tl.stages] == [
        (0, "triage", "completed"),
        (1, "diagnose", "completed"),
        (2, "recommend", "completed"),
    ]
    assert tl.stages[1].result["likely_cause"] == "diagnose cause by KubernetesAgent"
    assert len(tl.llm_interactions) == 3 and all(x.stage_id for x in tl.llm_interactions)
    assert {x.stage_id for x in tl.tool_calls} == {st.id for st in tl.stages}
    types = [e.type for e in tl.events]
    for t in (
        "IncidentCreated",
        "SessionStarted",
        "StageStarted",
        "StageFinished",
        "RunbookLoaded",
        "SessionFinished",
    ):
        assert t in types, (t, types)
    assert s.input_tokens == 300 and s.output_tokens == 30  # from the recorded LLM calls
    # the raw payload was masked before it was stored
    assert "hunter2-very-secret" not in str(tl.alerts[0].payload)
    await h.close()


async def test_dedup_and_resolved_notifications(sqlite_db, tmp_path):
    h = Harness(make_config(tmp_path), sqlite_db)
    first = await h.submit()
    second = await h.submit(
        _alert(labels={"namespace": "payments", "deployment": "checkout", "pod": "checkout-abc"})
    )  # volatile label ignored
    assert not second.created and second.session_id == first.session_id
    assert second.occurrences == 2
    other = await h.submit(_alert(labels={"namespace": "billing"}))
    assert other.created and other.session_id != first.session_id
    resolved = await h.submit(_alert(status="resolved"))
    assert resolved.resolved and resolved.session_id == first.session_id and not resolved.created
    await h.worker.run_until_idle(wait_s=20)
    await h.settle()
    s = await get_session(sqlite_db, first.session_id)
    assert s.resolved_at is not None and s.occurrences == 2
    assert h.inv.stage_calls().count(("triage", "TriageAgent")) == 2  # two incidents, not three
    names = [type(e).__name__ for e in h.events]
    assert names.count("IncidentCreated") == 2
    assert "OccurrenceRecorded" in names and "IncidentResolved" in names
    await h.close()


PARALLEL = {
    "par": {
        "stages": [
            {"name": "triage", "agent": "TriageAgent"},
            {
                "name": "diagnose",
                "agents": ["KubernetesAgent", "LogsAgent", "MetricsAgent"],
                "synthesis_agent": "SynthAgent",
                "success_policy": "any",
            },
            {"name": "recommend", "agent": "RecommendAgent"},
        ]
    },
}


async def test_parallel_stage_runs_concurrently_and_is_synthesised(sqlite_db, tmp_path):
    inv = FakeInvestigator()
    gate = asyncio.Event()
    for a in ("KubernetesAgent", "LogsAgent", "MetricsAgent"):
        inv.block[("diagnose", a)] = gate
    inv.fail[("diagnose", "MetricsAgent")] = "prometheus unreachable"
    h = Harness(make_config(tmp_path, chains=PARALLEL), sqlite_db, inv)
    r = await h.submit()
    run = asyncio.create_task(h.worker.run_until_idle(wait_s=20))
    async with asyncio.timeout(10):  # all three agents are in flight at once
        for a in ("KubernetesAgent", "LogsAgent", "MetricsAgent"):
            await inv.started_event("diagnose", a).wait()
    gate.set()
    await run
    await h.settle()
    s = await get_session(sqlite_db, r.session_id)
    assert s.status == "completed", s.error
    synth = [c for c in inv.calls if c.kind == "synthesize"]
    assert synth[0].agent == "SynthAgent" and synth[0].prior == ["KubernetesAgent", "LogsAgent"]
    stage = (await get_timeline(sqlite_db, r.session_id)).stages[1]
    assert stage.result["likely_cause"].startswith("merged(")
    assert stage.result["agent_results"]["MetricsAgent"] == {
        "error": "RuntimeError: prometheus unreachable"
    }
    recommend = [c for c in inv.calls if c.stage == "recommend"][0]
    assert recommend.prior == ["triage", "diagnose"]
    await h.close()


async def test_parallel_all_policy_fails_with_reason(sqlite_db, tmp_path):
    chains = {"par": {"stages": [dict(PARALLEL["par"]["stages"][1], success_policy="all")]}}
    inv = FakeInvestigator()
    inv.fail[("diagnose", "LogsAgent")] = "loki down"
    h = Harness(make_config(tmp_path, chains=chains), sqlite_db, inv)
    r = await h.submit()
    await h.worker.run_until_idle(wait_s=20)
    s = await get_session(sqlite_db, r.session_id)
    assert s.status == "failed"
    assert "needs all of its agents" in s.error and "LogsAgent: RuntimeError: loki down" in s.error
    await h.close()


async def test_stage_timeout_and_stage_error_are_reported(sqlite_db, tmp_path):
    chains = {
        "k": {
            "stages": [
                {"name": "triage", "agent": "TriageAgent", "timeout_seconds": 0.3},
                {"name": "diagnose", "agent": "KubernetesAgent"},
            ]
        }
    }
    inv = FakeInvestigator()
    inv.delay[("triage", "TriageAgent")] = 30
    h = Harness(make_config(tmp_path, chains=chains), sqlite_db, inv)
    r = await h.submit()
    await h.worker.run_until_idle(wait_s=20)
    s = await get_session(sqlite_db, r.session_id)
    assert s.status == "timed_out"
    assert "stage 1/2 'triage' timed out after 0.3s" in s.error
    assert ("diagnose", "KubernetesAgent") not in inv.stage_calls()

    inv.delay.clear()
    inv.fail[("diagnose", "KubernetesAgent")] = "MCP server kubernetes is unavailable"
    r2 = await h.submit(_alert(kind="Other", labels={"x": "1"}))
    await h.worker.run_until_idle(wait_s=20)
    s2 = await get_session(sqlite_db, r2.session_id)
    assert s2.status == "failed"
    assert s2.error == (
        "stage 2/2 'diagnose' failed: RuntimeError: MCP server kubernetes is unavailable"
    )
    await h.close()


async def test_cancel_from_another_replica_stops_the_running_session(db, tmp_path):
    inv = FakeInvestigator()
    inv.block[("diagnose", "KubernetesAgent")] = asyncio.Event()  # never released
    h = Harness(make_config(tmp_path), db, inv)
    r = await h.submit()
    run = asyncio.create_task(h.worker.run_until_idle(wait_s=20))
    async with asyncio.timeout(10):
        await inv.started_event("diagnose", "KubernetesAgent").wait()
    assert await request_cancel(db, r.session_id, by="U123") == "running"  # just a DB flag
    await asyncio.wait_for(run, 10)
    await h.settle()
    s = await get_session(db, r.session_id)
    assert s.status == "cancelled" and s.error == "cancelled on request"
    tl = await get_timeline(db, r.session_id)
    assert [st.status for st in tl.stages] == ["completed", "cancelled"]
    await h.close()


async def test_resume_after_lease_expiry_skips_finished_stages(db, tmp_path):
    cfg = make_config(tmp_path, queue={"lease_seconds": 1, "heartbeat_seconds": 0.5})
    h = Harness(cfg, db)
    r = await h.submit()
    # A worker that claimed it, finished stage 1, then died (no heartbeat, no finish).
    claimed = await queue.claim_next(
        db, "dead-worker", lease_seconds=0.5, concurrency_limit=5, max_attempts=3
    )
    assert claimed.id == r.session_id
    st = await stage_repo.start_stage(
        db, r.session_id, index=0, name="triage", agents=["TriageAgent"]
    )
    await stage_repo.finish_stage(
        db,
        st.id,
        status="completed",
        result={"likely_cause": "stored triage cause", "summary": "s", "full_text": "triage text"},
    )
    # waits for the dead worker's lease to expire, then resumes
    await h.worker.run_until_idle(wait_s=20, session_ids=[r.session_id])
    await h.settle()
    s = await get_session(db, r.session_id)
    assert s.status == "completed" and s.attempts == 2
    assert h.inv.stage_calls() == [("diagnose", "KubernetesAgent"), ("recommend", "RecommendAgent")]
    assert h.inv.calls[0].prior == ["triage"]
    notes = [e for e in (await get_timeline(db, r.session_id)).events if e.type == "SessionNote"]
    assert any("resuming after a worker restart" in n.message for n in notes)
    await h.close()


async def test_followup_asked_mid_investigation_is_answered_after_it(sqlite_db, tmp_path):
    inv = FakeInvestigator()
    gate = asyncio.Event()
    inv.block[("recommend", "RecommendAgent")] = gate
    h = Harness(make_config(tmp_path), sqlite_db, inv)
    r = await h.submit()
    run = asyncio.create_task(h.worker.run_until_idle(wait_s=20))
    async with asyncio.timeout(10):
        await inv.started_event("recommend", "RecommendAgent").wait()
    fid = await submit_followup(sqlite_db, r.session_id, "Can we roll back?", "U42")
    gate.set()
    await run
    await h.settle()
    chat = [c for c in inv.calls if c.kind == "chat"]
    assert len(chat) == 1 and chat[0].question == "Can we roll back?"
    assert chat[0].agent == "RecommendAgent"
    # context comes from the database: alert, runbook, every stage's result
    for needle in (
        "checkout pods crash-looping",
        "Generic runbook",
        "triage cause by",
        "diagnose cause by",
        "recommend cause by",
    ):
        assert needle in chat[0].context
    tl = await get_timeline(sqlite_db, r.session_id)
    f = next(x for x in tl.followups if x.id == fid)
    assert f.status == "answered" and "roll back to revision 41" in f.answer
    assert any(x.purpose == "chat" for x in tl.llm_interactions)
    # a second question sees the first Q&A as history
    await submit_followup(sqlite_db, r.session_id, "And then?", "U42")
    await h.worker.run_until_idle(wait_s=20)
    assert [c for c in inv.calls if c.kind == "chat"][1].history == [
        ("Can we roll back?", f.answer)
    ]
    await h.close()


async def test_rerun_creates_a_new_investigation(sqlite_db, tmp_path):
    h = Harness(make_config(tmp_path), sqlite_db)
    r = await h.submit()
    await h.worker.run_until_idle(wait_s=20)
    new_id = await rerun(sqlite_db, r.session_id, by="U1")
    assert new_id != r.session_id
    await h.worker.run_until_idle(wait_s=20)
    assert (await get_session(sqlite_db, new_id)).status == "completed"
    assert len(h.inv.stage_calls()) == 6
    await h.close()


async def test_session_events_carry_stage_progress(sqlite_db, tmp_path):
    h = Harness(make_config(tmp_path), sqlite_db)
    await h.submit()
    await h.worker.run_until_idle(wait_s=20)
    await h.settle()
    starts = [e for e in h.events if isinstance(e, StageStarted)]
    assert [(e.index, e.total, e.name) for e in starts] == [
        (0, 3, "triage"),
        (1, 3, "diagnose"),
        (2, 3, "recommend"),
    ]
    fin = [e for e in h.events if isinstance(e, SessionFinished)]
    assert len(fin) == 1 and fin[0].status == "completed" and fin[0].input_tokens == 300
    await h.close()


async def test_graceful_stop_hands_the_session_back_and_another_worker_resumes(db, tmp_path):
    cfg = make_config(tmp_path)
    inv = FakeInvestigator()
    inv.block[("diagnose", "KubernetesAgent")] = asyncio.Event()  # stuck until stopped
    a = Harness(cfg, db, inv, owner="worker-a")
    r = await a.submit()
    await a.worker.start()
    async with asyncio.timeout(10):
        await inv.started_event("diagnose", "KubernetesAgent").wait()
    await a.worker.stop()
    s = await get_session(db, r.session_id)
    assert s.status == "queued" and s.lease_owner is None  # handed back, attempt not counted
    b = Harness(cfg, db, owner="worker-b")
    await b.worker.run_until_idle(wait_s=20)
    s = await get_session(db, r.session_id)
    assert s.status == "completed" and s.lease_owner == "worker-b"
    assert b.inv.stage_calls() == [("diagnose", "KubernetesAgent"), ("recommend", "RecommendAgent")]
    stages = [(st.index, st.status) for st in (await get_timeline(db, r.session_id)).stages]
    assert stages == [(0, "completed"), (1, "cancelled"), (1, "completed"), (2, "completed")]
    await a.close()
    await b.close()
