"""`tarsy demo` - the whole product offline: emulated Slack, scripted Gemini, demo cluster.

Starts the devkit stand-ins, runs the real `tarsy serve` against them, posts an Alertmanager
alert into #alerts, prints the Slack thread live, asks a follow-up question, and ends with
where the audit trail is. Exit codes: 0 done, 1 the demo failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--llm",
        choices=["scripted", "gemini"],
        default="scripted",
        help="scripted: offline Gemini stand-in (default); gemini: the real Gemini API "
        "(needs GOOGLE_API_KEY), Slack and the cluster stay emulated",
    )
    parser.add_argument(
        "--workdir",
        default=".tarsy",
        help="where the demo keeps its config, app log and SQLite audit trail "
        "(demo.db, reset on every run; default: ./.tarsy)",
    )
    parser.add_argument(
        "--slack-port",
        type=int,
        default=0,
        help="port for the Slack emulator on 127.0.0.1 (default 0: any free port)",
    )
    parser.add_argument(
        "--chunk-delay-ms",
        type=int,
        default=250,
        help="scripted model only: pause between streamed answer chunks, so the thread can "
        "be watched as it is written (0 = as fast as possible; default 250)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for each phase (default: 45 scripted, 300 with --llm gemini)",
    )


def run(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    from bot.demo.runner import DemoError, DemoOptions, main_sync

    logging.basicConfig(level=logging.WARNING)
    opts = DemoOptions(
        llm=args.llm,
        workdir=Path(args.workdir),
        slack_port=args.slack_port,
        timeout_s=args.timeout,
        chunk_delay_ms=max(0, args.chunk_delay_ms),
    )
    try:
        result = main_sync(opts, sys.stdout)
    except DemoError as e:
        print(f"\ntarsy demo: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ntarsy demo: interrupted", file=sys.stderr)
        return 1
    if result.status != "completed":
        print(
            f"tarsy demo: the investigation ended as {result.status!r}; see "
            f"`tarsy sessions show {result.session_id} --database-url {result.db_url}`",
            file=sys.stderr,
        )
        return 1
    return 0
