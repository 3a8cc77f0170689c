"""Demo cluster MCP server through an in-memory MCP client (tools, outputs, recording)."""

from __future__ import annotations

import base64
import json

import pytest
from mcp import Client

from devkit import scenarios_dir
from devkit.cluster.scenario import ScenarioError, load_scenario
from devkit.cluster.server import build_server

CHECKOUT = scenarios_dir() / "checkout-oom.yaml"
POD = "checkout-7d9f8b6c5-x2x4q"


async def call(client: Client, tool: str, **args) -> tuple[str, bool]:
    result = await client.call_tool(tool, args)
    return result.content[0].text, bool(result.is_error)


async def test_tools_listed_with_kubernetes_mcp_server_names(tmp_path):
    async with Client(build_server(CHECKOUT)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert client.instructions and "pods_log" in client.instructions
    for name in (
        "pods_list",
        "pods_list_in_namespace",
        "pods_get",
        "pods_log",
        "pods_top",
        "events_list",
        "namespaces_list",
        "resources_list",
        "resources_get",
        "prometheus_query",
        "pods_delete",
        "pods_exec",
        "resources_create_or_update",
    ):
        assert name in tools, name
    assert set(tools["resources_get"].input_schema["required"]) == {"apiVersion", "kind", "name"}
    assert tools["pods_delete"].annotations.destructive_hint is True
    assert tools["pods_log"].annotations.read_only_hint is True


async def test_investigation_reads_match_the_scenario(tmp_path):
    record = tmp_path / "calls.jsonl"
    async with Client(build_server(CHECKOUT, record_path=record)) as client:
        pods, _ = await call(client, "pods_list_in_namespace", namespace="payments")
        assert f"{POD}" in pods and "CrashLoopBackOff" in pods and "prometheus-0" not in pods
        log, err = await call(client, "pods_log", namespace="payments", name=POD)
        assert not err and "OutOfMemoryError" in log
        tail, _ = await call(client, "pods_log", namespace="payments", name=POD, tail=2)
        assert len(tail.splitlines()) == 2 and "OutOfMemoryError" in tail
        dep, _ = await call(
            client,
            "resources_get",
            apiVersion="apps/v1",
            kind="Deployment",
            namespace="payments",
            name="checkout",
        )
        assert "memory: 128Mi" in dep and "-Xmx384m" in dep
        rs, _ = await call(
            client, "resources_list", apiVersion="apps/v1", kind="ReplicaSet", namespace="payments"
        )
        assert "REVISION=41" in rs and "REVISION=42" in rs
        events, _ = await call(client, "events_list", namespace="payments")
        assert "OOMKilling" in events and "coredns" not in events
        prom, _ = await call(
            client,
            "prometheus_query",
            query='rate(http_requests_total{service="checkout",code=~"5.."}[5m])',
        )
        values = json.loads(prom)["data"]["result"][0]["values"]
        assert [v[1] for v in values] == ["0.02", "41.7"]
        missing, err = await call(client, "pods_get", namespace="payments", name="nope")
        assert err and 'pods "nope" not found' in missing
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert [x["tool"] for x in lines][:3] == ["pods_list_in_namespace", "pods_log", "pods_log"]
    assert lines[2]["args"] == {"namespace": "payments", "name": POD, "tail": 2}
    assert all(isinstance(x["at"], float) for x in lines)


async def test_secret_is_base64_like_a_real_cluster():
    async with Client(build_server(CHECKOUT)) as client:
        text, err = await call(
            client,
            "resources_get",
            apiVersion="v1",
            kind="Secret",
            namespace="payments",
            name="checkout-db-credentials",
        )
    assert not err
    assert "password: UzNjcjN0LVBhc3N3MHJkLTQyIQ==" in text
    assert "kubectl.kubernetes.io/last-applied-configuration" in text
    assert text.count("UzNjcjN0LVBhc3N3MHJkLTQyIQ==") == 2  # data + annotation
    assert base64.b64decode("UzNjcjN0LVBhc3N3MHJkLTQyIQ==").decode() == "S3cr3t-Passw0rd-42!"
    assert "S3cr3t-Passw0rd-42!" not in text


async def test_destructive_tools_record_but_never_mutate(tmp_path):
    record = tmp_path / "calls.jsonl"
    server = build_server(CHECKOUT, record_path=record)
    async with Client(server) as client:
        out, err = await call(client, "pods_delete", namespace="payments", name=POD)
        assert not err and "NOT executed" in out
        await call(client, "pods_exec", namespace="payments", name=POD, command=["rm", "-rf", "/"])
        await call(client, "resources_create_or_update", resource="kind: Pod")
        pods, _ = await call(client, "pods_list_in_namespace", namespace="payments")
    assert POD in pods
    tools = [json.loads(x)["tool"] for x in record.read_text().splitlines()]
    assert tools == [
        "pods_delete",
        "pods_exec",
        "resources_create_or_update",
        "pods_list_in_namespace",
    ]
    assert [c["tool"] for c in server.devkit_calls] == tools


async def test_big_log_scenario_returns_2mb_with_oom_line():
    async with Client(build_server(scenarios_dir() / "checkout-oom-biglog.yaml")) as client:
        log, err = await call(
            client, "pods_log", namespace="payments", name="checkout-7d9f8b6c5-k8m2p"
        )
    assert not err
    assert 1_900_000 <= len(log.encode()) <= 2_100_000
    assert "java.lang.OutOfMemoryError: Java heap space" in log


@pytest.mark.parametrize("path", sorted(scenarios_dir().glob("*.yaml")), ids=lambda p: p.stem)
async def test_every_bundled_scenario_serves_its_evidence(path):
    scenario = load_scenario(path)
    assert scenario.raw.get("expected_findings") and scenario.raw.get("unrelated_noise")
    async with Client(build_server(path)) as client:
        for ns in scenario.namespaces:
            text, err = await call(client, "pods_list_in_namespace", namespace=ns)
            assert not err
        for key in scenario.logs:
            ns, pod, container = key.split("/")
            text, err = await call(client, "pods_log", namespace=ns, name=pod, container=container)
            assert not err and text == scenario.logs[key]
        nodes, _ = await call(client, "resources_list", apiVersion="v1", kind="Node")
        assert "Ready" in nodes
        for metric in scenario.metrics:
            text, _ = await call(client, "prometheus_query", query=metric)
            assert json.loads(text)["data"]["result"], metric


async def test_dns_and_disk_pressure_scenarios_show_their_root_cause():
    async with Client(build_server(scenarios_dir() / "dns-coredns-config.yaml")) as client:
        cm, _ = await call(
            client,
            "resources_get",
            apiVersion="v1",
            kind="ConfigMap",
            namespace="kube-system",
            name="coredns",
        )
        assert "forward . 10.0.0.53" in cm
    async with Client(build_server(scenarios_dir() / "node-disk-pressure.yaml")) as client:
        node, _ = await call(
            client, "resources_get", apiVersion="v1", kind="Node", name="node-eu3-b2"
        )
        assert "type: DiskPressure\n    status: 'True'" in node
        pods, _ = await call(client, "pods_list_in_namespace", namespace="search")
        assert "Evicted" in pods and "Pending" in pods


def test_bad_scenario_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npods:\n  - {name: a}\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: pods\[0\] needs 'namespace' and 'name'"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "missing.yaml")
