"""Provider-side limits from the world: ten concurrent episodes, each two
best-of-5 inferences, against 60 requests per minute."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from concurrency_configs import BEST_OF_5, MESSAGE
from tensorzero import TensorZeroError

from simulator import Simulation
from simulator.errors import WorldError
from simulator.world import World

WORLD = {
    "defaults": {"latency_s": 1.0, "output_tokens": 50},
    "models": {"m": {"rate_limits": {"requests_per_minute": 60}}},
}
EPISODES = 10
CANDIDATES = 5
RETRIES = 2  # the candidates' num_retries
RPM = 60


async def _episode(client: Any) -> list[int]:
    statuses = []
    for _ in range(2):
        try:
            await client.inference(function_name="answer", input=MESSAGE)
            statuses.append(200)
        except TensorZeroError as err:
            statuses.append(err.status_code)
    return statuses


async def _agent(client: Any) -> list[list[int]]:
    return list(await asyncio.gather(*(_episode(client) for _ in range(EPISODES))))


def _run(make_sim: Callable[..., Simulation], seed: int = 7) -> tuple[Any, ...]:
    sim = make_sim(BEST_OF_5, world=WORLD, seed=seed)
    statuses = sim.run(_agent(sim.async_client()))
    ledger = sim.ledger
    candidates = [r for r in ledger.rows() if r.role == "candidate"]
    retries = len(candidates) - EPISODES * 2 * CANDIDATES
    return (
        statuses,
        ledger.count_429(),
        retries,
        ledger.count(billed=True),
        ledger.provider_calls,
        ledger.max_in_flight(),
        sim.clock.now,
        ledger.digest(),
    )


def test_best_of_5_fan_out_against_60_rpm(make_sim: Callable[..., Simulation]) -> None:
    statuses, n429, retries, billed, calls, in_flight, _, _ = _run(make_sim)
    # Round one: 50 candidates start together at t=0 and fit the window;
    # the evaluators run on another model.  Round two starts at t=2: only
    # 60 - 50 = 10 candidates fit (two whole episodes, which spawn first);
    # the other 40 get 429 and so do both of their retries, since the
    # window stays full until t=60 (refused requests count too).
    refused = EPISODES * CANDIDATES - (RPM - EPISODES * CANDIDATES)
    assert n429 == refused * (1 + RETRIES) == 120
    assert retries == refused * RETRIES == 80
    lucky = (RPM - EPISODES * CANDIDATES) // CANDIDATES
    evaluators = EPISODES + lucky
    assert billed == RPM + evaluators == 72
    assert calls == billed + n429
    assert in_flight == EPISODES * CANDIDATES
    round_two = sorted(s[1] for s in statuses)
    assert [s[0] for s in statuses] == [200] * EPISODES
    # provider 429s never leak through the candidate wrappers: 502
    assert round_two == [200] * lucky + [502] * (EPISODES - lucky)


def test_identical_across_runs(make_sim: Callable[..., Simulation]) -> None:
    first = _run(make_sim)
    assert _run(make_sim) == first
    assert _run(make_sim) == first


def test_seed_changes_only_the_jitter(make_sim: Callable[..., Simulation]) -> None:
    a, b = _run(make_sim, seed=1), _run(make_sim, seed=2)
    # the counts are forced by the window; backoff jitter moves the times
    assert a[:6] == b[:6]
    assert a[7] != b[7]


def test_429_is_billed_when_the_world_says_so(
    make_sim: Callable[..., Simulation],
) -> None:
    world = {
        "defaults": {"latency_s": 1.0},
        "models": {
            "m": {
                "bill_rate_limited": True,
                "input_tokens": 1000,
                "rate_limits": {"requests_per_minute": 1, "refusal_latency_s": 0.25},
            }
        },
        "prices": {"m": {"input_per_million": 1.0, "output_per_million": 0.0}},
    }
    sim = make_sim(BEST_OF_5, world=world)
    client = sim.client()
    client.inference(function_name="answer", input=MESSAGE, variant_name="c")
    with pytest.raises(TensorZeroError) as info:
        client.inference(function_name="answer", input=MESSAGE, variant_name="c")
    assert info.value.status_code == 500
    refused = [r for r in sim.ledger.rows() if r.outcome == "rate_limited"]
    assert len(refused) == 1 + RETRIES
    # $1 per million prompt tokens x 1,000 tokens
    assert all(r.billed and r.cost_nanousd == 1_000_000 for r in refused)
    assert all(r.end_s - r.start_s == pytest.approx(0.25) for r in refused)


def test_tokens_per_minute(make_sim: Callable[..., Simulation]) -> None:
    world = {
        "models": {
            "m": {"input_tokens": 400, "rate_limits": {"tokens_per_minute": 1000}}
        }
    }
    sim = make_sim(BEST_OF_5, world=world)
    client = sim.client()
    for _ in range(2):
        client.inference(function_name="answer", input=MESSAGE, variant_name="c")
    with pytest.raises(TensorZeroError):
        client.inference(function_name="answer", input=MESSAGE, variant_name="c")
    assert sim.ledger.count(outcome="rate_limited") == 1 + RETRIES
    # a minute later the window has emptied
    sim.clock.sleep(60)
    client.inference(function_name="answer", input=MESSAGE, variant_name="c")
    assert sim.ledger.count(outcome="ok") == 3


def test_shared_pool(make_sim: Callable[..., Simulation]) -> None:
    limits = {"requests_per_minute": 2, "pool": "org"}
    world = {"models": {"m": {"rate_limits": limits}, "judge": {"rate_limits": limits}}}
    sim = make_sim(BEST_OF_5, world=world)
    client = sim.client()
    client.inference(model_name="m", input=MESSAGE)
    client.inference(model_name="judge", input=MESSAGE)
    with pytest.raises(TensorZeroError):
        client.inference(model_name="m", input=MESSAGE)
    assert sim.ledger.count(model="m", outcome="rate_limited") == 1


@pytest.mark.parametrize(
    ("limits", "key"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"requests_per_second": 5}, "requests_per_second"),
        ({"pool": 3}, "pool"),
        ({"count_refused": "yes"}, "count_refused"),
    ],
)
def test_world_refuses_bad_limits(limits: dict[str, Any], key: str) -> None:
    with pytest.raises(WorldError, match=key):
        World.from_dict({"models": {"m": {"rate_limits": limits}}})
