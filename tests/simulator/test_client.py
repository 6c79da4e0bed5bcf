from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from simhelpers import MESSAGE, openai_model

from simulator import Simulation
from simulator.errors import UsageError

Make = Callable[..., Simulation]
CONFIG = (
    openai_model("m")
    + """
[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
"""
)


def test_async_episodes_overlap_in_virtual_time(make_sim: Make) -> None:
    sim = make_sim(CONFIG, world={"defaults": {"latency_s": 3.0}})
    client = sim.async_client()

    async def episode() -> str:
        first = await client.inference(function_name="f", input=MESSAGE)
        await asyncio.sleep(10)
        await client.inference(
            function_name="f", input=MESSAGE, episode_id=first.episode_id
        )
        return first.variant_name

    async def main() -> list[str]:
        return await asyncio.gather(*(episode() for _ in range(5)))

    real = time.monotonic()
    assert sim.run(main()) == ["v"] * 5
    assert time.monotonic() - real < 5
    assert sim.clock.now == 16.0
    assert sim.ledger.provider_calls == 10
    assert sorted(set(sim.ledger.start_s)) == [0.0, 13.0]


def test_async_client_refuses_a_real_loop(make_sim: Make) -> None:
    sim = make_sim(CONFIG)
    with pytest.raises(UsageError, match="sim.run"):
        asyncio.run(sim.async_client().inference(function_name="f", input=MESSAGE))


def test_sync_client_refuses_a_second_thread(make_sim: Make) -> None:
    sim = make_sim(CONFIG)
    client = sim.client()
    client.inference(function_name="f", input=MESSAGE)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            client.inference(function_name="f", input=MESSAGE)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], UsageError)


def test_unsimulated_options_are_refused(make_sim: Make) -> None:
    sim = make_sim(CONFIG)
    with pytest.raises(NotImplementedError, match="cache"):
        sim.client().inference(
            function_name="f", input=MESSAGE, cache_options={"enabled": "on"}
        )


def test_score_is_deterministic_per_inference(make_sim: Make) -> None:
    toml = (
        CONFIG
        + '[metrics.ok]\ntype = "boolean"\noptimize = "max"\nlevel = "inference"\n'
    )
    toml += '[metrics.q]\ntype = "float"\noptimize = "max"\nlevel = "inference"\n'
    normal = {"dist": "normal", "mean": 0.8, "sd": 0.01}
    world = {"scores": {"q": {"v": {"value": normal}}, "ok": {"*": {"p_true": 1.0}}}}
    sim = make_sim(toml, world=world, seed=4)
    response = sim.client().inference(function_name="f", input=MESSAGE)
    q = sim.score(response, "q")
    assert q == sim.score(response, "q")
    assert 0.7 < q < 0.9
    assert sim.score(response, "ok") is True
    with pytest.raises(UsageError):
        sim.score(response, "unknown")
