"""Shared by the benchmark scripts (each runs as `python benchmarks/<name>.py`)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any


def print_report(report: Coroutine[Any, Any, dict], *, quiet_server_log: bool = False) -> int:
    """Run the benchmark coroutine and print its result as one JSON object; exit code 0.

    `quiet_server_log`: silence aiohttp's server log. The devkit stand-ins log requests the
    app cut short at shutdown; that is not a finding for the benchmark.
    """
    if quiet_server_log:
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    print(json.dumps(asyncio.run(report), indent=2))
    return 0
