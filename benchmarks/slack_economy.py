"""Slack Web API calls per investigation, edits per message per second, unhandled 429s.

The real `tarsy serve` (child process) with the shipped Slack settings (edit interval 1.5 s)
runs the shipped 3-stage chain for 4 incidents at once, each in its own channel: one from an
Alertmanager bot message in #alerts (thread under the alert, reactions on it) and three from
webhooks (card as the thread root). The devkit Slack emulator keeps its Slack-like rate
limits ON; the Gemini stand-in streams its answers at 4 chunks/s so stage messages are
edited while they are written. Everything is read from the emulator's call log.
Prints one JSON object.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_CALLS = 15
TARGET_EDITS_PER_S = 1.0
WEBHOOK_CHANNELS = {"C0ECON0001": "econ-1", "C0ECON0002": "econ-2", "C0ECON0003": "econ-3"}
ALERT_CHANNEL = "C0ALERTS01"
STARTUP_METHODS = {"auth.test", "apps.connections.open"}


def channel_of(call) -> str | None:  # noqa: ANN001
    """Channel a Web API call is about (`channel`, or `channel_id` for assistant.threads.*)."""
    return call.params.get("channel") or call.params.get("channel_id")


def max_edits_per_second(updates: list[float]) -> int:
    """Most chat.update calls to one message inside any 1-second window."""
    best = 0
    for i, t in enumerate(updates):
        best = max(best, sum(1 for u in updates[i:] if u - t < 1.0))
    return best


def unhandled_429s(calls: list) -> int:
    """429s whose request (method + channel + ts/text) never succeeded afterwards."""
    count = 0
    for i, c in enumerate(calls):
        if c.status != 429:
            continue
        key = (c.method, c.params.get("channel"), c.params.get("ts") or c.params.get("text"))
        retried = any(
            d.ok
            and (d.method, d.params.get("channel"), d.params.get("ts") or d.params.get("text"))
            == key
            for d in calls[i + 1 :]
        )
        count += 0 if retried else 1
    return count


def finished(slack, channel: str, root: str | None) -> bool:  # noqa: ANN001
    """Final message with buttons posted and the status card says Done."""
    from bot.demo.load import message_blob

    msgs = slack.thread(channel, root) if root else slack.messages(channel)
    if root is None:
        if not msgs:
            return False
        msgs = slack.thread(channel, msgs[0].ts)
    blobs = [message_blob(m) for m in msgs]
    return any("tarsy_rerun" in b for b in blobs) and any("✅ Done" in b for b in blobs)


async def quiet(slack, window_s: float = 2.0, limit_s: float = 30.0) -> None:  # noqa: ANN001
    """Return once no Web API call has arrived for `window_s` (the app flushed everything).

    Waits on the emulator's state changes, not by polling."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        seen = len(slack.calls())
        try:
            await slack.wait_for(lambda n=seen: len(slack.calls()) > n, timeout=window_s)
        except TimeoutError:
            return


async def main_async() -> dict:
    import aiohttp

    from bot.demo.load import WEBHOOK_PATH, team_rules
    from bot.demo.payloads import alertmanager_payload
    from bot.demo.runner import load_alert_event, paced_script
    from bot.demo.stack import ServedStack
    from bot.devstack import CHANNELS

    with tempfile.TemporaryDirectory(prefix="tarsy-bench-economy-") as tmp:
        async with ServedStack(
            tmp,
            channels={**CHANNELS, **WEBHOOK_CHANNELS},
            rate_limits=True,
            script=paced_script(250),
            slack_overrides={"edit_interval_s": 1.5},
            webhook_overrides={"channel_rules": team_rules(WEBHOOK_CHANNELS)},
        ) as st:
            slack = st.slack
            t0 = time.time()
            event = load_alert_event()
            await slack.post_event(event)
            async with aiohttp.ClientSession() as http:
                for name in WEBHOOK_CHANNELS.values():
                    body = alertmanager_payload(f"econ-{name}", team=name)
                    async with http.post(st.url + WEBHOOK_PATH, json=body) as r:
                        r.raise_for_status()
            roots = {ALERT_CHANNEL: event["event"]["ts"], **dict.fromkeys(WEBHOOK_CHANNELS)}
            await slack.wait_for(
                lambda: all(finished(slack, ch, root) for ch, root in roots.items()), timeout=120
            )
            elapsed = time.time() - t0
            await quiet(slack)  # no call for 2 s: the writer has flushed everything
            calls = list(slack.calls())
    per_channel: dict[str, list] = defaultdict(list)
    for c in calls:
        if c.method not in STARTUP_METHODS and channel_of(c) in roots:
            per_channel[channel_of(c)].append(c)
    per_investigation = {}
    edits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for ch, cs in per_channel.items():
        methods: dict[str, int] = defaultdict(int)
        for c in cs:
            methods[c.method] += 1
            if c.method == "chat.update" and c.ok:
                edits[(ch, str(c.params.get("ts")))].append(c.at)
        per_investigation[ch] = {"calls": len(cs), "by_method": dict(sorted(methods.items()))}
    unassigned = [c.method for c in calls if c.method not in STARTUP_METHODS and not channel_of(c)]
    worst_edits = max((max_edits_per_second(sorted(v)) for v in edits.values()), default=0)
    worst_calls = max(v["calls"] for v in per_investigation.values())
    n429 = sum(1 for c in calls if c.status == 429)
    lost429 = unhandled_429s(calls)
    return {
        "benchmark": "slack_economy",
        "investigations": len(per_investigation),
        "wall_s_all_four": round(elapsed, 1),
        "calls_per_investigation": per_investigation,
        "calls_per_investigation_max": worst_calls,
        "calls_without_channel": unassigned,
        "max_edits_per_message_per_s": worst_edits,
        "responses_429": n429,
        "unhandled_429": lost429,
        "emulator_rate_limits": "on",
        "targets": {"calls_per_investigation": TARGET_CALLS, "edits_per_s": TARGET_EDITS_PER_S},
        "meets_target": worst_calls <= TARGET_CALLS
        and worst_edits <= TARGET_EDITS_PER_S
        and lost429 == 0,
    }


def main() -> int:
    from benchmarks._common import print_report

    return print_report(main_async(), quiet_server_log=True)


if __name__ == "__main__":
    sys.exit(main())
