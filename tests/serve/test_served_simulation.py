"""The real engine served over HTTP: the real ``tensorzero`` clients see what
in-process callers see, and a fixed call sequence leaves the same ledger."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import tensorzero
from served_config import INPUT, MakeSim, agent, async_agent

from simulator import Simulation
from simulator.errors import UsageError
from simulator.prompts import serialized_input_tokens
from simulator.serve import GatewayServer


def _check_outcomes(seen: list[Any], sim: Simulation) -> None:
    statuses = [s for s in seen if isinstance(s, tuple)]
    assert [status for status, _ in statuses] == [502, 404, 400]
    assert statuses[1][1] == {"error": "Unknown function: nope"}
    assert statuses[0][1]["error"].startswith("All variants failed with errors: only: ")
    roles = [r.role for r in sim.ledger.rows()]
    assert roles.count("embedding") == 1 and roles.count("evaluator") == 1
    assert len(sim.feedback_records) == 1


def test_sync_ledger_digest_equals_in_process(make_sim: MakeSim) -> None:
    in_process = make_sim()
    expected = agent(in_process.client())
    over_http = make_sim()
    with GatewayServer(over_http) as server:
        seen = agent(tensorzero.TensorZeroGateway.build_http(gateway_url=server.url))
    assert server.internal_errors == []
    # Responses, chunks, feedback ids and error texts, field for field.
    assert seen == expected
    _check_outcomes(seen, over_http)
    assert over_http.ledger.rows() == in_process.ledger.rows()
    assert over_http.ledger.digest() == in_process.ledger.digest()
    assert over_http.ledger.inferences == in_process.ledger.inferences
    assert over_http.feedback_records == in_process.feedback_records


def test_async_ledger_digest_equals_in_process(make_sim: MakeSim) -> None:
    in_process = make_sim()
    expected = in_process.run(async_agent(in_process.async_client()))
    over_http = make_sim()

    async def run(url: str) -> list[Any]:
        client: Any = await tensorzero.AsyncTensorZeroGateway.build_http(
            gateway_url=url
        )  # type: ignore[misc]
        return await async_agent(client)

    with GatewayServer(over_http) as server:
        seen = asyncio.run(run(server.url))
    assert server.internal_errors == []
    assert seen == expected
    _check_outcomes(seen, over_http)
    assert over_http.ledger.digest() == in_process.ledger.digest()


def test_string_content_embeds_like_the_blocks_the_http_client_sends() -> None:
    # The HTTP client turns "hi" into a text block and an object into the
    # role's template block; DICL's embedding input must not tell them apart.
    blocks = {
        "system": "Be terse.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "template", "name": "assistant", "arguments": {"a": 1}}
                ],
            },
        ],
    }
    written = {
        "system": "Be terse.",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": {"a": 1}},
        ],
    }
    stored = (
        '{"system":"Be terse.","messages":[{"role":"user","content":[{"type":"text",'
        '"text":"hi"}]},{"role":"assistant","content":[{"type":"template","name":'
        '"assistant","arguments":{"a":1}}]}]}'
    )
    expected = -(-len(stored) // 4)  # ceil(characters / 4)
    assert serialized_input_tokens(written) == serialized_input_tokens(blocks)
    assert serialized_input_tokens(written) == expected


def test_best_of_n_calls_show_in_the_ledger(
    served: tuple[Simulation, GatewayServer],
) -> None:
    sim, server = served
    client: Any = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
    response = client.inference(function_name="chat", input=INPUT, variant_name="bon")
    assert response.variant_name == "bon"
    rows = sim.ledger.rows()
    assert sorted(r.role for r in rows) == ["candidate", "candidate", "evaluator"]
    assert response.usage.input_tokens == sum(r.input_tokens for r in rows)
    assert response.usage.output_tokens == sum(r.output_tokens for r in rows)
    assert sim.ledger.billed_usd > 0


def test_a_served_simulation_is_driven_from_one_thread(
    served: tuple[Simulation, GatewayServer],
) -> None:
    sim, server = served
    client: Any = tensorzero.TensorZeroGateway.build_http(gateway_url=server.url)
    client.inference(function_name="chat", input=INPUT)
    # The engine pins a simulation to the thread that drove it first (here the
    # server's worker), so the test itself cannot call it in-process too.
    assert threading.current_thread() is threading.main_thread()
    with pytest.raises(UsageError, match="second thread"):
        sim.client().inference(function_name="chat", input=INPUT)
    assert len(sim.ledger.inferences) == 1
