"""`tarsy sessions list|show` - stored investigations and their full timeline."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

_REL = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=None,
        help="default: $DATABASE_URL, else database.url from --config-dir",
    )
    common.add_argument("--config-dir", default="config")
    common.add_argument("--format", choices=["text", "json"], default="text")
    ls = subs.add_parser("list", parents=[common], help="list investigations, newest first")
    ls.add_argument(
        "--status",
        action="append",
        help="queued|running|completed|failed|cancelled|timed_out (repeatable)",
    )
    ls.add_argument("--since", help="e.g. 2h, 30m, 7d, or an ISO time (2026-12-04T14:00:00Z)")
    ls.add_argument("--limit", type=int, default=50)
    show = subs.add_parser("show", parents=[common], help="one investigation's timeline")
    show.add_argument("id", help="session id (or a unique prefix)")


def parse_since(value: str, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    m = _REL.match(value.strip())
    if m:
        return now - timedelta(seconds=float(m[1]) * _UNITS[m[2]])
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {value!r}: use a duration like 2h, 30m, 7d or an ISO time "
            "like 2026-12-04T14:00:00Z"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _database_url(args: argparse.Namespace) -> str:
    import os

    if args.database_url or os.environ.get("DATABASE_URL"):
        return args.database_url or os.environ["DATABASE_URL"]
    try:
        from config.loader import load_config

        return load_config(args.config_dir).settings.database.url
    except Exception:  # noqa: BLE001 - no usable config: the documented default
        from storage.engine import DEFAULT_DATABASE_URL

        return DEFAULT_DATABASE_URL


def run(args: argparse.Namespace) -> int:
    import asyncio

    from storage.engine import DatabaseUrlError

    try:
        since = parse_since(args.since) if getattr(args, "since", None) else None
        return asyncio.run(_run(args, since))
    except (ValueError, DatabaseUrlError, LookupError) as e:
        print(f"tarsy sessions {args.action}: {e}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, since: datetime | None) -> int:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from storage.engine import Database

    db = Database(_database_url(args))
    try:
        if args.action == "list":
            return await _list(db, args, since)
        return await _show(db, args)
    except (OperationalError, ProgrammingError) as e:
        raise LookupError(
            f"cannot read sessions from {db.describe()}: "
            f"{str(e.orig).splitlines()[0]} (run `tarsy db upgrade` first?)"
        ) from None
    finally:
        await db.close()


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _row(obj, fields: str, **times: str) -> dict:  # noqa: ANN001
    """`{name: obj.name}` for each name in `fields`, then `{key: iso(obj.attr)}` for `times`.

    Key order is the order given (it is the order of `tarsy sessions show --format json`).
    """
    row = {name: getattr(obj, name) for name in fields.split()}
    row.update({key: _iso(getattr(obj, attr)) for key, attr in times.items()})
    return row


def _session_dict(s) -> dict:  # noqa: ANN001
    return {
        "id": s.id,
        "status": s.status,
        "title": s.alert_title,
        "kind": s.alert_kind,
        "severity": s.alert_severity,
        "source": s.alert_source,
        "chain": s.chain_name,
        "occurrences": s.occurrences,
        "attempts": s.attempts,
        "created_at": _iso(s.created_at),
        "started_at": _iso(s.started_at),
        "finished_at": _iso(s.finished_at),
        "resolved_at": _iso(s.resolved_at),
        "tokens": {"input": s.input_tokens, "output": s.output_tokens},
        "error": s.error,
    }


async def _list(db, args, since) -> int:  # noqa: ANN001
    import json

    from storage.repositories.sessions import list_sessions

    rows = await list_sessions(db, status=args.status, since=since, limit=args.limit)
    if args.format == "json":
        print(json.dumps([_session_dict(s) for s in rows], indent=2))
        return 0
    if not rows:
        print("no sessions")
        return 0
    print(f"{'ID':<12} {'STATUS':<10} {'SEV':<9} {'CREATED (UTC)':<19} {'SEEN':>4}  TITLE")
    for s in rows:
        created = s.created_at.strftime("%Y-%m-%d %H:%M:%S") if s.created_at else ""
        print(
            f"{s.id[:12]:<12} {s.status:<10} {s.alert_severity:<9} {created:<19} "
            f"{s.occurrences:>4}  {s.alert_title[:70]}"
        )
    return 0


async def _show(db, args) -> int:  # noqa: ANN001
    import json

    from storage.repositories.sessions import resolve_session_id
    from storage.repositories.timeline import get_timeline

    sid = await resolve_session_id(db, args.id)
    if sid is None:
        raise LookupError(
            f"no session matches '{args.id}' (unknown or ambiguous id; see `tarsy sessions list`)"
        )
    tl = await get_timeline(db, sid)
    data = timeline_dict(tl)
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(render_timeline(data))
    return 0


def timeline_dict(tl) -> dict:  # noqa: ANN001
    s = tl.session
    return {
        "session": {
            **_session_dict(s),
            "final_text": s.final_text,
            "executive_summary": s.executive_summary,
            "result": s.result,
            "chain_snapshot": s.chain_snapshot,
        },
        "alerts": [
            _row(a, "id status source title labels", received_at="received_at") for a in tl.alerts
        ],
        "stages": [
            {
                **_row(
                    st,
                    "id index name agents status attempt error result",
                    started_at="started_at",
                    finished_at="finished_at",
                ),
                "tokens": {"input": st.input_tokens, "output": st.output_tokens},
            }
            for st in tl.stages
        ],
        "llm_interactions": [
            _row(
                x,
                "id stage_id followup_id agent provider model purpose iteration input_tokens"
                " output_tokens latency_ms error function_calls response_text",
                at="created_at",
            )
            for x in tl.llm_interactions
        ],
        "tool_calls": [
            _row(
                t,
                "id stage_id followup_id server tool arguments duration_ms error denied"
                " summarized result",
                at="created_at",
            )
            for t in tl.tool_calls
        ],
        "events": [_row(e, "type message stage_id", at="at") for e in tl.events],
        "followups": [
            _row(f, "id question asked_by status answer error", asked_at="asked_at")
            for f in tl.followups
        ],
        "feedback": [_row(f, "user value comment", at="at") for f in tl.feedback],
    }


def render_timeline(d: dict) -> str:
    s = d["session"]
    lines = [
        f"Session {s['id']}  [{s['status']}]  {s['severity']}  {s['title']}",
        f"chain {s['chain']} · seen {s['occurrences']}× · attempts {s['attempts']} · "
        f"tokens in {s['tokens']['input']} / out {s['tokens']['output']}",
    ]
    if s["error"]:
        lines.append(f"error: {s['error']}")
    stage_names = {st["id"]: f"{st['index'] + 1}:{st['name']}" for st in d["stages"]}
    items: list[tuple[str, str]] = []
    for e in d["events"]:
        items.append((e["at"] or "", f"{e['type']}: {e['message']}"))
    for st in d["stages"]:
        items.append(
            (
                st["started_at"] or "",
                f"▶ stage {st['index'] + 1} {st['name']} "
                f"(attempt {st['attempt']}) -> {st['status']}"
                + (f": {st['error']}" if st["error"] else ""),
            )
        )
    for x in d["llm_interactions"]:
        where = stage_names.get(x["stage_id"], "follow-up" if x["followup_id"] else "-")
        items.append(
            (
                x["at"] or "",
                f"  LLM {x['purpose']} [{where}] {x['model']} in "
                f"{x['input_tokens']} out {x['output_tokens']} "
                f"{(x['latency_ms'] or 0):.0f} ms" + (f" ERROR {x['error']}" if x["error"] else ""),
            )
        )
    for t in d["tool_calls"]:
        where = stage_names.get(t["stage_id"], "follow-up" if t["followup_id"] else "-")
        args = " ".join(f"{k}={v}" for k, v in (t["arguments"] or {}).items())
        flag = " DENIED" if t["denied"] else (f" ERROR {t['error']}" if t["error"] else "")
        items.append(
            (
                t["at"] or "",
                f"  tool [{where}] {t['tool']} {args[:80]} {(t['duration_ms'] or 0):.0f} ms{flag}",
            )
        )
    for f in d["followups"]:
        items.append((f["asked_at"] or "", f"? {f['question']} -> {f['status']}"))
    lines.append("")
    lines += [f"{at[11:23]}  {text}" for at, text in sorted(items, key=lambda i: i[0])]
    if s["final_text"]:
        lines += ["", "Final recommendation:", s["final_text"]]
    if s["executive_summary"]:
        lines += ["", "Executive summary:", s["executive_summary"]]
    for f in d["followups"]:
        if f["answer"]:
            lines += ["", f"Q: {f['question']}", f"A: {f['answer']}"]
    return "\n".join(lines)
