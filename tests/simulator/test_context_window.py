"""A prompt plus the requested completion over the context window is the
provider's 400 (OpenAI checks ``max_tokens`` against what is left)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from simhelpers import MESSAGE, openai_model
from tensorzero import TensorZeroError

from simulator import Simulation

CONFIG = (
    openai_model("m")
    + """
[functions.f]
type = "chat"
[functions.f.variants.capped]
type = "chat_completion"
model = "m"
max_tokens = 50
[functions.f.variants.open]
type = "chat_completion"
model = "m"
"""
)
WORLD = {"models": {"m": {"input_tokens": 60, "context_window": 100}}}


def test_prompt_plus_max_tokens_over_the_window_is_a_400(
    make_sim: Callable[..., Simulation],
) -> None:
    sim = make_sim(CONFIG, WORLD)
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name="f", variant_name="capped", input=MESSAGE)
    message = json.loads(info.value.text or "{}")["error"]
    assert "Error 400 Bad Request from openai client" in message
    assert "you requested 110 tokens (60 in the messages, 50 in the completion)" in (
        message
    )
    assert sim.ledger.outcome == ["client_error"]
    assert sim.ledger.status == [400]


def test_within_the_window_it_answers(make_sim: Callable[..., Simulation]) -> None:
    sim = make_sim(CONFIG, WORLD)
    client = sim.client()
    client.inference(function_name="f", variant_name="open", input=MESSAGE)
    # a request-level max_tokens replaces the variant's
    client.inference(
        function_name="f",
        variant_name="capped",
        input=MESSAGE,
        params={"chat_completion": {"max_tokens": 40}},
    )
    assert sim.ledger.outcome == ["ok", "ok"]
