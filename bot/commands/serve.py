"""`tarsy serve`: the Slack app, webhooks, health/metrics and the investigation workers."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir", default="config", help="directory with tarsy.yaml and agents.yaml"
    )
    parser.add_argument("--host", default=None, help="HTTP listen address (default: http.host)")
    parser.add_argument(
        "--port", type=int, default=None, help="HTTP port (default: http.port; 0 = any free port)"
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from config.issues import ConfigError
    from config.loader import load_config, validate_for_serve

    try:
        cfg = load_config(args.config_dir)
    except ConfigError as e:
        print(f"tarsy serve: invalid configuration in {args.config_dir}:\n{e}", file=sys.stderr)
        return 2
    problems = validate_for_serve(cfg)
    if problems:
        print("tarsy serve: cannot start:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=cfg.settings.logging.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from bot.app import TarsyApp

    app = TarsyApp(cfg, host=args.host, port=args.port)
    try:
        asyncio.run(app.run_until_signal())
    except KeyboardInterrupt:
        pass
    except RuntimeError as e:
        print(f"tarsy serve: {e}", file=sys.stderr)
        return 1
    return 0
