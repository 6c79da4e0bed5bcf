"""The HTTP layer on its own: the real ``tensorzero`` HTTP client and the
``openai`` SDK against a stand-in simulation that records its keywords."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest
import tensorzero
from serve_stub import StubSimulation

from simulator.serve import GatewayServer

INPUT = {"messages": [{"role": "user", "content": "hi"}]}
CANONICAL_INPUT = {
    "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
}
EPISODE = "0196c3c5-0000-7000-8000-000000000000"


def _post(url: str, body: bytes) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_sync_client_chat_and_json(
    stub_server: GatewayServer, stub_sim: StubSimulation
) -> None:
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=stub_server.url)
    chat = client.inference(function_name="chat", input=INPUT, tags={"team": "a"})
    assert isinstance(chat, tensorzero.ChatInferenceResponse)
    assert chat.content[0].text == "answer 1"  # type: ignore[attr-defined]
    assert chat.usage.input_tokens == 10 and chat.usage.cost == 0.00025
    assert chat.finish_reason == tensorzero.FinishReason.STOP
    extracted = client.inference(
        function_name="extract", input=INPUT, episode_id=EPISODE
    )
    assert isinstance(extracted, tensorzero.JsonInferenceResponse)
    assert extracted.output.parsed == {"answer": "answer 2"}
    assert extracted.output.raw == '{"answer": "answer 2"}'
    assert stub_sim.calls == [
        (
            "inference",
            {"function_name": "chat", "input": CANONICAL_INPUT, "tags": {"team": "a"}},
        ),
        (
            "inference",
            {
                "function_name": "extract",
                "input": CANONICAL_INPUT,
                "episode_id": EPISODE,
            },
        ),
    ]


def test_sync_client_stream(stub_server: GatewayServer) -> None:
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=stub_server.url)
    chunks = list(client.inference(function_name="chat", input=INPUT, stream=True))  # type: ignore[arg-type]
    assert [c.content[0].text for c in chunks] == ["answ", "er 1"]
    assert chunks[0].usage is None and chunks[1].usage.output_tokens == 1
    json_chunks = list(
        client.inference(function_name="extract", input=INPUT, stream=True)
    )  # type: ignore[arg-type]
    assert "".join(c.raw for c in json_chunks) == '{"answer": "answer 2"}'


def test_async_client(stub_server: GatewayServer) -> None:
    async def agent() -> tuple[Any, list[Any]]:
        client = await tensorzero.AsyncTensorZeroGateway.build_http(
            gateway_url=stub_server.url
        )
        response = await client.inference(function_name="chat", input=INPUT)
        stream = await client.inference(function_name="chat", input=INPUT, stream=True)
        return response, [chunk async for chunk in stream]  # type: ignore[union-attr]

    response, chunks = asyncio.run(agent())
    assert response.content[0].text == "answer 1"
    assert "".join(c.content[0].text for c in chunks) == "answer 2"


def test_gateway_errors_reach_the_client_verbatim(stub_server: GatewayServer) -> None:
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=stub_server.url)
    with pytest.raises(tensorzero.TensorZeroError) as info:
        client.inference(function_name="nope", input=INPUT)
    assert info.value.status_code == 404
    assert json.loads(info.value.text or "") == {"error": "Unknown function: nope"}
    with pytest.raises(tensorzero.TensorZeroError) as info:
        client.inference(
            function_name="chat", variant_name="broken", input=INPUT, stream=True
        )
    assert info.value.status_code == 502


def test_unknown_field_is_a_400(
    stub_server: GatewayServer, stub_sim: StubSimulation
) -> None:
    body = json.dumps({"function_name": "chat", "input": INPUT, "colour": "red"})
    status, text, _ = _post(f"{stub_server.url}/inference", body.encode())
    assert (status, text) == (400, '{"error":"unknown field `colour`"}')
    assert stub_sim.calls == []


def test_feedback(stub_server: GatewayServer, stub_sim: StubSimulation) -> None:
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=stub_server.url)
    response = client.feedback(metric_name="score", value=0.5, episode_id=EPISODE)
    assert str(response.feedback_id) == "01960000-0000-7000-8000-0000000003e7"
    assert stub_sim.calls == [
        ("feedback", {"metric_name": "score", "value": 0.5, "episode_id": EPISODE})
    ]
    with pytest.raises(tensorzero.TensorZeroError) as info:
        client.feedback(metric_name="nope", value=1, episode_id=EPISODE)
    assert info.value.status_code == 404


def test_sse_framing(stub_server: GatewayServer) -> None:
    body = json.dumps({"function_name": "chat", "input": INPUT, "stream": True})
    status, text, headers = _post(f"{stub_server.url}/inference", body.encode())
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    events = text.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    first = json.loads(events[0].removeprefix("data: "))
    assert first["content"] == [{"type": "text", "id": "0", "text": "answ"}]
    assert "usage" not in first and "finish_reason" not in first
    last = json.loads(events[1].removeprefix("data: "))
    assert last["usage"] == {"input_tokens": 10, "output_tokens": 1, "cost": 0.00025}
    assert last["finish_reason"] == "stop"


def test_health_status_and_unknown_routes(stub_server: GatewayServer) -> None:
    assert _get(f"{stub_server.url}/health") == (
        200,
        {
            "gateway": "ok",
            "clickhouse": "ok",
            "postgres": "ok",
            "valkey": "ok",
            "valkey_cache": "ok",
        },
    )
    status, body = _get(f"{stub_server.url}/status")
    assert status == 200 and body["status"] == "ok"
    assert body["version"] == tensorzero.__version__
    # Measured: the gateway's fallback route.
    assert _get(f"{stub_server.url}/nope") == (
        404,
        {"error": "Route not found: GET /nope"},
    )


def test_openai_sdk(stub_server: GatewayServer, stub_sim: StubSimulation) -> None:
    client = openai.OpenAI(base_url=stub_server.openai_base_url, api_key="unused")
    completion = client.chat.completions.create(
        model="tensorzero::function_name::chat",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        temperature=0.2,
        extra_body={"tensorzero::episode_id": EPISODE, "tensorzero::tags": {"t": "1"}},
    )
    assert completion.choices[0].message.content == "answer 1"
    assert completion.model == "tensorzero::function_name::chat::variant_name::v"
    assert completion.id == "01960000-0000-7000-8000-000000000002"
    assert completion.usage is not None and completion.usage.total_tokens == 11
    assert completion.created == 1_780_000_000
    assert stub_sim.calls[0] == (
        "inference",
        {
            "function_name": "chat",
            "input": {"system": "be brief", "messages": CANONICAL_INPUT["messages"]},
            "params": {"chat_completion": {"temperature": 0.2}},
            "episode_id": EPISODE,
            "tags": {"t": "1"},
        },
    )
    stream = client.chat.completions.create(
        model="tensorzero::function_name::chat",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "answer 2"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 20


def test_openai_sdk_errors(stub_server: GatewayServer) -> None:
    client = openai.OpenAI(base_url=stub_server.openai_base_url, api_key="unused")
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(
            model="tensorzero::function_name::nope",
            messages=[{"role": "user", "content": "hi"}],
        )
    assert not_found.value.body == {"message": "Unknown function: nope"}
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert str(bad.value.body["message"]).startswith(  # type: ignore[index]
        "Invalid request to OpenAI-compatible endpoint: `model` field must start with"
    )
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(
            model="tensorzero::function_name::chat",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"tensorzero::variant_name": "broken"},
        )
    assert failed.value.status_code == 502
