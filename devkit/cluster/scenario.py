"""Scenario files: a small, self-consistent fake cluster described in YAML.

Keys (see ``devkit/scenarios/checkout-oom.yaml``): ``name``, ``cluster``, ``now``,
``namespaces``, ``deployments``, ``pods``, ``events``, ``logs`` (``ns/pod/container`` -> text),
``secrets``, ``metrics`` (PromQL-ish key -> ordered samples), optional ``configmaps``, ``nodes``,
``services`` and ``big_logs`` (``ns/pod/container`` -> ``{size_bytes, include_line, position}``:
a generated log of that size that still contains ``include_line``).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

_LIST_KEYS = ("deployments", "pods", "events", "secrets", "configmaps", "nodes", "services")
_MAP_KEYS = ("logs", "metrics", "big_logs")


class ScenarioError(ValueError):
    """The scenario file is malformed; the message names the file and key."""


@dataclass
class Scenario:
    name: str
    cluster: str
    now: datetime
    namespaces: list[str]
    deployments: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    secrets: list[dict[str, Any]] = field(default_factory=list)
    configmaps: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    big_logs: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return next(
            (p for p in self.pods if p["namespace"] == namespace and p["name"] == name), None
        )

    def find(self, items: list[dict[str, Any]], namespace: str | None, name: str) -> dict | None:
        return next(
            (
                i
                for i in items
                if i.get("name") == name and (namespace is None or i.get("namespace") == namespace)
            ),
            None,
        )

    def log_keys(self, namespace: str, pod: str) -> list[str]:
        prefix = f"{namespace}/{pod}/"
        keys = [k for k in list(self.logs) + list(self.big_logs) if k.startswith(prefix)]
        return list(dict.fromkeys(keys))

    def log_text(self, key: str) -> str:
        """A container's log; big logs are generated on first use and cached."""
        if key in self.big_logs:
            cached = self.big_logs[key].get("_text")
            if cached is None:
                cached = generate_big_log(self.big_logs[key], self.logs.get(key, ""), self.now)
                self.big_logs[key]["_text"] = cached
            return cached
        return self.logs.get(key, "")


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


_FILLER = [
    "INFO  o.a.c.c.C.[Tomcat].[localhost].[/] request handled method=POST path=/api/v1/cart/{id} "
    "status=200 duration_ms={ms}",
    "INFO  c.a.p.checkout.CartService cart {id} priced items=3 total_cents={ms}0 currency=EUR",
    "DEBUG c.a.p.checkout.PaymentClient call psp=adyen op=authorize attempt=1 latency_ms={ms}",
    "INFO  c.a.p.checkout.OrderService order {id} created state=PENDING_PAYMENT",
    "WARN  c.a.p.checkout.InventoryClient slow response from inventory-svc latency_ms={ms}",
    "INFO  com.zaxxer.hikari.pool.HikariPool HikariPool-1 - stats total=10 active=4 idle=6",
]


def generate_big_log(spec: dict[str, Any], tail: str, now: datetime) -> str:
    """Deterministic filler log of ``size_bytes`` that still contains ``include_line``.

    ``position``: ``end`` (default: the line sits right before the container died), ``middle``
    or ``start``. Any regular ``logs`` text for the same container is kept at the very end.
    """
    size = int(spec.get("size_bytes", 1_000_000))
    include = str(spec.get("include_line", "")).rstrip("\n")
    position = spec.get("position", "end")
    rng = random.Random(size)
    tail = tail if tail.endswith("\n") or not tail else tail + "\n"
    special = include + "\n" if include and include not in tail else ""
    budget = max(0, size - len(tail) - len(special))
    lines: list[str] = []
    used = 0
    t = now - timedelta(hours=1)
    while used < budget:
        t += timedelta(milliseconds=rng.randint(3, 40))
        template = _FILLER[rng.randrange(len(_FILLER))]
        text = template.replace("{id}", f"{rng.getrandbits(40):010x}").replace(
            "{ms}", str(rng.randint(2, 900))
        )
        line = f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z {text}\n"
        lines.append(line)
        used += len(line)
    if position == "start":
        return special + "".join(lines) + tail
    if position == "middle":
        mid = len(lines) // 2
        return "".join(lines[:mid]) + special + "".join(lines[mid:]) + tail
    return "".join(lines) + special + tail


def _require(data: dict[str, Any], key: str, kind: type, origin: str) -> Any:
    if key not in data:
        raise ScenarioError(f"{origin}: missing required key '{key}'")
    if not isinstance(data[key], kind):
        raise ScenarioError(f"{origin}: '{key}' must be a {kind.__name__}")
    return data[key]


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario YAML file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScenarioError(
            f"scenario file {p} does not exist (bundled ones are in devkit/scenarios/)"
        ) from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario file {p} is not valid YAML: {exc}") from exc
    origin = str(p)
    if not isinstance(data, dict):
        raise ScenarioError(f"{origin}: top level must be a mapping")
    _require(data, "name", str, origin)
    _require(data, "pods", list, origin)
    for key in _LIST_KEYS:
        if not isinstance(data.get(key) or [], list):
            raise ScenarioError(f"{origin}: '{key}' must be a list")
    for key in _MAP_KEYS:
        if not isinstance(data.get(key) or {}, dict):
            raise ScenarioError(f"{origin}: '{key}' must be a mapping")
    for key in ("pods", "deployments", "secrets", "configmaps", "services"):
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, dict) or "name" not in item or "namespace" not in item:
                raise ScenarioError(f"{origin}: {key}[{i}] needs 'namespace' and 'name'")
    try:
        now = parse_time(data.get("now", "2026-12-04T15:00:00Z"))
    except ValueError as exc:
        raise ScenarioError(
            f"{origin}: 'now' is not an ISO timestamp: {data.get('now')!r}"
        ) from exc
    namespaces = data.get("namespaces") or sorted({p["namespace"] for p in data["pods"]})
    return Scenario(
        name=data["name"],
        cluster=str(data.get("cluster", "demo")),
        now=now,
        namespaces=[str(n) for n in namespaces],
        deployments=data.get("deployments") or [],
        pods=data["pods"],
        events=data.get("events") or [],
        logs={str(k): str(v) for k, v in (data.get("logs") or {}).items()},
        secrets=data.get("secrets") or [],
        configmaps=data.get("configmaps") or [],
        nodes=data.get("nodes") or [],
        services=data.get("services") or [],
        metrics=data.get("metrics") or {},
        big_logs={str(k): dict(v) for k, v in (data.get("big_logs") or {}).items()},
        source=origin,
        raw=data,
    )
