"""Follow-ups: asked mid-investigation (queued, answered after the recommendation, in order),
non-incident threads ignored, `followups: any_reply`, and the lease reaper requeueing a
follow-up whose worker died."""

from __future__ import annotations

import copy

from storage.repositories import followups as followup_repo
from storage.repositories.sessions import find_session_by_slack_thread
from tests.helpers.stack import (
    ALERT_CHANNEL,
    CHECKOUT_SCRIPT,
    DevStack,
    buttons,
    eventually,
    fixture_json,
    message_text,
)

ASKER = "U0SRE00001"


def _script(slow_diagnose: bool) -> dict:
    script = copy.deepcopy(CHECKOUT_SCRIPT)
    turns = script["turns"]
    if slow_diagnose:
        for t in turns:
            if t["id"] == "diagnose-answer":
                t["respond"]["chunk_delay_ms"] = 1000  # 3 chunks: stage 2 takes ~3 s
    specific = [
        {
            "id": "followup-one",
            "match": {"system_contains": "Follow-up chat", "last_user_contains": "QONE"},
            "respond": {"text": ["ANSWER-ONE: revision 42 cut the limit to 128Mi."]},
        },
        {
            "id": "followup-two",
            "match": {"system_contains": "Follow-up chat", "last_user_contains": "QTWO"},
            "respond": {"text": ["ANSWER-TWO: yes, revision 41 ran for weeks."]},
        },
    ]
    idx = next(i for i, t in enumerate(turns) if t["id"] == "followup")
    script["turns"] = turns[:idx] + specific + turns[idx:]
    return script


def _index(thread, needle: str) -> int:
    return next(i for i, m in enumerate(thread) if needle in message_text(m))


def _final(slack, ts):
    return next((m for m in slack.thread(ALERT_CHANNEL, ts) if "tarsy_rerun" in buttons(m)), None)


async def test_questions_during_the_run_are_answered_after_it_in_order(tmp_path):
    async with DevStack(tmp_path, script=_script(slow_diagnose=True)) as st:
        slack = st.slack
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)
        # the slow answer of stage 2 (after its tool call) is streaming
        await slack.wait_for(
            lambda: sum("Stage: diagnose" in str(r.body) for r in st.gemini.requests) >= 2,
            timeout=20,
        )
        mention = f"<@{slack.bot_user_id}>"
        for q in ("QONE did the rollout change the memory limit?", "QTWO is a rollback safe?"):
            await slack.post_message(
                ALERT_CHANNEL, text=f"{mention} {q}", user=ASKER, thread_ts=alert_ts
            )
        session = await find_session_by_slack_thread(st.app.db, ALERT_CHANNEL, alert_ts)

        async def both_queued():
            rows = await followup_repo.list_followups(st.app.db, session.id)
            return len(rows) == 2 and all(r.status == "queued" for r in rows)

        await eventually(both_queued, wait_s=5)
        assert _final(slack, alert_ts) is None  # still investigating
        await slack.wait_for(
            lambda: (
                "once the investigation finishes"
                in "".join(e.text for e in slack.ephemerals(user=ASKER))
            )
        )

        await slack.wait_for(
            lambda: (
                "ANSWER-TWO"
                in "".join(message_text(m) for m in slack.thread(ALERT_CHANNEL, alert_ts))
            ),
            timeout=30,
        )
        await st.settle()
        rows = await followup_repo.list_followups(st.app.db, session.id)
        assert [r.status for r in rows] == ["answered", "answered"]
        assert "ANSWER-ONE" in rows[0].answer and "ANSWER-TWO" in rows[1].answer
        assert rows[0].question.startswith("QONE") and rows[0].asked_by == ASKER
        assert rows[0].answered_at <= rows[1].answered_at
        thread = slack.thread(ALERT_CHANNEL, alert_ts)
        final_i = next(i for i, m in enumerate(thread) if "tarsy_rerun" in buttons(m))
        order = (final_i, _index(thread, "ANSWER-ONE"), _index(thread, "ANSWER-TWO"))
        assert order[0] < order[1] < order[2], slack.render_thread(ALERT_CHANNEL, alert_ts)


