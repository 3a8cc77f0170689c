"""Render scenario objects the way kubectl / kubernetes-mcp-server would print them."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import yaml

from devkit.cluster.scenario import Scenario, parse_time


class NotFound(LookupError):
    """A resource that the scenario does not have (message mirrors the API server's)."""


def age(ts: Any, now: datetime) -> str:
    if not ts:
        return "<unknown>"
    secs = int((now - parse_time(ts)).total_seconds())
    if secs < 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "No resources found.\n"
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "".join(
        "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n"
        for r in cells
    )


class _KubectlDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, like kubectl prints annotations and ConfigMap data."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_KubectlDumper.add_representer(str, _str_presenter)


def to_yaml(obj: Any) -> str:
    return yaml.dump(
        obj, Dumper=_KubectlDumper, sort_keys=False, default_flow_style=False, width=1000
    )


def _hash(text: str, n: int = 9) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


# ---- pods ---------------------------------------------------------------------------------
def pod_status(pod: dict[str, Any]) -> str:
    state = str(pod.get("state", pod.get("phase", "Running")))
    if state.startswith(("Waiting:", "Terminated:")):
        return state.split(":", 1)[1].strip().split(" ")[0]
    return state


def deployment_for(sc: Scenario, pod: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (
            d
            for d in sc.deployments
            if d["namespace"] == pod["namespace"] and pod["name"].startswith(d["name"] + "-")
        ),
        None,
    )


def container_name(sc: Scenario, pod: dict[str, Any]) -> str:
    if pod.get("container"):
        return str(pod["container"])
    keys = sc.log_keys(pod["namespace"], pod["name"])
    if keys:
        return keys[0].rsplit("/", 1)[1]
    dep = deployment_for(sc, pod)
    return dep["name"] if dep else pod["name"].rsplit("-", 1)[0]


def pods_table(sc: Scenario, namespace: str | None) -> str:
    rows = [
        [
            p["namespace"],
            p["name"],
            "1/1" if p.get("ready", True) else "0/1",
            pod_status(p),
            p.get("restarts", 0),
            age(p.get("started"), sc.now),
            p.get(
                "ip", "10.42.0." + str(int(_hash(p["name"], 2), 16)) if p.get("node") else "<none>"
            ),
            p.get("node", "<none>"),
        ]
        for p in sc.pods
        if namespace is None or p["namespace"] == namespace
    ]
    headers = ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    return table(headers, rows)


def _state_obj(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    kind, _, detail = str(text).partition(":")
    kind = kind.strip().lower()
    if kind == "waiting":
        return {"waiting": {"reason": detail.strip()}}
    if kind == "terminated":
        reason = detail.strip().split(" ")[0]
        code = 137 if "137" in detail else 1
        return {"terminated": {"reason": reason, "exitCode": code}}
    return {"running": {}}


def pod_manifest(sc: Scenario, pod: dict[str, Any]) -> dict[str, Any]:
    dep = deployment_for(sc, pod)
    cname = container_name(sc, pod)
    container: dict[str, Any] = {
        "name": cname,
        "image": pod.get("image") or (dep or {}).get("image", f"registry.example/{cname}:latest"),
    }
    if dep and dep.get("env"):
        container["env"] = [{"name": k, "value": str(v)} for k, v in dep["env"].items()]
    if pod.get("memory_limit"):
        container["resources"] = {"limits": {"memory": pod["memory_limit"]}}
    status: dict[str, Any] = {
        "name": cname,
        "ready": bool(pod.get("ready", True)),
        "restartCount": int(pod.get("restarts", 0)),
        "state": _state_obj(pod.get("state", "Running")),
    }
    if pod.get("last_state"):
        status["lastState"] = _state_obj(pod["last_state"])
    meta: dict[str, Any] = {"name": pod["name"], "namespace": pod["namespace"]}
    if dep:
        meta["labels"] = {"app": dep["name"], "pod-template-hash": pod["name"].split("-")[-2]}
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": pod["name"].rsplit("-", 1)[0]}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": pod.get("node"), "containers": [container]},
        "status": {
            "phase": pod.get("phase", "Running"),
            "startTime": pod.get("started"),
            "containerStatuses": [status],
        },
    }


def pods_top(sc: Scenario, namespace: str | None, name: str | None) -> str:
    rows = []
    for p in sc.pods:
        if (namespace and p["namespace"] != namespace) or (name and p["name"] != name):
            continue
        top = p.get("top") or {}
        crashing = "CrashLoopBackOff" in str(p.get("state", ""))
        cpu = top.get("cpu", "1m" if crashing else f"{int(_hash(p['name'], 2), 16) % 400 + 20}m")
        mem = top.get(
            "memory", "0Mi" if crashing else f"{int(_hash(p['name'], 3), 16) % 900 + 60}Mi"
        )
        rows.append([p["namespace"], p["name"], cpu, mem])
    if name and not rows:
        raise NotFound(f'pods "{name}" not found')
    return table(["NAMESPACE", "POD", "CPU(cores)", "MEMORY(bytes)"], rows)


# ---- other kinds --------------------------------------------------------------------------
def _current_revision(dep: dict[str, Any]) -> dict[str, Any]:
    history = dep.get("rollout_history") or []
    rev = dep.get("revision")
    return next((h for h in history if h.get("revision") == rev), history[-1] if history else {})


