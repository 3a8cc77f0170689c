"""The demo cluster as an MCP server (tool names and arguments follow kubernetes-mcp-server).

Read-only tools answer from a scenario. Destructive-looking tools (``pods_delete``,
``pods_exec``, ``resources_create_or_update``, ``resources_delete``) never change anything; like
every other tool call they are recorded, so tests can prove what an agent tried to do.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from devkit.cluster.render import NotFound
from devkit.cluster.scenario import Scenario, load_scenario
from devkit.cluster.tools import DemoCluster

READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, openWorldHint=False)
DESTRUCTIVE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False)

INSTRUCTIONS = """\
Kubernetes cluster tools for the cluster "{cluster}" (a demo stand-in; answers come from a \
fixed incident scenario, time now is {now}).
Read: namespaces_list, pods_list, pods_list_in_namespace(namespace), pods_get(namespace, name), \
pods_log(namespace, name, container?, tail?), pods_top, events_list(namespace?), \
resources_list(apiVersion, kind, namespace?), resources_get(apiVersion, kind, namespace?, name) \
(kinds: Pod, Deployment, ReplicaSet, ConfigMap, Secret, Node, Namespace, Service), \
prometheus_query(query).
Start broad (pods and events in the alert's namespace), then read logs of failing containers \
and the owning Deployment / ReplicaSets to compare revisions. Secrets contain credentials: do \
not read them unless strictly needed.
Mutating tools (pods_delete, pods_exec, resources_create_or_update, resources_delete) are \
recorded and never executed."""


class CallRecorder:
    """Keeps every tool call in memory and, if given a path, appends it as a JSON line."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else None
        self.calls: list[dict[str, Any]] = []

    def __call__(self, tool: str, args: dict[str, Any]) -> None:
        entry = {
            "tool": tool,
            "args": {k: v for k, v in args.items() if v is not None},
            "at": time.time(),
        }
        self.calls.append(entry)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")


def _select(text: str, label_selector: str | None) -> str:
    """Crude ``app=NAME`` label selection over a pods table."""
    if not label_selector or "=" not in label_selector:
        return text
    app = label_selector.split("=", 1)[1].strip()
    lines = text.splitlines(keepends=True)
    kept = [ln for ln in lines[1:] if ln.split()[1:2] and ln.split()[1].startswith(app + "-")]
    return "".join(lines[:1] + kept) if kept else "No resources found.\n"


def _answer(produce: Any) -> str:
    """Run a read; a missing object or bad argument becomes an MCP tool error the model sees."""
    try:
        return produce()
    except (NotFound, ValueError) as exc:
        raise ToolError(str(exc)) from exc


def build_server(
    scenario_path: str | os.PathLike[str] | Scenario,
    record_path: str | os.PathLike[str] | None = None,
) -> MCPServer:
    """An MCP server over one scenario. ``server.devkit_calls`` lists every recorded call."""
    scenario = (
        scenario_path if isinstance(scenario_path, Scenario) else load_scenario(scenario_path)
    )
    cluster = DemoCluster(scenario)
    record = CallRecorder(record_path)
    server = MCPServer(
        name="kubernetes",
        instructions=INSTRUCTIONS.format(cluster=scenario.cluster, now=scenario.now.isoformat()),
        version="0.1.0",
        log_level="WARNING",
    )
    server.devkit_calls = record.calls  # type: ignore[attr-defined]
    server.devkit_scenario = scenario  # type: ignore[attr-defined]
    tool = server.tool

    @tool(
        description="List all the Kubernetes namespaces in the current cluster",
        annotations=READ_ONLY,
    )
    async def namespaces_list() -> str:
        record("namespaces_list", {})
        return _answer(lambda: cluster.namespaces_list())

    @tool(
        description="List all the Kubernetes pods in the current cluster from all namespaces",
        annotations=READ_ONLY,
    )
    async def pods_list(labelSelector: str | None = None) -> str:  # noqa: N803
        record("pods_list", {"labelSelector": labelSelector})
        return _answer(lambda: _select(cluster.pods_list(), labelSelector))

    @tool(
        description="List all the Kubernetes pods in the specified namespace", annotations=READ_ONLY
    )
    async def pods_list_in_namespace(namespace: str, labelSelector: str | None = None) -> str:  # noqa: N803
        record("pods_list_in_namespace", {"namespace": namespace, "labelSelector": labelSelector})
        return _answer(lambda: _select(cluster.pods_list(namespace), labelSelector))

    @tool(
        description="Get a Kubernetes Pod in the given namespace with the provided name",
        annotations=READ_ONLY,
    )
    async def pods_get(name: str, namespace: str = "default") -> str:
        record("pods_get", {"namespace": namespace, "name": name})
        return _answer(lambda: cluster.pods_get(namespace, name))

    @tool(
        description="Get the logs of a Kubernetes Pod in the given namespace with the provided "
        "name (tail: number of lines from the end; default all)",
        annotations=READ_ONLY,
    )
    async def pods_log(
        name: str,
        namespace: str = "default",
        container: str | None = None,
        previous: bool = False,
        tail: int | None = None,
    ) -> str:
        record(
            "pods_log",
            {
                "namespace": namespace,
                "name": name,
                "container": container,
                "previous": previous or None,
                "tail": tail,
            },
        )
        return _answer(lambda: cluster.pods_log(namespace, name, container, tail))

    @tool(
        description="List the resource consumption (CPU and memory) of Pods", annotations=READ_ONLY
    )
    async def pods_top(
        namespace: str | None = None, name: str | None = None, all_namespaces: bool = True
    ) -> str:
        record("pods_top", {"namespace": namespace, "name": name})
        return _answer(lambda: cluster.pods_top(namespace, name))

    @tool(
        description="List the Kubernetes events in the current cluster (all namespaces or one)",
        annotations=READ_ONLY,
    )
    async def events_list(namespace: str | None = None) -> str:
        record("events_list", {"namespace": namespace})
        return _answer(lambda: cluster.events_list(namespace))

    @tool(
        description="List Kubernetes resources and objects in the current cluster by providing "
        "their apiVersion and kind and optionally the namespace",
        annotations=READ_ONLY,
    )
    async def resources_list(
        apiVersion: str, kind: str, namespace: str | None = None, labelSelector: str | None = None
    ) -> str:  # noqa: N803
        record(
            "resources_list",
            {
                "apiVersion": apiVersion,
                "kind": kind,
                "namespace": namespace,
                "labelSelector": labelSelector,
            },
        )
        return _answer(lambda: cluster.resources_list(apiVersion, kind, namespace))

    @tool(
        description="Get a Kubernetes resource in the current cluster by providing its apiVersion, "
        "kind, optionally the namespace, and its name",
        annotations=READ_ONLY,
    )
    async def resources_get(
        apiVersion: str, kind: str, name: str, namespace: str | None = None
    ) -> str:  # noqa: N803
        record(
            "resources_get",
            {"apiVersion": apiVersion, "kind": kind, "namespace": namespace, "name": name},
        )
        return _answer(lambda: cluster.resources_get(apiVersion, kind, name, namespace))

    @tool(
        description="Run an instant PromQL query against the cluster's Prometheus",
        annotations=READ_ONLY,
    )
    async def prometheus_query(query: str) -> str:
        record("prometheus_query", {"query": query})
        return _answer(lambda: cluster.prometheus_query(query))

    def refused(tool_name: str, what: str) -> str:
        return (
            f"demo cluster {scenario.cluster}: {tool_name} ({what}) was recorded but NOT executed; "
            "this stand-in cluster is read-only"
        )

    @tool(
        description="Delete a Kubernetes Pod in the given namespace with the provided name",
        annotations=DESTRUCTIVE,
    )
    async def pods_delete(name: str, namespace: str = "default") -> str:
        record("pods_delete", {"namespace": namespace, "name": name})
        return refused("pods_delete", f"pod {namespace}/{name}")

    @tool(
        description="Execute a command in a Kubernetes Pod in the given namespace",
        annotations=DESTRUCTIVE,
    )
    async def pods_exec(
        name: str, command: list[str], namespace: str = "default", container: str | None = None
    ) -> str:
        record(
            "pods_exec",
            {"namespace": namespace, "name": name, "command": command, "container": container},
        )
        return refused("pods_exec", f"{' '.join(command)!r} in {namespace}/{name}")

    @tool(
        description="Create or update a Kubernetes resource from a YAML or JSON representation",
        annotations=DESTRUCTIVE,
    )
    async def resources_create_or_update(resource: str) -> str:
        record("resources_create_or_update", {"resource": resource})
        return refused("resources_create_or_update", f"{len(resource)} bytes of manifest")

    @tool(
        description="Delete a Kubernetes resource by apiVersion, kind, namespace and name",
        annotations=DESTRUCTIVE,
    )
    async def resources_delete(
        apiVersion: str, kind: str, name: str, namespace: str | None = None
    ) -> str:  # noqa: N803
        record(
            "resources_delete",
            {"apiVersion": apiVersion, "kind": kind, "namespace": namespace, "name": name},
        )
        return refused("resources_delete", f"{kind} {namespace or ''}/{name}")

    return server
