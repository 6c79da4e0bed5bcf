"""The HTTP layer on the real engine: what reaches the simulation, the wire
format, the routes, and requests refused before or failing inside it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import tensorzero
from served_config import INPUT

from simulator import Simulation
from simulator.serve import GatewayServer
from simulator.serve.app import SimulationBackend, _infer

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


def test_request_options_reach_the_engine(
    served: tuple[Simulation, GatewayServer],
) -> None:
    sim, server = served
    client: Any = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
    capped = client.inference(
        function_name="chat",
        input=INPUT,
        variant_name="large",
        episode_id=EPISODE,
        params={"chat_completion": {"max_tokens": 7}},
    )
    assert capped.variant_name == "large"
    assert str(capped.episode_id) == EPISODE
    assert capped.usage.output_tokens == 7
    assert sim.ledger.rows()[0].model == "openai::gpt-4o"
    dry = client.inference(function_name="chat", input=INPUT, dryrun=True)
    client.feedback(
        metric_name="score", value=0.25, inference_id=dry.inference_id, tags={"t": "1"}
    )
    client.feedback(metric_name="comment", value="terse", episode_id=EPISODE)
    first, second = sim.feedback_records
    assert (first.metric, first.value, first.tags) == ("score", 0.25, {"t": "1"})
    assert first.inference_id == str(dry.inference_id)
    assert (second.metric, second.episode_id) == ("comment", EPISODE)


def test_gateway_errors_reach_the_client_verbatim(
    served: tuple[Simulation, GatewayServer],
) -> None:
    sim, server = served
    client: Any = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
    with pytest.raises(tensorzero.TensorZeroError) as variant:
        client.inference(function_name="chat", variant_name="ghost", input=INPUT)
    assert variant.value.status_code == 404
    assert json.loads(variant.value.text or "") == {"error": "Unknown variant: ghost"}
    with pytest.raises(tensorzero.TensorZeroError) as metric:
        client.feedback(metric_name="nope", value=1, episode_id=EPISODE)
    assert metric.value.status_code == 404
    assert json.loads(metric.value.text or "") == {"error": "Unknown metric: nope"}
    with pytest.raises(tensorzero.TensorZeroError) as failed:
        client.inference(function_name="failing", input=INPUT, stream=True)
    assert failed.value.status_code == 502
    # One attempt (no retries configured), failed and not billed.
    assert [r.outcome for r in sim.ledger.rows()] == ["server_error"]
    assert sim.ledger.billed_usd == 0


def test_bodies_refused_before_the_engine(
    served: tuple[Simulation, GatewayServer],
) -> None:
    sim, server = served
    body = json.dumps({"function_name": "chat", "input": INPUT, "colour": "red"})
    status, text, _ = _post(f"{server.url}/inference", body.encode())
    assert (status, text) == (400, '{"error":"unknown field `colour`"}')
    body = json.dumps({"function_name": "chat", "input": INPUT, "stream": "yes"})
    status, text, _ = _post(f"{server.url}/inference", body.encode())
    assert status == 400
    assert json.loads(text) == {
        "error": 'stream: invalid type: string "yes", expected a boolean'
    }
    status, text, _ = _post(f"{server.url}/feedback", b"{bad json")
    assert status == 400 and text.startswith('{"error":"Failed to parse the request')
    assert sim.ledger.rows() == [] and sim.ledger.inferences == []


def test_engine_refusals_are_400s(served: tuple[Simulation, GatewayServer]) -> None:
    sim, server = served
    client: Any = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
    with pytest.raises(tensorzero.TensorZeroError) as tags:
        client.inference(function_name="chat", input=INPUT, tags={"tensorzero::a": "b"})
    assert tags.value.status_code == 400
    assert json.loads(tags.value.text or "") == {
        "error": "Tag name cannot start with 'tensorzero::': tensorzero::a"
    }
    with pytest.raises(tensorzero.TensorZeroError) as both:
        client.inference(function_name="chat", model_name="openai::gpt-4o", input=INPUT)
    assert both.value.status_code == 400
    assert sim.ledger.provider_calls == 0


def test_sse_framing(served: tuple[Simulation, GatewayServer]) -> None:
    sim, server = served
    body = json.dumps(
        {
            "function_name": "chat",
            "variant_name": "small",
            "input": INPUT,
            "stream": True,
        }
    )
    status, text, headers = _post(f"{server.url}/inference", body.encode())
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    events = text.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(e.startswith("data: {") for e in events[:-2])
    assert chunks[0]["variant_name"] == "small"
    assert chunks[0]["content"][0]["type"] == "text"
    assert "usage" in chunks[-1] and chunks[-1]["finish_reason"] == "stop"
    row = sim.ledger.rows()[0]
    assert chunks[-1]["usage"]["input_tokens"] == row.input_tokens
    assert chunks[-1]["usage"]["output_tokens"] == row.output_tokens
    # A shorthand model has no `cost` table, so the gateway reports null even
    # though the provider bills the call.
    assert chunks[-1]["usage"]["cost"] is None
    assert row.billed and row.cost_nanousd


def test_health_status_and_unknown_routes(
    served: tuple[Simulation, GatewayServer],
) -> None:
    _, server = served
    assert _get(f"{server.url}/health") == (
        200,
        {
            "gateway": "ok",
            "clickhouse": "ok",
            "postgres": "ok",
            "valkey": "ok",
            "valkey_cache": "ok",
        },
    )
    status, body = _get(f"{server.url}/status")
    assert status == 200 and body["status"] == "ok"
    assert body["version"] == tensorzero.__version__
    # Measured: the gateway's fallback route.
    assert _get(f"{server.url}/nope") == (
        404,
        {"error": "Route not found: GET /nope"},
    )


def test_simulator_failure_is_a_500_and_is_kept(make_sim: Any) -> None:
    sim = make_sim()
    with GatewayServer(sim) as server:
        client: Any = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
        with pytest.raises(tensorzero.TensorZeroError) as info:
            client.inference(
                function_name="chat", input=INPUT, output_schema={"type": "object"}
            )
        # The server keeps answering after a failure inside the simulator.
        assert client.inference(function_name="chat", input=INPUT).variant_name
    assert info.value.status_code == 500
    message = "runguard: the inference option `output_schema` is not simulated yet"
    assert json.loads(info.value.text or "") == {"error": message}
    assert [type(e) for e in server.internal_errors] == [NotImplementedError]
    assert len(sim.ledger.inferences) == 1


def test_a_stream_cut_short_ends_with_an_error_event(make_sim: Any) -> None:
    # The engine decides a streamed inference before its first chunk, so a
    # failure after it can only come from the gateway's own stream handling;
    # the layer still frames one as the gateway does: one more event.
    sim = make_sim()
    backend = SimulationBackend(sim)
    chunks = list(
        backend.client.inference(function_name="chat", input=INPUT, stream=True)
    )

    def broken(**kwargs: Any) -> Any:
        yield from chunks[:1]
        raise tensorzero.TensorZeroError(504, '{"error":"stream timed out"}')

    backend.client.inference = broken
    try:
        reply = _infer(backend, {"function_name": "chat", "stream": True})
    finally:
        backend.close()
    assert reply.status == 200 and reply.events is not None
    assert [e.split(b"\n")[0][:6] for e in reply.events] == [b"data: "] * 3
    assert reply.events[1] == b'data: {"error":"stream timed out"}\n\n'
    assert reply.events[2] == b"data: [DONE]\n\n"
    assert backend.internal_errors == []
