"""The devkit Gemini server driven by the real google-genai client over real HTTP."""

from __future__ import annotations

import base64
import json
import time

import aiohttp
import pytest
from google import genai
from google.genai import errors, types

from devkit import scripts_dir
from devkit.gemini import GeminiServer

TOOLS_SCRIPT = {
    "turns": [
        {
            "id": "call-tools",
            "match": {"system_contains": "Stage: triage", "lacks_function_response": "pods_list"},
            "respond": {
                "thought": "Let me look at the pods first.",
                "function_calls": [
                    {"name": "kubernetes__pods_list", "args": {"namespace": "payments"}},
                    {"name": "kubernetes__events_list", "args": {"namespace": "payments"}},
                ],
                "thought_signature": True,
            },
        },
        {
            "id": "answer",
            "match": {"has_function_response": "pods_list"},
            "respond": {"text": ["The pods are ", "OOMKilled."]},
        },
    ]
}


def client_for(server: GeminiServer, timeout_ms: int | None = None) -> genai.Client:
    return genai.Client(
        api_key="test-key",
        http_options=types.HttpOptions(
            base_url=server.base_url, api_version="v1beta", timeout=timeout_ms
        ),
    )


def tool_config() -> types.GenerateContentConfig:
    decl = types.FunctionDeclaration(
        name="kubernetes__pods_list",
        description="List pods",
        parameters_json_schema={"type": "object", "properties": {"namespace": {"type": "string"}}},
    )
    return types.GenerateContentConfig(
        system_instruction="You are TARSy. Stage: triage",
        tools=[types.Tool(function_declarations=[decl])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


async def stream_parts(client, contents, config, model="gemini-2.5-flash"):
    parts, chunks = [], []
    stream = await client.aio.models.generate_content_stream(
        model=model, contents=contents, config=config
    )
    async for chunk in stream:
        chunks.append(chunk)
        parts.extend(chunk.candidates[0].content.parts or [])
    return parts, chunks


async def test_tool_call_round_trip_with_signature_and_usage():
    async with GeminiServer(TOOLS_SCRIPT) as g:
        client = client_for(g)
        config = tool_config()
        contents = [types.Content(role="user", parts=[types.Part(text="Alert: checkout down")])]

        parts, chunks = await stream_parts(client, contents, config)
        calls = [p for p in parts if p.function_call]
        assert [c.function_call.name for c in calls] == [
            "kubernetes__pods_list",
            "kubernetes__events_list",
        ]
        assert all(c.function_call.id for c in calls)
        assert calls[0].function_call.args == {"namespace": "payments"}
        assert calls[0].thought_signature  # bytes, decoded by the client
        assert any(p.thought and p.text for p in parts)
        assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
        usage = chunks[-1].usage_metadata
        assert usage.prompt_token_count > 0 and usage.thoughts_token_count > 0

        contents.append(types.Content(role="model", parts=parts))
        contents.append(
            types.Content(
                role="user",
                parts=[
                    types.Part(
                        function_response=types.FunctionResponse(
                            id=c.function_call.id,
                            name=c.function_call.name,
                            response={"result": "checkout-1 OOMKilled"},
                        )
                    )
                    for c in calls
                ],
            )
        )
        parts2, chunks2 = await stream_parts(client, contents, config)
        assert "".join(p.text for p in parts2 if p.text) == "The pods are OOMKilled."
        assert len(chunks2) == 2  # text arrives as separate streamed events
        # The prompt grew, and the token count says so.
        assert chunks2[-1].usage_metadata.prompt_token_count > usage.prompt_token_count

        assert [r.turn_id for r in g.requests] == ["call-tools", "answer"]
        second = g.requests[1]
        assert second.kind == "gemini" and second.model == "gemini-2.5-flash"
        assert "x-goog-api-key" not in {k.lower() for k in second.headers}
        echoed = [p for c in second.body["contents"] for p in c["parts"] if "functionCall" in p]
        issued = g.requests[0].reply["thought_signature"]
        assert base64.urlsafe_b64decode(echoed[0]["thoughtSignature"]) == base64.b64decode(issued)
        assert second.body["systemInstruction"]["parts"][0]["text"].endswith("Stage: triage")


async def test_non_streaming_generate_content_and_env_base_url(monkeypatch):
    async with GeminiServer({"default": {"text": ["hello ", "there"]}}) as g:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", g.base_url)
        client = genai.Client(api_key="k", http_options=types.HttpOptions(api_version="v1beta"))
        resp = await client.aio.models.generate_content(model="gemini-2.5-pro", contents="hi")
        assert resp.text == "hello there"
        assert resp.usage_metadata.total_token_count >= resp.usage_metadata.prompt_token_count
        await g.wait_for_requests(1, timeout=5)
        assert g.requests[0].turn_id is None and not g.requests[0].stream


async def test_429_carries_retry_info_and_503_is_server_error():
    async with GeminiServer(TOOLS_SCRIPT) as g:
        client = client_for(g)
        g.fail_next(status=429, times=1, retry_after_s=2)
        with pytest.raises(errors.ClientError) as info:
            await stream_parts(client, "hi", None)
        assert info.value.code == 429
        details = info.value.details["error"]["details"]
        retry = [d for d in details if d["@type"].endswith("google.rpc.RetryInfo")]
        assert retry[0]["retryDelay"] == "2s"

        g.fail_next(status=503)
        with pytest.raises(errors.ServerError) as info5:
            await client.aio.models.generate_content(model="m", contents="hi")
        assert info5.value.code == 503

        # Failures are one-shot: the next request succeeds.
        resp = await client.aio.models.generate_content(model="m", contents="hi")
        assert "no scripted answer" in resp.text
        assert [r.error["status"] if r.error else None for r in g.requests] == [429, 503, None]


async def test_script_error_turn_fails_first_match_only():
    script = {
        "turns": [
            {
                "id": "flaky",
                "match": {"any_text_contains": "hello"},
                "error": {"status": 500, "times": 1},
                "respond": {"text": "recovered"},
            }
        ]
    }
    async with GeminiServer(script) as g:
        client = client_for(g)
        with pytest.raises(errors.ServerError):
            await client.aio.models.generate_content(model="m", contents="hello")
        resp = await client.aio.models.generate_content(model="m", contents="hello")
        assert resp.text == "recovered"


async def test_hang_longer_than_client_timeout():
    async with GeminiServer(TOOLS_SCRIPT) as g:
        g.fail_next(kind="hang", delay_s=5)
        client = client_for(g, timeout_ms=300)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.aio.models.generate_content(model="m", contents="hi")
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("kind", "expected", "texts_before_error"),
    [
        ("garbage", errors.UnknownApiResponseError, []),
        ("cut", (aiohttp.ClientPayloadError, errors.UnknownApiResponseError), ["partial "]),
    ],
)
async def test_malformed_streams_raise(kind, expected, texts_before_error):
    async with GeminiServer(TOOLS_SCRIPT) as g:
        g.fail_next(kind=kind)
        received = []
        stream = await client_for(g).aio.models.generate_content_stream(model="m", contents="hi")
        with pytest.raises(expected):
            async for chunk in stream:
                received.append(chunk.text)
        assert received == texts_before_error


async def test_missing_api_key_is_401_shaped_like_google():
    async with GeminiServer(TOOLS_SCRIPT) as g, aiohttp.ClientSession() as http:
        url = f"{g.base_url}/v1beta/models/gemini-2.5-flash:generateContent"
        async with http.post(url, json={"contents": []}) as resp:
            assert resp.status == 401
            body = await resp.json()
        assert body["error"]["status"] == "UNAUTHENTICATED"
        assert g.requests == []


async def test_requests_endpoint_and_replay(tmp_path):
    log = tmp_path / "log.json"
    async with GeminiServer(TOOLS_SCRIPT, record_path=log) as g:
        client = client_for(g)
        parts, _ = await stream_parts(client, "Alert", tool_config())
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{g.base_url}/_devkit/requests") as resp,
        ):
            listed = (await resp.json())["requests"]
        assert listed[0]["turn_id"] == "call-tools"
        assert "Stage: triage" in g.all_request_text()
    original_ids = [p.function_call.id for p in parts if p.function_call]

    async with GeminiServer(replay=log) as replay:
        parts2, _ = await stream_parts(client_for(replay), "anything", None)
        assert [p.function_call.id for p in parts2 if p.function_call] == original_ids
        with pytest.raises(errors.ServerError, match="replay exhausted"):
            await stream_parts(client_for(replay), "more", None)


