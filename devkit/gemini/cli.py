"""``tarsy-devkit gemini``: run the scripted Gemini server until interrupted."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8089, help="TCP port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--script", help="YAML script of scripted turns (see devkit/scripts/)")
    parser.add_argument("--replay", help="answer from a recorded requests log, in order")
    parser.add_argument("--record", help="write the requests log (JSON) here after every request")
    parser.add_argument(
        "--no-key-check", action="store_true", help="accept requests without an API key"
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from devkit.gemini.script import ScriptError
    from devkit.gemini.server import GeminiServer

    async def serve() -> None:
        server = GeminiServer(
            script=args.script,
            port=args.port,
            host=args.host,
            replay=args.replay,
            record_path=args.record,
            require_api_key=not args.no_key_check,
        )
        await server.start()
        print(f"devkit gemini listening on {server.base_url}", flush=True)
        print(f"  export GOOGLE_GEMINI_BASE_URL={server.base_url}", flush=True)
        print(f"  OpenAI-compatible base URL: {server.base_url}/v1", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(serve())
    except ScriptError as exc:
        print(f"tarsy-devkit gemini: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"tarsy-devkit gemini: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
