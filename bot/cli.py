"""`tarsy` command line: one sub-command module per job, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module exposing `add_arguments(parser)` and `run(args) -> int`
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("bot.commands.serve", "run the Slack app, webhooks and workers"),
    "investigate": ("bot.commands.investigate", "investigate one alert in the terminal"),
    "sessions": ("bot.commands.sessions", "list and show stored investigations"),
    "config": ("bot.commands.config_cmd", "validate and print the effective configuration"),
    "db": ("bot.commands.db", "database migrations"),
    "demo": ("bot.commands.demo", "offline demo against the devkit stand-ins"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tarsy", description="TARSy - SRE companion for Slack")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subs.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            sub.set_defaults(_missing=True)
            continue
        module.add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if getattr(args, "_missing", False):
        print(f"tarsy {args.command}: not available in this build", file=sys.stderr)
        return 2
    module = importlib.import_module(args._module)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
