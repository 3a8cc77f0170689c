"""Broken configurations: each error names file:line, the key path and what is allowed."""

from __future__ import annotations

import pytest

from bot.cli import main
from tests.config.conftest import AGENTS, TARSY


def check(capsys) -> tuple[int, list[str]]:
    code = main(["config", "check", "--config-dir", "config"])
    err = capsys.readouterr().err
    return code, [line.strip() for line in err.splitlines()]


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def with_rules(rules: str) -> str:
    return replace(
        AGENTS, "default_chain: kubernetes\n", "default_chain: kubernetes\n  rules:\n" + rules
    )


CASES = {
    "unknown agent in a stage": (
        {"agents": replace(AGENTS, "agent: KubernetesAgent}", "agent: KubeAgent}")},
        "config/agents.yaml:14 chains.kubernetes.stages[1].agent: unknown agent 'KubeAgent' "
        "(known: KubernetesAgent, TriageAgent)",
    ),
    "unknown llm provider": (
        {
            "agents": replace(
                AGENTS,
                "TriageAgent: {mcp_servers: [kubernetes]}",
                "TriageAgent: {mcp_servers: [kubernetes], llm_provider: openai}",
            )
        },
        "config/agents.yaml:8 agents.TriageAgent.llm_provider: unknown llm provider 'openai' "
        "(known: gemini)",
    ),
    "unknown MCP server": (
        {
            "agents": replace(
                AGENTS,
                "KubernetesAgent: {mcp_servers: [kubernetes]}",
                "KubernetesAgent:\n    mcp_servers: [kubernetes, prometheus]",
            )
        },
        "config/agents.yaml:10 agents.KubernetesAgent.mcp_servers[1]: unknown MCP server "
        "'prometheus' (known: kubernetes)",
    ),
    "bad literal": (
        {"tarsy": replace(TARSY, "mode: socket", "mode: websocket")},
        "config/tarsy.yaml:2 slack.mode: invalid value 'websocket' (allowed: socket, http)",
    ),
    "unknown key with suggestion": (
        {"tarsy": replace(TARSY, "  port: 8080", "  port: 8080\n  hots: 127.0.0.1")},
        "config/tarsy.yaml:5 http.hots: unknown key 'hots' (allowed: host, port); "
        "did you mean 'host'?",
    ),
    "wrong type (whole number)": (
        {"tarsy": replace(TARSY, "port: 8080", "port: abc")},
        "config/tarsy.yaml:4 http.port: expected a whole number, got 'abc'",
    ),
    "wrong type (number)": (
        {"tarsy": TARSY + "queue:\n  lease_seconds: soon\n"},
        "config/tarsy.yaml:6 queue.lease_seconds: expected a number, got 'soon'",
    ),
    "missing required key": (
        {"agents": replace(AGENTS, "{name: triage, agent: TriageAgent}", "{agent: TriageAgent}")},
        "config/agents.yaml:13 chains.kubernetes.stages[0].name: missing required key 'name'",
    ),
    "missing top-level section": (
        {"agents": replace(AGENTS, "routing:\n  default_chain: kubernetes\n", "")},
        "config/agents.yaml:1 routing: missing required key 'routing'",
    ),
    "yaml syntax error": (
        {"tarsy": "slack:\n  mode: socket\n bot_token: x\n"},
        "config/tarsy.yaml:3: YAML syntax error at column 2: expected <block end>, but found "
        "'<block mapping start>' (while parsing a block mapping; check indentation, ':' and "
        "quotes)",
    ),
    "unset env var": (
        {
            "agents": replace(
                AGENTS, "model: gemini-2.5-flash}", "model: m, api_key: '${TARSY_TEST_KEY}'}"
            )
        },
        "config/agents.yaml:2 llm_providers.gemini.api_key: environment variable TARSY_TEST_KEY "
        "is not set (set it, or write ${TARSY_TEST_KEY:-} to allow it to be empty, "
        "or ${TARSY_TEST_KEY:-default})",
    ),
    "invalid regex in masking pattern": (
        {
            "agents": replace(
                AGENTS,
                "transport: {type: stdio, command: npx}",
                "transport: {type: stdio, command: npx}\n"
                "    masking:\n      patterns:\n        - {name: ticket, pattern: 'TKT-(\\d+'}",
            )
        },
        "config/agents.yaml:9 mcp_servers.kubernetes.masking.patterns[0].pattern: "
        "invalid regex: missing ), unterminated subpattern at position 4",
    ),
    "unknown masking group": (
        {
            "agents": replace(
                AGENTS,
                "transport: {type: stdio, command: npx}",
                "transport: {type: stdio, command: npx}\n    masking: {groups: [jwt, pasword]}",
            )
        },
        "config/agents.yaml:7 mcp_servers.kubernetes.masking.groups[1]: unknown masking group "
        "'pasword' (allowed: kubernetes_secrets, private_keys, certificates, bearer_tokens, jwt, "
        "api_keys, passwords, connection_strings, cloud_keys, slack_tokens, kubeconfig); "
        "did you mean 'passwords'?",
    ),
    "stage with both agent and agents": (
        {
            "agents": replace(
                AGENTS,
                "{name: triage, agent: TriageAgent}",
                "{name: triage, agent: TriageAgent, agents: [TriageAgent, KubernetesAgent]}",
            )
        },
        "config/agents.yaml:13 chains.kubernetes.stages[0]: "
        "a stage needs exactly one of 'agent' or 'agents'",
    ),
    "http transport without url": (
        {"agents": replace(AGENTS, "{type: stdio, command: npx}", "{type: http}")},
        "config/agents.yaml:6 mcp_servers.kubernetes.transport: a http transport needs 'url'",
    ),
    "heartbeat >= lease": (
        {"tarsy": TARSY + "queue:\n  lease_seconds: 10\n  heartbeat_seconds: 10\n"},
        "config/tarsy.yaml:5 queue: heartbeat_seconds must be shorter than lease_seconds",
    ),
    "worker slots above the global limit": (
        {"tarsy": TARSY + "queue:\n  concurrency: 3\n  worker_slots: 4\n"},
        "config/tarsy.yaml:5 queue: worker_slots (4) cannot exceed concurrency (3), "
        "the global limit",
    ),
    "routing to unknown chain": (
        {"agents": with_rules("    - {chain: k8s, alert_types: [KubePodCrashLooping]}\n")},
        "config/agents.yaml:18 routing.rules[0].chain: unknown chain 'k8s' (known: kubernetes)",
    ),
    "invalid ~regex in a routing matcher": (
        {"agents": with_rules("    - chain: kubernetes\n      match: {namespace: '~pay(('}\n")},
        "config/agents.yaml:19 routing.rules[0].match.namespace: invalid regex 'pay((': "
        "missing ), unterminated subpattern at position 4",
    ),
    "unknown webhook source key": (
        {"tarsy": TARSY + "webhooks:\n  auth:\n    grafna: {type: none}\n"},
        "config/tarsy.yaml:7 webhooks.auth.grafna: unknown key 'grafna' "
        "(allowed: alertmanager, grafana, pagerduty, generic); did you mean 'grafana'?",
    ),
    "duplicate key": (
        {"tarsy": TARSY + "http:\n  port: 9090\n"},
        "config/tarsy.yaml:5 http: duplicate key 'http' (first at line 3; "
        "the later one would silently win - keep one)",
    ),
    "top level is not a mapping": (
        {"tarsy": "- slack\n"},
        "config/tarsy.yaml:1: expected a mapping (key: value pairs) at the top level",
    ),
}


