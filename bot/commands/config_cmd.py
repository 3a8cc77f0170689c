"""`tarsy config check`: validate the configuration and print it with secrets redacted."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", nargs="?", choices=["check"], default="check", help="check (default)"
    )
    parser.add_argument(
        "--config-dir",
        default="config",
        help="directory with tarsy.yaml and agents.yaml (default: ./config)",
    )
    parser.add_argument(
        "--format", choices=["yaml", "json"], default="yaml", help="output format (default: yaml)"
    )


def run(args: argparse.Namespace) -> int:
    import json
    import logging

    import yaml

    from config.issues import ConfigError
    from config.loader import load_config
    from config.redact import mask_url_password, redacted, secret_values

    # the loader reports notes (info) and warnings on this logger: show them on stderr
    log = logging.getLogger("tarsy.config")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname_lower)s: %(message)s"))
    handler.addFilter(_lower_level)
    log.addHandler(handler)
    previous = (log.level, log.propagate)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        cfg = load_config(args.config_dir)
    except ConfigError as e:
        print(mask_url_password(e.render()), file=sys.stderr)
        print(
            f"fix the lines above and run `tarsy config check --config-dir {args.config_dir}` "
            "again (reference: docs/configuration.md)",
            file=sys.stderr,
        )
        return 2
    finally:
        log.removeHandler(handler)
        log.setLevel(previous[0])
        log.propagate = previous[1]

    data = redacted(cfg)
    if args.format == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    for secret in secret_values(cfg):  # last line of defence: no secret reaches the terminal
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    sys.stdout.write(text)
    print(f"configuration OK ({cfg.config_dir})", file=sys.stderr)
    return 0


def _lower_level(record) -> bool:
    record.levelname_lower = record.levelname.lower()
    return True
