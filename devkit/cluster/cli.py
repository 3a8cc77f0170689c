"""``tarsy-devkit cluster``: serve a demo cluster scenario over MCP (stdio or streamable HTTP)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default="checkout-oom",
        help="scenario YAML path, or the name of a bundled one (default: checkout-oom)",
    )
    parser.add_argument(
        "--http",
        type=int,
        metavar="PORT",
        help="serve streamable HTTP on 127.0.0.1:PORT/mcp (0 = any free port) instead of stdio",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface for --http")
    parser.add_argument("--record", help="append one JSON line per tool call to this file")


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
    if args.http is None:
        server.run("stdio")
        return 0
    return _serve_http(server, args.host, args.http)


def _serve_http(server, host: str, port: int) -> int:  # noqa: ANN001
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
    app = server.streamable_http_app(host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    print(f"devkit cluster MCP listening on http://{host}:{bound}/mcp", flush=True)
    try:
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    return 0
