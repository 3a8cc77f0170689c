"""Cross-reference checks on raw data, for when schema errors stopped `AgentsConfig` from
running its own reference validator: the user still sees every unknown agent/chain/provider
in one pass instead of after fixing the first batch."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

from config.issues import KeyPath
from config.models import AgentsConfig, ReferenceErrors


def reference_errors(data: Any) -> list[tuple[KeyPath, str]]:
    """The `(key path, message)` pairs `AgentsConfig` would report, computed leniently."""
    if not isinstance(data, dict):
        return []
    check = AgentsConfig.__pydantic_decorators__.model_validators["_references_exist"].func
    try:
        check(_view(data))
    except ReferenceErrors as e:
        return list(e.errors)
    except (AttributeError, TypeError, KeyError):
        return []  # too broken to tell; the schema errors say why
    return []


def _map(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _names(v: Any) -> list[str]:
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _view(d: dict) -> NS:
    agents = {
        name: NS(llm_provider=_str(a.get("llm_provider")), mcp_servers=_names(a.get("mcp_servers")))
        for name, a in _map(d.get("agents")).items()
        if isinstance(a, dict)
    }
    servers = {
        name: NS(
            summarization=NS(provider=_str(_map(_map(s).get("summarization")).get("provider")))
        )
        for name, s in _map(d.get("mcp_servers")).items()
    }
    chains = {}
    for name, c in _map(d.get("chains")).items():
        c = _map(c)
        stages = [
            NS(
                agent=_str(s.get("agent")),
                agents=_names(s.get("agents")),
                synthesis_agent=_str(s.get("synthesis_agent")),
            )
            for s in map(_map, c.get("stages") if isinstance(c.get("stages"), list) else [])
        ]
        chat = _map(c.get("chat"))
        servers_for_chat = chat.get("mcp_servers")
        chains[name] = NS(
            stages=stages,
            chat=NS(
                agent=_str(chat.get("agent")),
                mcp_servers=_names(servers_for_chat) if servers_for_chat is not None else None,
            ),
        )
    routing = _map(d.get("routing"))
    raw_rules = routing.get("rules") if isinstance(routing.get("rules"), list) else []
    rules = [NS(chain=_map(r).get("chain")) for r in raw_rules]
    return NS(
        default_llm_provider=d.get("default_llm_provider"),
        llm_providers=_map(d.get("llm_providers")),
        mcp_servers=servers,
        agents=agents,
        chains=chains,
        routing=NS(default_chain=routing.get("default_chain"), rules=rules),
    )