async def test_non_incident_threads_ignored_any_reply_answered(tmp_path):
    async with DevStack(
        tmp_path, script=_script(slow_diagnose=False), slack_overrides={"followups": "any_reply"}
    ) as st:
        slack = st.slack
        # A thread TARSy does not own: even a mention is not a follow-up.
        chatter = await slack.post_message(ALERT_CHANNEL, text="lunch?", user="U0SRE00002")
        await slack.post_message(
            ALERT_CHANNEL,
            text=f"<@{slack.bot_user_id}> QONE what do you think?",
            user=ASKER,
            thread_ts=chatter,
        )
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)
        await slack.wait_for(lambda: _final(slack, alert_ts), timeout=30)
        await st.settle()
        assert len(slack.thread(ALERT_CHANNEL, chatter)) == 2
        assert await followup_repo.list_followups(st.app.db) == []

        # any_reply: a plain reply in the incident thread is answered.
        await slack.post_message(
            ALERT_CHANNEL, text="QTWO is a rollback safe?", user=ASKER, thread_ts=alert_ts
        )
        await slack.wait_for(
            lambda: any(
                "ANSWER-TWO" in message_text(m) for m in slack.thread(ALERT_CHANNEL, alert_ts)
            ),
            timeout=20,
        )
        rows = await followup_repo.list_followups(st.app.db)
        assert [(r.question, r.status) for r in rows] == [("QTWO is a rollback safe?", "answered")]
        assert len(slack.thread(ALERT_CHANNEL, chatter)) == 2


async def test_reaper_requeues_a_followup_left_answering_by_a_dead_worker(tmp_path):
    async with DevStack(tmp_path, script=_script(slow_diagnose=False)) as st:
        slack = st.slack
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)
        await slack.wait_for(lambda: _final(slack, alert_ts), timeout=30)
        await st.settle()
        session = await find_session_by_slack_thread(st.app.db, ALERT_CHANNEL, alert_ts)
        worker, db = st.app.worker, st.app.db
        await worker.stop()

        q_ts = await slack.post_message(ALERT_CHANNEL, text="QONE?", user=ASKER, thread_ts=alert_ts)
        dead = await followup_repo.add_followup(
            db,
            session.id,
            "QONE did the rollout change the limit?",
            asked_by=ASKER,
            slack_channel=ALERT_CHANNEL,
            slack_ts=q_ts,
        )
        live = await followup_repo.add_followup(db, session.id, "QTWO is a rollback safe?")
        # A worker took each; the first one's worker died (its lease ran out).
        assert await followup_repo.start_answering(db, dead.id, owner="dead", lease_seconds=-1)
        assert await followup_repo.start_answering(db, live.id, owner="alive", lease_seconds=60)

        await worker.reap_once()
        assert (await followup_repo.get_followup(db, dead.id)).status == "queued"
        assert (await followup_repo.get_followup(db, live.id)).status == "answering"
        # the live worker's late result still counts; a stale owner's does not
        assert not await followup_repo.finish_followup(db, live.id, answer="x", owner="dead")
        assert await followup_repo.finish_followup(db, live.id, answer="ANSWER-TWO", owner="alive")

        await worker.start()
        await slack.wait_for(
            lambda: any(
                "ANSWER-ONE" in message_text(m) for m in slack.thread(ALERT_CHANNEL, alert_ts)
            ),
            timeout=20,
        )

        async def answered():
            row = await followup_repo.get_followup(db, dead.id)
            return row.status == "answered" and row.lease_owner is None

        await eventually(answered, wait_s=10)
        row = await followup_repo.get_followup(db, dead.id)
        assert "ANSWER-ONE" in row.answer
