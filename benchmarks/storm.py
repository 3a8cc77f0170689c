"""Alert storm: 2,000 Alertmanager messages in 20 s across 40 fingerprints.

The devkit Slack emulator posts Alertmanager bot messages into 4 alert channels (100/s,
each fingerprint always in the same channel); the real `tarsy serve` (child process, Socket
Mode, SQLite, shipped Slack pacing, emulator rate limits ON) must open exactly one incident
and one thread per fingerprint and record every repeat as an occurrence, losing none.
Investigations run meanwhile against a Gemini stand-in answering at about a real model's
pace. Peak RSS of the app process is sampled with psutil every 100 ms. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import copy
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MESSAGES = 2000
DURATION_S = 20.0
FINGERPRINTS = 40
ALERT_CHANNELS = {
    "C0ALERTS01": "alerts",
    "C0ALERTS02": "alerts-2",
    "C0ALERTS03": "alerts-3",
    "C0ALERTS04": "alerts-4",
}
TARGET_RSS_MB = 300.0
MB = 1024 * 1024


def alert_message(k: int) -> dict:
    """Attachment of an Alertmanager Slack message for fingerprint `k` (namespace shop-k)."""
    import json as _json
    from importlib import resources

    base = _json.loads(resources.files("bot.demo").joinpath("alert-message.json").read_text())
    att = copy.deepcopy(base["event"]["attachments"][0])
    ns = f"shop-{k:02d}"
    att["title"] = f"[FIRING:1] KubePodCrashLooping ({ns} critical prod-eu-1)"
    att["fallback"] = f"[FIRING:1] KubePodCrashLooping {ns}"
    att["text"] = (
        "*Alert:* Pod is crash looping. - `critical`\n"
        f"*Description:* Pod {ns}/checkout-7d9f8b6c5-x2x4q (checkout) is in waiting state "
        '(reason: "CrashLoopBackOff").\n*Details:*\n'
        "  • *alertname:* `KubePodCrashLooping`\n  • *cluster:* `prod-eu-1`\n"
        f"  • *namespace:* `{ns}`\n  • *pod:* `checkout-7d9f8b6c5-x2x4q`\n"
        "  • *severity:* `critical`"
    )
    return att


async def sample_rss(pid: int, stop: asyncio.Event, out: list[int]) -> None:
    import psutil

    proc = psutil.Process(pid)
    while not stop.is_set():
        try:
            out.append(proc.memory_info().rss)
        except psutil.Error:
            return
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except TimeoutError:
            pass


async def db_counts(db_url: str) -> tuple[int, int, int]:
    """(sessions, sum of occurrences, alert rows) as stored by the app."""
    from sqlalchemy import func, select

    from storage.engine import Database
    from storage.models import AlertRow, SessionRow

    db = Database(db_url)
    try:
        async with db.read() as s:
            sessions = await s.scalar(select(func.count()).select_from(SessionRow))
            occ = await s.scalar(select(func.coalesce(func.sum(SessionRow.occurrences), 0)))
            alerts = await s.scalar(select(func.count()).select_from(AlertRow))
    finally:
        await db.close()
    return int(sessions or 0), int(occ or 0), int(alerts or 0)


def threads_with_tarsy(slack) -> int:  # noqa: ANN001
    n = 0
    for cid in ALERT_CHANNELS:
        for root in slack.messages(cid):
            if root.reply_count and any(
                m.user == slack.bot_user_id for m in slack.thread(cid, root.ts)[1:]
            ):
                n += 1
    return n


async def main_async() -> dict:
    from bot.demo.runner import paced_script
    from bot.demo.stack import ServedStack
    from bot.devstack import CHANNELS

    attachments = [alert_message(k) for k in range(FINGERPRINTS)]
    chans = list(ALERT_CHANNELS)
    with tempfile.TemporaryDirectory(prefix="tarsy-bench-storm-") as tmp:
        async with ServedStack(
            tmp,
            channels={**CHANNELS, **ALERT_CHANNELS},
            rate_limits=True,
            script=paced_script(1000),
            slack_overrides={"edit_interval_s": 1.5, "alert_channels": chans},
        ) as st:
            assert st.serve is not None
            rss: list[int] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_rss(st.serve.pid, stop, rss))
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            lag = 0.0
            for i in range(MESSAGES):
                due = t0 + i * DURATION_S / MESSAGES
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                else:
                    lag = max(lag, loop.time() - due)
                k = i % FINGERPRINTS
                await st.slack.post_message(
                    chans[k % len(chans)],
                    bot_id="B0ALERTMGR",
                    username="Alertmanager",
                    attachments=[copy.deepcopy(attachments[k])],
                )
            post_s = loop.time() - t0
            deadline = time.monotonic() + 120
            counts = await db_counts(st.db_url)
            threads = threads_with_tarsy(st.slack)
            while (counts[2] < MESSAGES or threads < FINGERPRINTS) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)  # noqa: ASYNC110 - polling two outside systems
                counts = await db_counts(st.db_url)
                threads = threads_with_tarsy(st.slack)
            settle_s = loop.time() - t0
            stop.set()
            await sampler
            acked = [d for d in st.slack.delivered("events_api") if d.acked]
            gave_up = [d for d in st.slack.delivered("events_api") if d.gave_up]
    sessions, occurrences, alert_rows = counts
    peak = max(rss) / MB if rss else 0.0
    duplicates = occurrences - sessions
    return {
        "benchmark": "storm",
        "messages_posted": MESSAGES,
        "posting_s": round(post_s, 1),
        "poster_lag_ms_max": round(lag * 1000, 1),
        "fingerprints": FINGERPRINTS,
        "alert_channels": len(ALERT_CHANNELS),
        "investigations": sessions,
        "threads": threads,
        "occurrences_recorded": duplicates,
        "alert_rows_stored": alert_rows,
        "lost": MESSAGES - alert_rows,
        "events_acked": len(acked),
        "events_given_up": len(gave_up),
        "all_stored_after_s": round(settle_s, 1),
        "peak_rss_mb": round(peak, 1),
        "targets": {
            "investigations": FINGERPRINTS,
            "occurrences": MESSAGES - FINGERPRINTS,
            "lost": 0,
            "peak_rss_mb": TARGET_RSS_MB,
        },
        "meets_target": sessions == FINGERPRINTS
        and threads == FINGERPRINTS
        and duplicates == MESSAGES - FINGERPRINTS
        and alert_rows == MESSAGES
        and peak <= TARGET_RSS_MB,
    }


def main() -> int:
    from benchmarks._common import print_report

    return print_report(main_async(), quiet_server_log=True)


if __name__ == "__main__":
    sys.exit(main())
