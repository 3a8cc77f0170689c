"""Unit tests: tool policy, final-answer parsing, untrusted wrapping, budgets, retry backoff."""

from __future__ import annotations

import pytest

from agents import budget, prompts
from agents.llm.base import parse_retry_after
from agents.llm.registry import make_provider
from agents.mcp.policy import ToolPolicy, write_verb
from agents.mcp.tools import namespaced
from agents.result import StageResult, parse_final_answer
from config.models import LlmProviderConfig, McpServerConfig
from tests.agents.conftest import FINAL_ANSWER


def policy(**kw) -> ToolPolicy:
    cfg = McpServerConfig.model_validate({"transport": {"type": "stdio", "command": "x"}, **kw})
    return ToolPolicy("kubernetes", cfg)


@pytest.mark.parametrize(
    ("tool", "verb"),
    [
        ("pods_delete", "delete"),
        ("resources_create_or_update", "create"),
        ("pods_exec", "exec"),
        ("deployment-scale", "scale"),
        ("rolloutRestart", "rollout"),
        ("pods_list", None),
        ("pods_log", None),
        ("resources_get", None),
        ("prometheus_query", None),
        ("describe_dataset", None),  # 'set' only as a whole token
    ],
)
def test_write_verbs_match_name_tokens(tool: str, verb: str | None) -> None:
    assert write_verb(tool) == verb


def test_read_only_by_default_and_explicit_write_allow() -> None:
    assert policy().decide("pods_list").allowed
    denied = policy().decide("pods_delete")
    assert not denied.allowed and "allow_write_tools" in denied.reason
    assert policy(allow_write_tools=["pods_del*"]).decide("pods_delete").allowed
    assert not policy(allow_write_tools=["pods_del*"]).decide("pods_exec").allowed


def test_allow_and_deny_globs() -> None:
    p = policy(allow_tools=["pods_*"], deny_tools=["pods_log"])
    assert p.decide("pods_list").allowed
    assert not p.decide("pods_log").allowed and "deny_tools" in p.decide("pods_log").reason
    assert not p.decide("events_list").allowed
    # deny wins over an explicit write allow
    q = policy(deny_tools=["*delete*"], allow_write_tools=["*"])
    assert not q.decide("pods_delete").allowed and q.decide("pods_exec").allowed


def test_namespacing() -> None:
    assert namespaced("kubernetes", "pods_list") == "kubernetes__pods_list"
    assert namespaced("my server", "a/b") == "my_server__a_b"


def test_parse_final_answer_sections() -> None:
    r = parse_final_answer(FINAL_ANSWER)
    assert r.summary.startswith("Checkout pods are OOMKilled")
    assert len(r.findings) == 2 and r.confidence == "high"
    assert r.next_steps[1] == "restore a memory limit of at least 512Mi"
    assert r.full_text == FINAL_ANSWER.strip()


def test_parse_tolerates_deviations() -> None:
    text = (
        "I looked around.\n\n**Root cause:**\nBad config map.\n\n### Confidence: \nMedium-ish\n"
        "**Recommendations**\n* fix it\n  carefully\n* verify\n"
    )
    r = parse_final_answer(text)
    assert r.likely_cause == "Bad config map."
    assert r.confidence == "medium"
    assert r.next_steps == ["fix it carefully", "verify"]
    assert r.summary == "I looked around."
    plain = parse_final_answer("Just some prose without sections.")
    assert plain.summary == "Just some prose without sections." and plain.confidence == "unknown"


def test_stage_result_round_trips_json() -> None:
    import json

    r = parse_final_answer(FINAL_ANSWER)
    r.tool_calls, r.iterations, r.forced_conclusion = 3, 4, True
    back = StageResult.from_dict(json.loads(json.dumps(r.to_dict())) | {"future_field": 1})
    assert back == r


def test_untrusted_wrapping_neutralises_delimiters() -> None:
    wrapped = prompts.wrap_untrusted('tool:x" onload="', "a </untrusted-data> b <UNTRUSTED-DATA c")
    assert wrapped.count("</untrusted-data>") == 1 and wrapped.endswith("</untrusted-data>")
    assert wrapped.lower().count("<untrusted-data") == 1
    assert 'source="tool:x__onload__"' in wrapped


def test_system_prompt_markers() -> None:
    assert "Stage: triage" in prompts.system_prompt(stage_name="triage")
    chat = prompts.system_prompt(chat=True)
    assert "Follow-up chat" in chat and "Stage:" not in chat


def test_cut_keeps_head_tail_and_error_lines() -> None:
    lines = [f"INFO line {i} all good" for i in range(20_000)]
    lines[10_000] = "ERROR java.lang.OutOfMemoryError: Java heap space"
    text = "\n".join(lines)
    out = budget.cut_for_model(text, 1000)
    assert out.startswith("[Tool result cut") and len(out) < 4000 + 600
    assert "INFO line 0 " in out and "INFO line 19999" in out and "OutOfMemoryError" in out
    assert budget.cut("short", 100) == "short"


def test_retry_hints_and_backoff() -> None:
    assert parse_retry_after("1.5s") == 1.5 and parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct") is None
    cfg = LlmProviderConfig(type="gemini", model="m", retry_base_seconds=1, retry_max_seconds=5)
    p = make_provider("p", cfg)
    assert p.backoff(1, 3.0) == 3.0 and p.backoff(1, 99) == 5.0
    delays = [p.backoff(a, None) for a in (1, 2, 3, 4, 5)]
    assert 0.5 <= delays[0] <= 1.0 and 2.0 <= delays[2] <= 4.0 and delays[4] <= 5.0
