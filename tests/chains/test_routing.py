"""Alert -> chain routing: rules in order (type + label matchers), chain alert_types, default."""

from __future__ import annotations

from chains.alert import Alert
from chains.routing import select_chain, value_matches
from config.models import AgentsConfig


def _config(rules: list[dict]) -> AgentsConfig:
    stage = [{"name": "triage", "agent": "A"}]
    return AgentsConfig.model_validate(
        {
            "llm_providers": {"g": {"type": "gemini", "model": "m"}},
            "default_llm_provider": "g",
            "agents": {"A": {}},
            "chains": {
                "default": {"stages": stage},
                "k8s": {"stages": stage, "alert_types": ["~Kube.*"]},
                "db": {"stages": stage},
                "prod-payments": {"stages": stage},
            },
            "routing": {"default_chain": "default", "rules": rules},
        }
    )


def test_value_matcher_exact_and_anchored_regex():
    assert value_matches("prod", "prod")
    assert not value_matches("prod", "prod-1")
    assert value_matches("~prod-.*", "prod-eu-1")
    assert not value_matches("~prod-.*", "preprod-eu-1")  # full match, not search
    assert not value_matches("x", None)


def test_first_matching_rule_wins_then_chain_types_then_default():
    cfg = _config(
        [
            {"chain": "prod-payments", "match": {"namespace": "payments", "cluster": "~prod-.*"}},
            {"chain": "db", "alert_types": ["PostgresDown", "~Mysql.*"]},
            {"chain": "default", "match": {"namespace": "payments"}},
        ]
    )
    pay = Alert(
        source="cli",
        kind="KubePodCrashLooping",
        title="t",
        labels={"namespace": "payments", "cluster": "prod-eu-1"},
    )
    assert select_chain(cfg, pay) == "prod-payments"
    staging = Alert(
        source="cli",
        kind="KubePodCrashLooping",
        title="t",
        labels={"namespace": "payments", "cluster": "staging"},
    )
    assert select_chain(cfg, staging) == "default"  # third rule, before chain alert_types
    assert select_chain(cfg, Alert(source="cli", kind="MysqlReplicationLag", title="t")) == "db"
    assert select_chain(cfg, Alert(source="cli", kind="KubeNodeNotReady", title="t")) == "k8s"
    assert select_chain(cfg, Alert(source="cli", kind="DiskFull", title="t")) == "default"


def test_rule_can_match_alert_fields_like_severity():
    cfg = _config([{"chain": "db", "match": {"severity": "critical"}}])
    assert select_chain(cfg, Alert(source="x", kind="Foo", title="t", severity="critical")) == "db"
    assert select_chain(cfg, Alert(source="x", kind="Foo", title="t", severity="info")) == "default"
