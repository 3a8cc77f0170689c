"""Two TARSy replicas (one Slack, one database): a redelivered event is one investigation."""

from __future__ import annotations

import contextlib

from bot.app import TarsyApp
from bot.devstack import _DEVNULL, _clean_env
from config.loader import load_config
from storage.repositories.sessions import list_sessions
from storage.repositories.slack import list_slack_messages
from tests.helpers.db import postgres_database_url, postgres_url
from tests.helpers.stack import ALERT_CHANNEL, DevStack, buttons, fixture_json


async def test_same_event_to_two_replicas_is_one_investigation(tmp_path):
    async with contextlib.AsyncExitStack() as stack:
        # A fresh PostgreSQL database when the suite has one, else a shared SQLite file.
        db_url = (
            await stack.enter_async_context(postgres_database_url()) if postgres_url() else None
        )
        st = await stack.enter_async_context(DevStack(tmp_path, db_url=db_url))
        second = TarsyApp(
            load_config(st.config_dir, env=_clean_env()),
            ready_stream=_DEVNULL,
            owner_id="replica-2",
        )
        await second.start()
        try:
            slack = st.slack
            await slack.wait_for(
                lambda: len([w for w in slack.socket_mode.connections if not w.closed]) == 2
            )
            body = fixture_json("slack-event-alert-message.json")
            alert_ts = body["event"]["ts"]
            # Slack redelivers (same event_id); round-robin hands copies to both replicas.
            deliveries = [await slack.post_event(dict(body)) for _ in range(4)]
            assert len(set(deliveries)) == 1

            def finals():
                return [
                    m for m in slack.thread(ALERT_CHANNEL, alert_ts) if "tarsy_rerun" in buttons(m)
                ]

            await slack.wait_for(finals, timeout=30)
            await st.settle()
            await second.bus.drain(10)
            if second.presenter is not None:
                await second.presenter.drain(10)
            sessions = await list_sessions(st.app.db)
            assert len(sessions) == 1 and sessions[0].status == "completed"
            assert sessions[0].occurrences == 1
            assert len(finals()) == 1
            thread = slack.thread(ALERT_CHANNEL, alert_ts)
            cards = [m for m in thread[1:] if sessions[0].id in (m.text or "") + str(m.blocks)]
            assert len(cards) >= 1
            stored = await list_slack_messages(st.app.db, sessions[0].id)
            assert {m.ts for m in stored} == {m.ts for m in thread[1:]}
        finally:
            await second.stop()
