"""`tarsy-devkit slack`: run the Slack emulator until interrupted."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3333, help="port (0 picks a free one)")
    p.add_argument("--state", metavar="FILE", help="load state from FILE if present; save on exit")
    p.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    p.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="ID=NAME",
        help="pre-create a channel (repeatable); default C0ALERTS01=alerts C0OPS00001=ops",
    )
    p.add_argument("--signing-secret", default="devkit-signing-secret")
    p.add_argument("--request-url", help="deliver events as signed HTTP POSTs to this URL")
    p.add_argument("--ack-timeout", type=float, default=3.0)


def _channels(specs: list[str]) -> dict[str, str]:
    if not specs:
        return {"C0ALERTS01": "alerts", "C0OPS00001": "ops"}
    out = {}
    for spec in specs:
        cid, sep, name = spec.partition("=")
        if not sep or not cid or not name:
            raise SystemExit(f"--channel {spec!r}: expected ID=NAME, e.g. C0ALERTS01=alerts")
        out[cid] = name
    return out


def run(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import signal

    from devkit.slack import SlackEmulator

    async def main() -> None:
        slack = SlackEmulator(
            port=args.port,
            host=args.host,
            channels=_channels(args.channel),
            rate_limits=not args.no_rate_limits,
            ack_timeout=args.ack_timeout,
            signing_secret=args.signing_secret,
            state_file=args.state,
        )
        try:
            await slack.start()
        except OSError as exc:
            raise SystemExit(
                f"Slack emulator: cannot listen on {args.host}:{args.port} ({exc}); "
                "pick another --port or use --port 0"
            ) from exc
        if args.request_url:
            slack.set_request_url(args.request_url)
        print(json.dumps(slack.info()), flush=True)
        print(f"Slack emulator ready: SLACK_API_URL={slack.api_url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await slack.stop()

    asyncio.run(main())
    return 0
