"""The ``openai`` SDK, unchanged, against the served real engine through the
gateway's OpenAI-compatible endpoint."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
import tensorzero
from served_config import INPUT, MakeSim

from simulator import Simulation
from simulator.serve import GatewayServer

MESSAGES: list[Any] = [
    {"role": "system", "content": INPUT["system"]},
    *INPUT["messages"],
]
EPISODE = "0196c3c5-0000-7000-8000-000000000000"


def _sdk(server: GatewayServer, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.openai_base_url, api_key="unused", max_retries=retries
    )


def test_chat_and_json_functions_match_in_process(make_sim: MakeSim) -> None:
    twin = make_sim()
    local = twin.client()
    chat: Any = local.inference(function_name="chat", input=INPUT, episode_id=EPISODE)
    extracted = local.inference(function_name="extract", input=INPUT)
    best: Any = local.inference(function_name="chat", input=INPUT, variant_name="bon")
    sim = make_sim()
    with GatewayServer(sim) as server:
        client = _sdk(server)
        completion = client.chat.completions.create(
            model="tensorzero::function_name::chat",
            messages=MESSAGES,
            extra_body={"tensorzero::episode_id": EPISODE},
        )
        answer = client.chat.completions.create(
            model="tensorzero::function_name::extract", messages=MESSAGES
        )
        best_of_n = client.chat.completions.create(
            model="tensorzero::function_name::chat",
            messages=MESSAGES,
            extra_body={"tensorzero::variant_name": "bon"},
        )
    assert server.internal_errors == []
    assert completion.id == str(chat.inference_id)
    assert completion.model == (
        f"tensorzero::function_name::chat::variant_name::{chat.variant_name}"
    )
    assert completion.choices[0].message.content == chat.content[0].text
    assert completion.choices[0].finish_reason == "stop"
    # Stamped from the virtual clock when the answer is ready, never the host's.
    assert completion.created == int(twin.clock.epoch + twin.ledger.inferences[0].end_s)
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        chat.usage.input_tokens,
        chat.usage.output_tokens,
    )
    assert isinstance(extracted, tensorzero.JsonInferenceResponse)
    content = answer.choices[0].message.content
    assert content == extracted.output.raw
    assert json.loads(content or "") == extracted.output.parsed
    assert best_of_n.model == "tensorzero::function_name::chat::variant_name::bon"
    assert best_of_n.choices[0].message.content == best.content[0].text
    assert best_of_n.usage is not None
    assert best_of_n.usage.prompt_tokens == best.usage.input_tokens
    roles = [r.role for r in sim.ledger.rows()]
    assert roles[-3:] == ["candidate", "candidate", "evaluator"]
    assert sim.ledger.digest() == twin.ledger.digest()


def test_stream_and_model_route(served: tuple[Simulation, GatewayServer]) -> None:
    sim, server = served
    stream = _sdk(server).chat.completions.create(
        model="tensorzero::model_name::openai::gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].model == "tensorzero::model_name::openai::gpt-4o-mini"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    usage = chunks[-1].usage
    (row,) = sim.ledger.rows()
    assert usage is not None and row.model == "openai::gpt-4o-mini"
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        row.input_tokens,
        row.output_tokens,
    )


def test_errors(served: tuple[Simulation, GatewayServer]) -> None:
    sim, server = served
    client = _sdk(server)
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(
            model="tensorzero::function_name::nope", messages=MESSAGES
        )
    assert not_found.value.body == {"message": "Unknown function: nope"}
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert str(bad.value.body["message"]).startswith(  # type: ignore[index]
        "Invalid request to OpenAI-compatible endpoint: `model` field must start with"
    )
    with pytest.raises(openai.BadRequestError) as tags:
        client.chat.completions.create(
            model="tensorzero::function_name::chat",
            messages=MESSAGES,
            extra_body={"tensorzero::tags": {"tensorzero::a": "b"}},
        )
    assert tags.value.body == {
        "message": "Tag name cannot start with 'tensorzero::': tensorzero::a"
    }
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(
            model="tensorzero::function_name::failing", messages=MESSAGES
        )
    assert failed.value.status_code == 502
    assert str(failed.value.body["message"]).startswith(  # type: ignore[index]
        "All variants failed with errors: only: "
    )
    assert sim.ledger.provider_calls == 1


def test_the_sdks_own_retries_are_in_the_ledger(
    served: tuple[Simulation, GatewayServer],
) -> None:
    # The OpenAI SDK retries a 502 by itself: each retry is one more
    # inference, with its own provider calls, as against the real gateway.
    sim, server = served
    with pytest.raises(openai.InternalServerError):
        _sdk(server, retries=1).chat.completions.create(
            model="tensorzero::function_name::failing", messages=MESSAGES
        )
    assert [i.status for i in sim.ledger.inferences] == [502, 502]
    assert sim.ledger.provider_calls == 2
