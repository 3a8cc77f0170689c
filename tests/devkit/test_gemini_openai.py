"""OpenAI-compatible Chat Completions on the devkit Gemini server, via aiohttp over HTTP."""

from __future__ import annotations

import json

import aiohttp

from devkit.gemini import GeminiServer

SCRIPT = {
    "turns": [
        {
            "id": "tools",
            "match": {"system_contains": "Stage: triage", "lacks_function_response": "pods_list"},
            "respond": {
                "function_calls": [
                    {"name": "kubernetes__pods_list", "args": {"namespace": "payments"}},
                    {"name": "kubernetes__events_list", "args": {}},
                ]
            },
        },
        {
            "id": "final",
            "match": {"has_function_response": "pods_list", "tools_offered": True},
            "respond": {"text": ["Pods are ", "crash-looping."]},
        },
    ]
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "kubernetes__pods_list",
            "parameters": {"type": "object", "properties": {"namespace": {"type": "string"}}},
        },
    }
]
HEADERS = {"Authorization": "Bearer sk-test"}


async def sse_events(resp: aiohttp.ClientResponse) -> list:
    events = []
    async for raw in resp.content:
        line = raw.decode().strip()
        if line.startswith("data: "):
            data = line[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


async def test_streaming_tool_call_deltas_then_text_with_usage():
    async with GeminiServer(SCRIPT) as g, aiohttp.ClientSession() as http:
        url = f"{g.base_url}/v1/chat/completions"
        messages = [
            {"role": "system", "content": "You are TARSy. Stage: triage"},
            {"role": "user", "content": "checkout is down"},
        ]
        body = {
            "model": "gemini-2.5-flash",
            "messages": messages,
            "tools": TOOLS,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with http.post(url, json=body, headers=HEADERS) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            events = await sse_events(resp)
        assert events[-1] == "[DONE]"
        calls = [
            c for e in events[:-1] for ch in e["choices"] for c in ch["delta"].get("tool_calls", [])
        ]
        assert [c["function"]["name"] for c in calls] == [
            "kubernetes__pods_list",
            "kubernetes__events_list",
        ]
        assert [c["index"] for c in calls] == [0, 1]
        assert json.loads(calls[0]["function"]["arguments"]) == {"namespace": "payments"}
        finishes = [ch["finish_reason"] for e in events[:-1] for ch in e["choices"]]
        assert "tool_calls" in finishes
        assert events[-2]["usage"]["prompt_tokens"] > 0

        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        for c in calls:
            messages.append({"role": "tool", "tool_call_id": c["id"], "content": "x OOMKilled"})
        async with http.post(url, json={**body, "messages": messages}, headers=HEADERS) as resp:
            events2 = await sse_events(resp)
        text = "".join(
            ch["delta"].get("content") or "" for e in events2[:-1] for ch in e["choices"]
        )
        assert text == "Pods are crash-looping."
        assert [r.turn_id for r in g.requests] == ["tools", "final"]
        assert all(r.kind == "openai" for r in g.requests)
        assert events2[-2]["usage"]["prompt_tokens"] > events[-2]["usage"]["prompt_tokens"]


async def test_non_streaming_and_errors():
    async with GeminiServer(SCRIPT) as g, aiohttp.ClientSession() as http:
        url = f"{g.base_url}/v1/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        async with http.post(url, json=body, headers=HEADERS) as resp:
            data = await resp.json()
        assert "no scripted answer" in data["choices"][0]["message"]["content"]
        assert data["usage"]["total_tokens"] >= data["usage"]["prompt_tokens"] > 0

        g.fail_next(status=429, retry_after_s=3)
        async with http.post(url, json=body, headers=HEADERS) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "3"
            assert (await resp.json())["error"]["code"] == 429

        async with http.post(url, json=body) as resp:  # no Authorization header
            assert resp.status == 401
