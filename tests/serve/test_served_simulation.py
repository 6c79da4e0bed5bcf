"""The real engine served over HTTP: the same simulation answers the real
clients, and a fixed call sequence leaves the same ledger as in-process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import tensorzero
from served_config import INPUT, WORLD, agent, write_config

from simulator.serve import GatewayServer

simulation = pytest.importorskip(
    "simulator.simulation", reason="the simulation engine is not built yet"
)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def _sim(config_path: Path, seed: int = 7) -> Any:
    return simulation.Simulation.from_config(str(config_path), world=WORLD, seed=seed)


@pytest.fixture
def served(config_path: Path) -> Iterator[tuple[Any, GatewayServer]]:
    sim = _sim(config_path)
    with GatewayServer(sim) as server:
        yield sim, server
    assert server.internal_errors == []


def test_ledger_digest_equals_in_process(config_path: Path) -> None:
    in_process = _sim(config_path)
    expected = agent(in_process.client())
    over_http = _sim(config_path)
    with GatewayServer(over_http) as server:
        seen = agent(tensorzero.TensorZeroGateway.build_http(gateway_url=server.url))
    assert server.internal_errors == []
    assert seen == expected
    assert seen[-1] == 502
    assert over_http.ledger.provider_calls == in_process.ledger.provider_calls
    assert over_http.ledger.rows() == in_process.ledger.rows()
    assert over_http.ledger.digest() == in_process.ledger.digest()
    assert len(over_http.feedback_records) == 1


def test_best_of_n_calls_show_in_the_ledger(
    served: tuple[Any, GatewayServer],
) -> None:
    sim, server = served
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
    response = client.inference(function_name="chat", input=INPUT, variant_name="bon")
    assert response.variant_name == "bon"
    # Two candidates and the evaluator, all counted in the response's usage.
    assert sim.ledger.provider_calls == 3
    rows = sim.ledger.rows()
    assert sorted(r.role for r in rows) == ["candidate", "candidate", "evaluator"]
    assert response.usage.input_tokens == sum(r.input_tokens for r in rows)
    assert response.usage.output_tokens == sum(r.output_tokens for r in rows)


def test_json_function_and_stream_over_async_client(
    served: tuple[Any, GatewayServer],
) -> None:
    sim, server = served

    async def run() -> tuple[Any, list[Any]]:
        client = await tensorzero.AsyncTensorZeroGateway.build_http(
            gateway_url=server.url
        )
        extracted = await client.inference(function_name="extract", input=INPUT)
        stream = await client.inference(function_name="chat", input=INPUT, stream=True)
        return extracted, [chunk async for chunk in stream]  # type: ignore[union-attr]

    extracted, chunks = asyncio.run(run())
    assert isinstance(extracted, tensorzero.JsonInferenceResponse)
    assert isinstance(extracted.output.parsed, dict)
    assert set(extracted.output.parsed) == {"answer"}
    assert json.loads(extracted.output.raw or "") == extracted.output.parsed
    assert chunks and chunks[-1].usage is not None
    assert len(sim.ledger.inferences) == 2


def test_errors(served: tuple[Any, GatewayServer]) -> None:
    sim, server = served
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
    with pytest.raises(tensorzero.TensorZeroError) as unknown:
        client.inference(function_name="nope", input=INPUT)
    assert unknown.value.status_code == 404
    assert json.loads(unknown.value.text or "") == {"error": "Unknown function: nope"}
    with pytest.raises(tensorzero.TensorZeroError) as variant:
        client.inference(function_name="chat", input=INPUT, variant_name="ghost")
    assert variant.value.status_code == 404
    with pytest.raises(tensorzero.TensorZeroError) as failed:
        client.inference(function_name="failing", input=INPUT)
    assert failed.value.status_code == 502
    assert json.loads(failed.value.text or "")["error"].startswith(
        "All variants failed with errors: only: "
    )
    # Failed attempts are billed rows in the ledger even though the call failed.
    assert sim.ledger.provider_calls >= 1


def test_openai_sdk(served: tuple[Any, GatewayServer]) -> None:
    sim, server = served
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="unused")
    completion = client.chat.completions.create(
        model="tensorzero::function_name::chat",
        messages=[{"role": "user", "content": "Write a haiku about tests."}],
        extra_body={"tensorzero::variant_name": "small"},
    )
    assert completion.model == "tensorzero::function_name::chat::variant_name::small"
    assert completion.choices[0].message.content
    usage = completion.usage
    assert usage is not None
    row = sim.ledger.rows()[0]
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        row.input_tokens,
        row.output_tokens,
    )
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(
            model="tensorzero::function_name::failing",
            messages=[{"role": "user", "content": "hi"}],
        )
    assert failed.value.status_code == 502
    stream = client.chat.completions.create(
        model="tensorzero::model_name::openai::gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None
    assert chunks[0].model == "tensorzero::model_name::openai::gpt-4o-mini"
