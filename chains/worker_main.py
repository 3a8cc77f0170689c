"""A standalone queue worker process: `python -m chains.worker_main --config-dir DIR
[--database-url URL] [--owner-id ID]`. Runs until SIGTERM/SIGINT (then hands its sessions
back to the queue). Several of these may share one PostgreSQL database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chains.worker_main", description=__doc__)
    p.add_argument("--config-dir", default="config")
    p.add_argument("--database-url", default=None)
    p.add_argument("--owner-id", default=None, help="lease owner id (default host:pid:random)")
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


async def amain(args: argparse.Namespace) -> int:
    from chains.service import open_pipeline
    from config.loader import load_config

    cfg = load_config(args.config_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_pipeline(cfg, database_url_=args.database_url, owner_id=args.owner_id) as p:
        await p.worker.start()
        print(f"worker {p.worker.owner_id} ready", flush=True)
        await stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
