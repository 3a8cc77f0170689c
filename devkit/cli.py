"""`tarsy-devkit`: run local stand-ins (Slack, Gemini, demo cluster) for development and demos.

Each sub-command is a module exposing `add_arguments(parser)` and `run(args) -> int`; heavy
imports stay inside `run()` so `--help` is fast. Missing modules are skipped.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "slack": ("devkit.slack.cli", "Slack Web API + Socket Mode emulator"),
    "gemini": ("devkit.gemini.cli", "Gemini REST stand-in (scripted / replay)"),
    "cluster": ("devkit.cluster.cli", "demo MCP server: a small fake Kubernetes cluster"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tarsy-devkit", description=__doc__.splitlines()[0])
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        p = subs.add_parser(name, help=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    return int(args._module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