async def test_checkout_script_walks_three_stages():
    """The shipped script answers each stage marker with tool calls, then the final format."""
    async with GeminiServer(scripts_dir() / "checkout-oom.yaml") as g:
        client = client_for(g)
        for stage, expected_tool in [
            ("triage", "kubernetes__pods_list_in_namespace"),
            ("diagnose", "kubernetes__pods_log"),
            ("recommend", "kubernetes__prometheus_query"),
        ]:
            config = types.GenerateContentConfig(
                system_instruction=f"Stage: {stage}",
                tools=tool_config().tools,
                automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            )
            contents = [types.Content(role="user", parts=[types.Part(text="alert")])]
            for _ in range(4):
                parts, _ = await stream_parts(client, contents, config)
                calls = [p.function_call for p in parts if p.function_call]
                if not calls:
                    break
                contents.append(types.Content(role="model", parts=parts))
                contents.append(
                    types.Content(
                        role="user",
                        parts=[
                            types.Part.from_function_response(name=c.name, response={"r": "ok"})
                            for c in calls
                        ],
                    )
                )
            text = "".join(p.text for p in parts if p.text and not p.thought)
            for heading in ("## Findings", "## Likely cause", "## Confidence", "## Next steps"):
                assert heading in text, (stage, text)
            sent = [r.reply for r in g.requests if r.reply]
            assert any(c["name"] == expected_tool for r in sent for c in r["function_calls"])
        chat = types.GenerateContentConfig(system_instruction="Follow-up chat for incident")
        resp = await client.aio.models.generate_content(
            model="m", contents="Is it safe to roll back?", config=chat
        )
        assert "revision 41" in resp.text
        assert json.dumps([r.turn_id for r in g.requests]).count("final") == 3
