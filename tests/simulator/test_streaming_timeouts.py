"""``timeouts.streaming.ttft_ms`` is not simulated: a streaming call that
would be subject to one is refused honestly; other calls are unaffected."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from simhelpers import MESSAGE, openai_model

from simulator import Simulation

CONFIG = (
    openai_model("m")
    + openai_model("slow")
    + """
[models.slow.providers.fake.timeouts]
streaming = { ttft_ms = 500 }
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "m"
[functions.g]
type = "chat"
[functions.g.variants.a]
type = "chat_completion"
model = "slow"
"""
)


def test_streaming_under_a_ttft_timeout_is_not_simulated(
    make_sim: Callable[..., Simulation],
) -> None:
    sim = make_sim(CONFIG)
    client = sim.client()
    with pytest.raises(NotImplementedError, match=r"^runguard: .*ttft_ms"):
        client.inference(function_name="g", input=MESSAGE, stream=True)
    with pytest.raises(NotImplementedError, match="providers.fake.timeouts"):
        client.inference(model_name="slow", input=MESSAGE, stream=True)
    assert sim.ledger.provider_calls == 0
    client.inference(function_name="g", input=MESSAGE)
    list(client.inference(function_name="f", input=MESSAGE, stream=True))
    assert sim.ledger.provider_calls == 2
