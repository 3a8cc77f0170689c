"""The demo cluster's answers, one method per MCP tool (plain strings, no MCP here)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from devkit.cluster import render
from devkit.cluster.render import NotFound
from devkit.cluster.scenario import Scenario

_KINDS = {
    "pod": "Pod",
    "pods": "Pod",
    "deployment": "Deployment",
    "deployments": "Deployment",
    "replicaset": "ReplicaSet",
    "replicasets": "ReplicaSet",
    "secret": "Secret",
    "secrets": "Secret",
    "configmap": "ConfigMap",
    "configmaps": "ConfigMap",
    "node": "Node",
    "nodes": "Node",
    "namespace": "Namespace",
    "namespaces": "Namespace",
    "event": "Event",
    "events": "Event",
    "service": "Service",
    "services": "Service",
}


class DemoCluster:
    """Read-only views over a :class:`Scenario`."""

    def __init__(self, scenario: Scenario) -> None:
        self.sc = scenario

    # ---- pods -------------------------------------------------------------------------
    def pods_list(self, namespace: str | None = None) -> str:
        return render.pods_table(self.sc, namespace)

    def pods_get(self, namespace: str, name: str) -> str:
        return render.to_yaml(render.pod_manifest(self.sc, self._pod(namespace, name)))

    def pods_log(
        self, namespace: str, name: str, container: str | None = None, tail: int | None = None
    ) -> str:
        pod = self._pod(namespace, name)
        keys = self.sc.log_keys(namespace, name)
        if container:
            key = f"{namespace}/{name}/{container}"
            if key not in keys and container != render.container_name(self.sc, pod):
                raise NotFound(
                    f"container {container} is not valid for pod {name}; "
                    f"valid: {render.container_name(self.sc, pod)}"
                )
        else:
            key = keys[0] if keys else ""
        text = self.sc.log_text(key) if key else ""
        if not text:
            return f"The pod {name} in namespace {namespace} has not logged any message yet"
        if tail and tail > 0:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:])
        return text

    def pods_top(self, namespace: str | None = None, name: str | None = None) -> str:
        return render.pods_top(self.sc, namespace, name)

    def _pod(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.sc.pod(namespace, name)
        if pod is None:
            raise NotFound(f'pods "{name}" not found in namespace "{namespace}"')
        return pod

    # ---- generic ----------------------------------------------------------------------
    def namespaces_list(self) -> str:
        rows = [[ns, "Active", "90d"] for ns in self.sc.namespaces]
        return render.table(["NAME", "STATUS", "AGE"], rows)

    def events_list(self, namespace: str | None = None) -> str:
        return render.events_table(self.sc, namespace)

    def _kind(self, kind: str) -> str:
        k = _KINDS.get(kind.strip().lower())
        if k is None:
            raise NotFound(
                f'the server doesn\'t have a resource type "{kind}" in this demo cluster '
                f"(known: {', '.join(sorted(set(_KINDS.values())))})"
            )
        return k

    def _objects(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        sc = self.sc

        def in_ns(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [i for i in items if namespace is None or i.get("namespace") == namespace]

        if kind == "Pod":
            return [render.pod_manifest(sc, p) for p in in_ns(sc.pods)]
        if kind == "Deployment":
            return [render.deployment_manifest(d) for d in in_ns(sc.deployments)]
        if kind == "ReplicaSet":
            return render.replicasets(sc, namespace)
        if kind == "Secret":
            return [render.secret_manifest(s) for s in in_ns(sc.secrets)]
        if kind == "ConfigMap":
            return [render.configmap_manifest(c) for c in in_ns(sc.configmaps)]
        if kind == "Node":
            return [render.node_manifest(n) for n in render.nodes(sc)]
        if kind == "Namespace":
            return [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                for n in sc.namespaces
            ]
        if kind == "Service":
            return [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": s["name"], "namespace": s["namespace"]},
                    "spec": {k: v for k, v in s.items() if k not in ("name", "namespace")},
                }
                for s in in_ns(sc.services)
            ]
        return []  # Event is rendered by events_list

    def resources_list(self, apiVersion: str, kind: str, namespace: str | None = None) -> str:  # noqa: N803
        k = self._kind(kind)
        if k == "Event":
            return self.events_list(namespace)
        if k == "Node":
            return render.table(
                ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
                [render.node_row(n, self.sc) for n in render.nodes(self.sc)],
            )
        if k == "Pod":
            return self.pods_list(namespace)
        objs = self._objects(k, namespace)
        rows = []
        for o in objs:
            meta = o["metadata"]
            extra = ""
            if k == "Secret":
                extra = f"{o.get('type', 'Opaque')}   DATA={len(o.get('data') or {})}"
            elif k == "Deployment":
                st = o["status"]
                extra = f"READY={st['readyReplicas']}/{st['replicas']}"
            elif k == "ReplicaSet":
                extra = (
                    f"REVISION={meta['annotations']['deployment.kubernetes.io/revision']}"
                    f"   DESIRED={o['spec']['replicas']}"
                )
            elif k == "ConfigMap":
                extra = f"DATA={len(o.get('data') or {})}"
            rows.append([meta.get("namespace", ""), meta["name"], extra])
        return render.table(["NAMESPACE", "NAME", "INFO"], rows)

    def resources_get(
        self,
        apiVersion: str,  # noqa: N803
        kind: str,
        name: str,
        namespace: str | None = None,
    ) -> str:
        k = self._kind(kind)
        if k == "Pod" and namespace:
            return self.pods_get(namespace, name)
        if k == "Event":
            raise NotFound("use events_list to read events")
        for obj in self._objects(k, namespace):
            if obj["metadata"]["name"] == name:
                return render.to_yaml(obj)
        where = f' in namespace "{namespace}"' if namespace else ""
        raise NotFound(f'{k.lower()}s "{name}" not found{where}')

    # ---- prometheus -------------------------------------------------------------------
    def prometheus_query(self, query: str) -> str:
        q = query.strip()
        if not q:
            raise ValueError("bad_data: empty query; pass a PromQL expression")
        wanted = _metric_name(q)
        hits = [
            (key, samples)
            for key, samples in self.sc.metrics.items()
            if key == q or (wanted and _metric_name(key) == wanted and _labels_compatible(q, key))
        ]
        result = []
        for key, samples in hits:
            values = list((samples or {}).items())
            step = timedelta(minutes=30)
            start = self.sc.now - step * (len(values) - 1)
            result.append(
                {
                    "metric": {"__name__": _metric_name(key), **_labels(key)},
                    "series": key,
                    "values": [
                        [int((start + step * i).timestamp()), str(v), label]
                        for i, (label, v) in enumerate(values)
                    ],
                }
            )
        payload = {
            "status": "success",
            "data": {"resultType": "matrix" if result else "vector", "result": result},
        }
        if not result:
            payload["warnings"] = [f"no series matched; known series: {list(self.sc.metrics)}"]
        return json.dumps(payload, indent=1)


def _metric_name(expr: str) -> str:
    """The first metric-looking identifier (skipping PromQL functions and ``by (...)``)."""
    expr = re.sub(r"\b(by|without)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    skip = {
        "rate",
        "sum",
        "irate",
        "increase",
        "avg",
        "max",
        "min",
        "topk",
        "count",
        "histogram_quantile",
    }
    for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        if word not in skip:
            return word
    return ""


def _labels(expr: str) -> dict[str, str]:
    m = re.search(r"\{([^}]*)\}", expr)
    if not m:
        return {}
    out = {}
    for part in m.group(1).split(","):
        kv = re.match(r'\s*([a-zA-Z_]\w*)\s*=~?\s*"([^"]*)"', part)
        if kv:
            out[kv.group(1)] = kv.group(2)
    return out


def _labels_compatible(query: str, key: str) -> bool:
    """Every label the query pins must agree with the series (missing labels are fine)."""
    have = _labels(key)
    return all(have.get(k, v) == v for k, v in _labels(query).items())
