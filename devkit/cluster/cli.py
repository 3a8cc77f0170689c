"""``tarsy-devkit cluster``: serve a demo cluster scenario over MCP (stdio, HTTP or SSE)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default="checkout-oom",
        help="scenario YAML path, or the name of a bundled one (default: checkout-oom)",
    )
    network = parser.add_mutually_exclusive_group()
    network.add_argument(
        "--http",
        type=int,
        metavar="PORT",
        help="serve streamable HTTP on 127.0.0.1:PORT/mcp (0 = any free port) instead of stdio",
    )
    network.add_argument(
        "--sse",
        type=int,
        metavar="PORT",
        help="serve the legacy SSE transport on 127.0.0.1:PORT/sse (0 = any free port)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface for --http / --sse")
    parser.add_argument("--record", help="append one JSON line per tool call to this file")
    parser.add_argument(
        "--record-headers",
        metavar="FILE",
        help="with --http/--sse: append one JSON line per HTTP request "
        "({method, path, headers}) to this file",
    )


def resolve_scenario(value: str) -> str:
    """A path, or a bundled scenario name like ``checkout-oom``."""
    from pathlib import Path

    from devkit import scenarios_dir

    if Path(value).exists():
        return value
    bundled = scenarios_dir() / (value if value.endswith(".yaml") else value + ".yaml")
    return str(bundled) if bundled.exists() else value


def run(args: argparse.Namespace) -> int:
    from devkit.cluster.scenario import ScenarioError
    from devkit.cluster.server import build_server

    try:
        server = build_server(resolve_scenario(args.scenario), record_path=args.record)
    except ScenarioError as exc:
        print(f"tarsy-devkit cluster: {exc}", file=sys.stderr)
        return 2
    if args.http is not None:
        app = server.streamable_http_app(host=args.host)
        return _serve(app, args.host, args.http, "/mcp", args.record_headers)
    if args.sse is not None:
        app = _drop_late_sends(server.sse_app(host=args.host))
        return _serve(app, args.host, args.sse, "/sse", args.record_headers)
    server.run("stdio")
    return 0


def _record_headers(app: Any, path: str) -> Any:
    """ASGI wrapper that appends each HTTP request's method, path and headers to `path`."""
    import json

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            line = {"method": scope.get("method"), "path": scope.get("path"), "headers": headers}
            # a tiny local append per request (a dev tool); blocking briefly is fine here
            with open(path, "a", encoding="utf-8") as fh:  # noqa: ASYNC230
                fh.write(json.dumps(line) + "\n")
        await app(scope, receive, send)

    return wrapped


def _drop_late_sends(app: Any) -> Any:
    """The SDK's SSE route answers with an extra empty response after the event stream has
    ended (client gone, or shutdown), which uvicorn logs as an ASGI error; drop it."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return
        started = dropping = False

        async def guarded(message: dict[str, Any]) -> None:
            nonlocal started, dropping
            if message["type"] == "http.response.start":
                dropping = started
                started = True
            if not dropping:
                await send(message)

        await app(scope, receive, guarded)

    return wrapped


def _serve(app: Any, host: str, port: int, url_path: str, headers_file: str | None) -> int:
    import asyncio
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        print(f"tarsy-devkit cluster: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    sock.listen(128)  # listen before announcing: clients may connect as soon as they read the URL
    bound = sock.getsockname()[1]
    if headers_file:
        app = _record_headers(app, headers_file)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    print(f"devkit cluster MCP listening on http://{host}:{bound}{url_path}", flush=True)
    try:
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    return 0