def deployment_manifest(dep: dict[str, Any]) -> dict[str, Any]:
    cur = _current_revision(dep)
    container: dict[str, Any] = {"name": dep["name"], "image": dep.get("image", cur.get("image"))}
    if dep.get("env"):
        container["env"] = [{"name": k, "value": str(v)} for k, v in dep["env"].items()]
    if cur.get("memory_limit"):
        container["resources"] = {"limits": {"memory": cur["memory_limit"]}}
    ann = {"deployment.kubernetes.io/revision": str(dep.get("revision", 1))}
    if cur.get("cause"):
        ann["kubernetes.io/change-cause"] = cur["cause"]
    replicas = int(dep.get("replicas", 1))
    ready = int(dep.get("ready_replicas", replicas))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": dep["name"], "namespace": dep["namespace"], "annotations": ann},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": dep["name"]}},
            "template": {
                "metadata": {"labels": {"app": dep["name"]}},
                "spec": {"containers": [container]},
            },
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "unavailableReplicas": replicas - ready,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if ready >= replicas else "False",
                    "reason": "MinimumReplicasAvailable"
                    if ready >= replicas
                    else "MinimumReplicasUnavailable",
                }
            ],
        },
    }


def replicasets(sc: Scenario, namespace: str | None) -> list[dict[str, Any]]:
    out = []
    for dep in sc.deployments:
        if namespace and dep["namespace"] != namespace:
            continue
        current_hash = next(
            (p["name"].split("-")[-2] for p in sc.pods if deployment_for(sc, p) is dep), None
        )
        for h in dep.get("rollout_history") or []:
            is_current = h.get("revision") == dep.get("revision")
            suffix = current_hash if is_current and current_hash else _hash(f"{dep['name']}{h}")
            container: dict[str, Any] = {"name": dep["name"], "image": h.get("image")}
            if h.get("memory_limit"):
                container["resources"] = {"limits": {"memory": h["memory_limit"]}}
            ann = {"deployment.kubernetes.io/revision": str(h.get("revision"))}
            if h.get("cause"):
                ann["kubernetes.io/change-cause"] = h["cause"]
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{dep['name']}-{suffix}",
                        "namespace": dep["namespace"],
                        "creationTimestamp": h.get("at"),
                        "annotations": ann,
                    },
                    "spec": {
                        "replicas": int(dep.get("replicas", 1)) if is_current else 0,
                        "template": {"spec": {"containers": [container]}},
                    },
                }
            )
    return out


def secret_manifest(secret: dict[str, Any]) -> dict[str, Any]:
    data = dict(secret.get("data") or {})
    applied = {
        "apiVersion": "v1",
        "data": data,
        "kind": "Secret",
        "metadata": {"annotations": {}, "name": secret["name"], "namespace": secret["namespace"]},
        "type": secret.get("type", "Opaque"),
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret["name"],
            "namespace": secret["namespace"],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                    applied, separators=(",", ":")
                )
                + "\n"
            },
            "creationTimestamp": secret.get("created", "2026-10-01T09:00:00Z"),
        },
        "type": secret.get("type", "Opaque"),
        "data": data,
    }


def configmap_manifest(cm: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": cm["name"], "namespace": cm["namespace"]}
    if cm.get("annotations"):
        meta["annotations"] = dict(cm["annotations"])
    if cm.get("updated"):
        meta["managedFields"] = [
            {
                "manager": cm.get("updated_by", "kubectl-edit"),
                "operation": "Update",
                "time": cm["updated"],
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": dict(cm.get("data") or {}),
    }


def nodes(sc: Scenario) -> list[dict[str, Any]]:
    if sc.nodes:
        return sc.nodes
    names = sorted({p["node"] for p in sc.pods if p.get("node")})
    return [{"name": n} for n in names]


def node_manifest(node: dict[str, Any]) -> dict[str, Any]:
    conditions = node.get("conditions") or {}
    base = {
        "Ready": "True",
        "MemoryPressure": "False",
        "DiskPressure": "False",
        "PIDPressure": "False",
    }
    base.update({k: str(v) for k, v in conditions.items()})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node["name"], "labels": node.get("labels", {})},
        "spec": {"taints": node.get("taints", [])} if node.get("taints") else {},
        "status": {
            "conditions": [{"type": k, "status": v} for k, v in base.items()],
            "allocatable": node.get(
                "allocatable", {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi"}
            ),
        },
    }


def node_row(node: dict[str, Any], sc: Scenario) -> list[Any]:
    cond = {**{"Ready": "True"}, **{k: str(v) for k, v in (node.get("conditions") or {}).items()}}
    status = "Ready" if cond["Ready"] == "True" else "NotReady"
    if node.get("unschedulable"):
        status += ",SchedulingDisabled"
    return [
        node["name"],
        status,
        node.get("roles", "<none>"),
        age(node.get("created", "2026-09-01T00:00:00Z"), sc.now),
        node.get("version", "v1.31.4"),
    ]


def events_table(sc: Scenario, namespace: str | None) -> str:
    evs = sorted(
        (e for e in sc.events if namespace is None or e.get("namespace") == namespace),
        key=lambda e: str(e.get("at", "")),
    )
    rows = [
        [
            e.get("namespace", ""),
            age(e.get("at"), sc.now),
            e.get("type", "Normal"),
            e.get("reason", ""),
            e.get("object", ""),
            e.get("message", ""),
        ]
        for e in evs
    ]
    return table(["NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows)
