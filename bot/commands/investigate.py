"""`tarsy investigate FILE|-` - investigate one alert payload in the terminal.

Any supported payload (Alertmanager, Grafana, PagerDuty, TARSy generic JSON) is parsed, stored,
and investigated by the configured chain with live progress; the recommendation is printed at
the end. Exit codes: 0 done, 1 the investigation failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE|-", help="alert payload (JSON); '-' reads stdin")
    parser.add_argument(
        "--config-dir",
        default="config",
        help="directory with tarsy.yaml and "
        "agents.yaml (default: ./config, else the shipped defaults)",
    )
    parser.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="json: print a machine-readable result (progress goes to stderr)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="database for the audit trail (default: database.url from the "
        "config, which $DATABASE_URL overrides)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live progress")


class BadInput(Exception):
    """Exit code 2: the message names the problem."""


def read_payload(name: str):  # noqa: ANN201 - JSON value
    import json

    if name == "-":
        text, where = sys.stdin.read(), "stdin"
    else:
        try:
            with open(name, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise BadInput(f"cannot read {name}: {e.strerror}") from None
        where = name
    if not text.strip():
        raise BadInput(f"{where} is empty: expected an alert payload (JSON)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(
            f"{where} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None


def parse_alerts(payload) -> list:  # noqa: ANN001
    from bot.parsers.errors import PayloadError
    from bot.parsers.webhooks import detect_and_parse

    try:
        alerts = detect_and_parse(payload)
    except PayloadError as e:
        raise BadInput(f"not an alert payload TARSy understands: {e}") from None
    if not alerts:
        raise BadInput("the payload contains no alerts")
    for a in alerts:
        a.source = a.source or "cli"
    return alerts


def run(args: argparse.Namespace) -> int:
    import asyncio

    from config.issues import ConfigError
    from storage.engine import DatabaseUrlError

    try:
        alerts = parse_alerts(read_payload(args.file))
        from config.loader import load_config

        cfg = load_config(args.config_dir)
    except BadInput as e:
        print(f"tarsy investigate: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"tarsy investigate: invalid configuration:\n{e}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_investigate(args, cfg, alerts))
    except DatabaseUrlError as e:
        print(f"tarsy investigate: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tarsy investigate: interrupted", file=sys.stderr)
        return 1


async def _investigate(args: argparse.Namespace, cfg, alerts: list) -> int:  # noqa: ANN001
    import json

    from chains.followups import rerun
    from chains.intake import intake
    from chains.service import open_pipeline
    from chains.terminal import TerminalPresenter, render_outcome
    from storage.models import ACTIVE_STATUSES
    from storage.repositories.sessions import get_session
    from storage.repositories.stages import completed_stages, list_stages

    as_json = args.format == "json"
    out = sys.stdout
    progress = sys.stderr if as_json else sys.stdout
    async with open_pipeline(cfg, database_url_=args.database_url, scheduler=False) as p:
        mine: set[str] = set()
        if not args.quiet:
            presenter = TerminalPresenter(progress)

            async def show(event) -> None:  # noqa: ANN001
                if event.ctx.session_id in mine:
                    presenter.handle(event)

            p.bus.add_sink(show, name="terminal")
        ids: list[str] = []
        for alert in alerts:
            r = await intake(p.db, alert, cfg, p.masker, emit=p.bus.emit)
            sid = r.session_id
            if sid is None:
                print(
                    f"tarsy investigate: '{alert.title}' is a resolved notification and no "
                    "open incident matches it; nothing to investigate",
                    file=sys.stderr,
                )
                continue
            if not r.created:
                s = await get_session(p.db, sid)
                if s.status not in ACTIVE_STATUSES:
                    print(f"(seen before as session {sid}; investigating again)", file=progress)
                    sid = await rerun(p.db, sid, by="cli")
            mine.add(sid)
            ids.append(sid)
        if not ids:
            return 0
        await p.worker.run_until_idle(session_ids=ids)
        await p.bus.drain()
        await p.recorder.flush()
        results = []
        worst = 0
        for sid in ids:
            s = await get_session(p.db, sid)
            done = await completed_stages(p.db, sid)
            stages = await list_stages(p.db, sid)
            if s.status != "completed":
                worst = 1
            res = s.result or {}
            item = {
                "session_id": sid,
                "status": s.status,
                "chain": s.chain_name,
                "title": s.alert_title,
                "stages": [
                    {
                        "index": st.index,
                        "name": st.name,
                        "status": st.status,
                        "attempt": st.attempt,
                        "error": st.error,
                        "likely_cause": (st.result or {}).get("likely_cause", ""),
                        "confidence": (st.result or {}).get("confidence", "unknown"),
                    }
                    for st in stages
                ],
                "completed_stages": sorted(done),
                "likely_cause": res.get("likely_cause", ""),
                "confidence": res.get("confidence", "unknown"),
                "next_steps": res.get("next_steps", []),
                "executive_summary": s.executive_summary or "",
                "final_text": s.final_text or "",
                "tokens": {
                    "input": s.input_tokens,
                    "output": s.output_tokens,
                    "thinking": s.thinking_tokens,
                },
                "duration_s": _duration(s),
                "error": s.error,
            }
            results.append(item)
            if not as_json:
                print(
                    render_outcome(
                        s.status,
                        likely_cause=item["likely_cause"],
                        confidence=item["confidence"],
                        next_steps=item["next_steps"],
                        executive_summary=item["executive_summary"],
                        final_text=item["final_text"],
                        error=s.error,
                        session_id=sid,
                        input_tokens=s.input_tokens,
                        output_tokens=s.output_tokens,
                        duration_s=item["duration_s"],
                    ),
                    file=out,
                )
        if as_json:
            json.dump(results[0] if len(results) == 1 else results, out, indent=2)
            out.write("\n")
        return worst


def _duration(s) -> float:  # noqa: ANN001
    if s.started_at and s.finished_at:
        return round((s.finished_at - s.started_at).total_seconds(), 2)
    return 0.0
