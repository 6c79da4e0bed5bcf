"""Timeouts against simulated latency, the virtual loop and the helpers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from concurrency_configs import BEST_OF_5, MESSAGE, provider
from tensorzero import TensorZeroError

from simulator import Simulation
from simulator.errors import UsageError

TWO_PROVIDERS = (
    '[models.m]\nrouting = ["slow", "fast"]\n'
    + provider("m", "slow", "timeouts = { non_streaming = { total_ms = 10000 } }\n")
    + provider("m", "fast")
    + """
[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
"""
)


@pytest.mark.parametrize("bill_timeouts", [True, False])
def test_provider_timeout_falls_through_to_the_next_provider(
    make_sim: Callable[..., Simulation], bill_timeouts: bool
) -> None:
    world = {
        "defaults": {"bill_timeouts": bill_timeouts, "output_tokens": 40},
        "models": {
            "m": {
                "input_tokens": 300,
                "providers": {"slow": {"latency_s": 20.0}, "fast": {"latency_s": 1.0}},
            }
        },
        "prices": {"m": {"input_per_million": 1.0, "output_per_million": 2.0}},
    }
    sim = make_sim(TWO_PROVIDERS, world=world)
    response = sim.client().inference(function_name="f", input=MESSAGE)
    assert sim.clock.now == 11.0
    assert (response.usage.input_tokens, response.usage.output_tokens) == (300, 40)
    slow, fast = sim.ledger.rows()
    assert (slow.provider, slow.outcome, slow.status) == ("slow", "timeout", 408)
    assert (slow.start_s, slow.end_s) == (0.0, 10.0)
    assert slow.billed is bill_timeouts and not slow.counted
    # a billed time-out pays its prompt and the answer it was writing
    assert slow.cost_nanousd == (300 * 1000 + 40 * 2000 if bill_timeouts else 0)
    assert (fast.provider, fast.outcome, fast.counted) == ("fast", "ok", True)
    assert (fast.start_s, fast.end_s) == (10.0, 11.0)


def test_variant_timeout_is_408(make_sim: Callable[..., Simulation]) -> None:
    config = TWO_PROVIDERS.replace(
        'model = "m"\n',
        'model = "m"\ntimeouts = { non_streaming = { total_ms = 5000 } }\n',
    )
    world = {"models": {"m": {"latency_s": 20.0}}}
    sim = make_sim(config, world=world)
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name="f", input=MESSAGE, variant_name="v")
    assert info.value.status_code == 408
    assert sim.clock.now == 5.0
    assert sim.ledger.count(outcome="timeout") == 1


def test_async_client_on_a_foreign_loop_is_refused_before_anything_runs(
    make_sim: Callable[..., Simulation],
) -> None:
    sim = make_sim(BEST_OF_5)
    client = sim.async_client()
    coro = client.inference(function_name="answer", input=MESSAGE)
    with pytest.raises(UsageError, match=r"runguard: .*sim\.run\("):
        asyncio.run(coro)
    assert sim.ledger.provider_calls == 0 and sim.ledger.inferences == []


def test_limited_sync_client_inside_a_running_loop_is_refused(
    make_sim: Callable[..., Simulation],
) -> None:
    world = {"models": {"m": {"rate_limits": {"requests_per_minute": 5}}}}
    sim = make_sim(BEST_OF_5, world=world)
    client = sim.client()

    async def agent() -> None:
        client.inference(function_name="answer", input=MESSAGE)

    with pytest.raises(UsageError, match="sim.async_client"):
        sim.run(agent())
    assert sim.ledger.provider_calls == 0


def test_sync_client_from_a_second_thread_is_refused(
    make_sim: Callable[..., Simulation],
) -> None:
    sim = make_sim(BEST_OF_5)
    client = sim.client()
    client.inference(function_name="answer", input=MESSAGE, variant_name="c")
    caught: list[BaseException] = []

    def other() -> None:
        try:
            client.inference(function_name="answer", input=MESSAGE, variant_name="c")
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            caught.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(caught) == 1 and isinstance(caught[0], UsageError)
    assert sim.ledger.provider_calls == 1


def test_concurrent_calls_overlap_and_finish_in_virtual_time_order(
    make_sim: Callable[..., Simulation],
) -> None:
    world = {"models": {"m": {"latency_s": 3.0}}}
    sim = make_sim(BEST_OF_5, world=world)
    client = sim.async_client()
    finished: list[tuple[int, float]] = []

    async def one(i: int, delay: float) -> None:
        await asyncio.sleep(delay)
        await client.inference(function_name="answer", input=MESSAGE, variant_name="c")
        finished.append((i, sim.clock.now))

    async def agent() -> None:
        await asyncio.gather(one(0, 2.0), one(1, 0.0), one(2, 1.0))

    sim.run(agent())
    assert finished == [(1, 3.0), (2, 4.0), (0, 5.0)]
    assert sim.ledger.max_in_flight() == 3
    assert sim.ledger.count(variant="c") == 3


def test_limits_that_never_bind_change_no_total(
    make_sim: Callable[..., Simulation],
) -> None:
    def run(world: dict[str, Any]) -> tuple[Any, ...]:
        sim = make_sim(BEST_OF_5, world=world, seed=3)
        client = sim.client()
        for _ in range(5):
            client.inference(function_name="answer", input=MESSAGE)
        ledger = sim.ledger
        return (ledger.provider_calls, ledger.billed_usd, sim.clock.now)

    base = {"defaults": {"latency_s": {"dist": "uniform", "low": 0.5, "high": 2.0}}}
    limited = {
        **base,
        "models": {"m": {"rate_limits": {"requests_per_minute": 10_000}}},
    }
    assert run(limited) == run(base)


def test_max_in_flight_and_count_helpers(make_sim: Callable[..., Simulation]) -> None:
    sim = make_sim(BEST_OF_5)
    sim.client().inference(function_name="answer", input=MESSAGE)
    # five candidates at once (end-exclusive), then the evaluator alone
    assert sim.ledger.max_in_flight() == 5
    assert sim.ledger.count(role="candidate") == 5
    assert sim.ledger.count(role="evaluator", outcome="ok") == 1
    with pytest.raises(UsageError, match="cannot count"):
        sim.ledger.count(colour="red")
