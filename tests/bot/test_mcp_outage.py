"""An MCP server that will not start: the investigation still ends clearly, /health names the
server, and the ops channel hears about it ONCE, as it happens (nobody has to probe /health)."""

from __future__ import annotations

import json
import sys

import aiohttp

from storage.repositories.sessions import find_session_by_slack_thread
from tests.helpers.stack import (
    ALERT_CHANNEL,
    OTHER_CHANNEL,
    DevStack,
    fixture_json,
    message_text,
)

OPS = OTHER_CHANNEL
# A stdio "server" that dies at once, the way a cluster server with a bad kubeconfig would.
DEAD_CLUSTER = {
    "type": "stdio",
    "command": sys.executable,
    "args": ["-c", "import sys; sys.exit('kubeconfig /nonexistent not found')"],
    "timeout_seconds": 5,
}


async def _get_health(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(url + "/health") as resp:
        return resp.status, await resp.json()


async def test_dead_mcp_server_investigation_ends_and_ops_warned_once(tmp_path):
    async with DevStack(
        tmp_path, slack_overrides={"ops_channel": OPS}, mcp_transport=DEAD_CLUSTER
    ) as st:
        slack = st.slack
        body = fixture_json("slack-event-alert-message.json")
        alert_ts = body["event"]["ts"]
        await slack.post_event(body)

        # The investigation ends (no hang): the alert's ⏳/👀 gives way to ✅ or ❌.
        def root_finished():
            root = slack.thread(ALERT_CHANNEL, alert_ts)[0]
            done = "white_check_mark" in root.reactions or "x" in root.reactions
            return done and "eyes" not in root.reactions

        await slack.wait_for(root_finished, timeout=12)
        await st.settle()
        session = await find_session_by_slack_thread(st.app.db, ALERT_CHANNEL, alert_ts)
        assert session is not None and session.status in ("completed", "failed")
        thread = [message_text(m) for m in slack.thread(ALERT_CHANNEL, alert_ts)]
        assert "Recommendation" in thread[-1] or "Failed:" in thread[-1], thread[-1]
        # The thread shows the cluster tools the agent asked for did not run...
        stages = "\n".join(thread[1:])
        assert "pods_list" in stages and "🔧 `pods_list`" not in stages
        # ...and the model was told so (an error instead of pod data), not left waiting.
        told = [json.dumps(r.body) for r in st.gemini.requests]
        assert any("functionResponse" in b and "Error" in b and "pods_list" in b for b in told)
        assert any("is unavailable" in b for b in told)  # a down server, not a policy refusal
        assert "denied" not in stages
        # The status card says the answer was reached without the cluster tools.
        assert "`cluster` was unavailable" in thread[1], thread[1]

        # Ops hears about it as it happens, without anyone probing /health...
        await slack.wait_for(lambda: len(slack.messages(OPS)) >= 1, timeout=5)
        # ...and once, however often /health is probed while the server stays down.
        for _ in range(3):
            status, health = await _get_health(st.url)
            assert status == 503, health
            mcp = [r for r in health["reasons"] if r.startswith("mcp:")]
            assert mcp and "cluster" in mcp[0] and "unavailable" in mcp[0], health["reasons"]
            assert not health["checks"]["mcp"]["ok"]
        await st.settle()
        ops = slack.messages(OPS)
        assert len(ops) == 1, [m.text for m in ops]
        assert "mcp" in ops[0].text and "'cluster'" in ops[0].text
        assert "mcp_servers.cluster.transport" in ops[0].text  # where to fix it