@pytest.mark.parametrize("files, expected", CASES.values(), ids=CASES.keys())
def test_broken_config_reports_exact_location(cfg_dir, capsys, files, expected):
    cfg_dir(**files)
    code, lines = check(capsys)
    assert code == 2
    assert expected in lines, "\n".join(lines)


def test_all_errors_in_both_files_are_reported_together(cfg_dir, capsys):
    agents = replace(AGENTS, "type: gemini,", "type: gemni,")
    agents = replace(agents, "agent: KubernetesAgent}", "agent: KubeAgent}")
    agents = replace(agents, "default_chain: kubernetes", "default_chain: k8s")
    tarsy = replace(TARSY, "mode: socket", "mode: websocket")
    tarsy = replace(tarsy, "port: 8080", "port: -1")
    cfg_dir(agents=agents, tarsy=tarsy)
    code, lines = check(capsys)
    assert code == 2
    assert lines[0] == "invalid configuration (5 problems):"
    assert lines[1:6] == [
        "config/tarsy.yaml:2 slack.mode: invalid value 'websocket' (allowed: socket, http)",
        "config/tarsy.yaml:4 http.port: must be >= 0, got -1",
        "config/agents.yaml:2 llm_providers.gemini.type: invalid value 'gemni' "
        "(allowed: gemini, openai-compatible)",
        "config/agents.yaml:14 chains.kubernetes.stages[1].agent: unknown agent 'KubeAgent' "
        "(known: KubernetesAgent, TriageAgent)",
        "config/agents.yaml:16 routing.default_chain: unknown chain 'k8s' (known: kubernetes)",
    ]


def test_bad_env_override_names_the_variable(cfg_dir, capsys, clean_env):
    cfg_dir()
    clean_env.setenv("TARSY_HTTP_PORT", "eighty")
    clean_env.setenv("TARSY_SLACK_MODE", "rtm")
    code, lines = check(capsys)
    assert code == 2
    assert "environment TARSY_HTTP_PORT http.port: expected a whole number, got 'eighty'" in lines
    assert (
        "environment TARSY_SLACK_MODE slack.mode: invalid value 'rtm' (allowed: socket, http)"
        in lines
    )


def test_secret_field_with_wrong_type_does_not_echo_the_value(cfg_dir, capsys):
    cfg_dir(
        tarsy=TARSY + "webhooks:\n  auth:\n    generic: {type: bearer, token: [s3cr3t-value]}\n"
    )
    code, lines = check(capsys)
    assert code == 2
    assert "s3cr3t-value" not in "\n".join(lines)
    assert (
        "config/tarsy.yaml:7 webhooks.auth.generic.token: expected text, got a secret value "
        "(not shown)" in lines
    )
