"""Unit tests for script parsing and matching (dense logic, no network)."""

from __future__ import annotations

import pytest

from devkit.gemini.script import RequestView, Script, ScriptError


def view(**kw) -> RequestView:
    base = dict(
        model="gemini-2.5-flash",
        system_text="",
        last_user_text="",
        function_response_names=[],
        tools_offered=False,
        all_text="",
    )
    return RequestView(**{**base, **kw})


def test_first_match_wins_and_times_limit():
    script = Script.load(
        {
            "turns": [
                {
                    "id": "once",
                    "match": {"system_contains": "A"},
                    "times": 1,
                    "respond": {"text": "1"},
                },
                {"id": "again", "match": {"system_contains": "A"}, "respond": {"text": "2"}},
            ]
        }
    )
    assert script.pick(view(system_text="A"))[0] == "once"
    assert script.pick(view(system_text="A"))[0] == "again"
    assert script.pick(view(system_text="B"))[0] is None  # default


def test_function_response_matches_tool_suffix_exactly():
    script = Script.load(
        {"turns": [{"id": "t", "match": {"has_function_response": "pods_list"}, "respond": {}}]}
    )
    assert script.pick(view(function_response_names=["kubernetes__pods_list"]))[0] == "t"
    assert (
        script.pick(view(function_response_names=["kubernetes__pods_list_in_namespace"]))[0] is None
    )


def test_model_and_tools_conditions():
    script = Script.load(
        {"turns": [{"id": "t", "match": {"model": "gemini-2.5-pro", "tools_offered": False}}]}
    )
    assert script.pick(view(model="models/gemini-2.5-pro"))[0] == "t"
    assert script.pick(view(model="gemini-2.5-pro", tools_offered=True))[0] is None


def test_unknown_keys_are_reported_with_location():
    with pytest.raises(
        ScriptError, match=r"turns\[0\]\.match: unknown key\(s\) \['sytem_contains'\]"
    ):
        Script.load({"turns": [{"match": {"sytem_contains": "x"}}]})
    with pytest.raises(ScriptError, match="function_calls\\[0\\]: needs a 'name'"):
        Script.load({"turns": [{"respond": {"function_calls": [{"args": {}}]}}]})


def test_missing_script_file_says_how_to_fix(tmp_path):
    with pytest.raises(ScriptError, match="does not exist; pass --script"):
        Script.load(tmp_path / "nope.yaml")
