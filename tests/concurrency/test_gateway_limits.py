"""The gateway's own ``[rate_limiting]`` rules (token buckets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from concurrency_configs import MESSAGE, cost_rule, provider
from tensorzero import TensorZeroError

from simulator import Simulation

#: every call sends 1,000 prompt tokens: $0.10 at $100 per million
WORLD = {"defaults": {"latency_s": 1.0}, "models": {"m": {"input_tokens": 1000}}}
EXCEEDED = (
    "TensorZero rate limit exceeded for `cost` resource.\nScope: \n"
    "Requested: 1000000000\nAvailable: 500000000"
)


async def _status(client: Any, **kwargs: Any) -> int:
    try:
        await client.inference(function_name="f", input=MESSAGE, **kwargs)
    except TensorZeroError as err:
        return err.status_code
    return 200


def test_cost_rule_with_reconciliation(make_sim: Callable[..., Simulation]) -> None:
    sim = make_sim(cost_rule(with_cost=True), world=WORLD)
    client = sim.async_client()

    async def agent() -> tuple[list[int], int, int]:
        # three at once: each takes the $1.00 default_cost from the $2.50
        # bucket before its call, so the third finds $0.50
        first = list(await asyncio.gather(*(_status(client) for _ in range(3))))
        # both calls ended at t=1 and returned $0.90 each: $2.30 is left
        await asyncio.sleep(1.0)
        fourth = await _status(client)
        fifth = await _status(client)
        return first, fourth, fifth

    first, fourth, fifth = sim.run(agent())
    assert sorted(first) == [200, 200, 429]
    assert fourth == 200
    # $2.30 - $1.00 + $0.90 = $2.20 at t=3
    assert fifth == 200
    assert sim.ledger.provider_calls == 4
    assert sim.ledger.count_429() == 1
    (refusal,) = sim.ledger.refusals
    assert refusal.time_s == 0.0
    assert refusal.message == EXCEEDED
    assert sim.ledger.reported_usd == Decimal("0.4")


def test_reconciliation_waits_for_the_end_of_the_call(
    make_sim: Callable[..., Simulation],
) -> None:
    sim = make_sim(cost_rule(with_cost=True), world=WORLD)
    client = sim.async_client()

    async def late(delay: float) -> int:
        await asyncio.sleep(delay)
        return await _status(client)

    async def agent() -> list[int]:
        # two calls at t=0 (until t=1), a third at t=0.5 and a fourth at t=1
        return list(
            await asyncio.gather(_status(client), _status(client), late(0.5), late(1))
        )

    assert sim.run(agent()) == [200, 200, 429, 200]


def test_no_cost_entries_never_correct_the_default(
    make_sim: Callable[..., Simulation],
) -> None:
    sim = make_sim(cost_rule(with_cost=False), world=WORLD)
    client = sim.client()
    client.inference(function_name="f", input=MESSAGE)
    client.inference(function_name="f", input=MESSAGE)
    with pytest.raises(TensorZeroError) as info:
        client.inference(function_name="f", input=MESSAGE)
    assert info.value.status_code == 429
    assert EXCEEDED in json.loads(info.value.text or "{}")["error"]
    assert sim.clock.now == 2.0
    # the bucket refills $2.50 once a whole minute has passed since first use
    sim.clock.sleep(58.0)
    client.inference(function_name="f", input=MESSAGE)
    assert sim.ledger.provider_calls == 3


def _rules(rules: str, max_tokens: str = "") -> str:
    return (
        '[models.m]\nrouting = ["p", "q"]\n'
        + provider("m", "p")
        + provider("m", "q")
        + rules
        + f"""
[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
{max_tokens}
"""
    )


SCOPED = """
[[rate_limiting.rules]]
priority = 0
model_inferences_per_minute = 1
scope = [{ tag_key = "user", tag_value = "tensorzero::each" }]

[[rate_limiting.rules]]
priority = 1
model_inferences_per_minute = 3
scope = [{ tag_key = "user", tag_value = "ceo" }]

[[rate_limiting.rules]]
always = true
model_inferences_per_minute = 5
scope = [{ tag_key = "user", tag_value = "tensorzero::total" }]
"""


def test_scopes_priority_and_always(make_sim: Callable[..., Simulation]) -> None:
    sim = make_sim(_rules(SCOPED))
    client = sim.client()

    def status(user: str | None) -> int:
        tags = None if user is None else {"user": user}
        try:
            client.inference(function_name="f", input=MESSAGE, tags=tags)
        except TensorZeroError as err:
            return err.status_code
        return 200

    # each user gets one call a minute; the CEO rule (priority 1) replaces
    # that for the CEO; the total rule (always) caps everyone at five
    assert [status("a"), status("a"), status("b")] == [200, 429, 200]
    assert [status("ceo") for _ in range(4)] == [200, 200, 200, 429]
    both = sim.ledger.refusals[-1].message
    assert both.startswith("TensorZero rate limits exceeded for 2 rules:\n")
    assert '├ Scope: tag_key="user", tag_value="ceo"' in both
    # a, b and three CEO calls emptied the total bucket: "c" is refused
    # although its own bucket is full
    assert status("c") == 429
    assert sim.ledger.refusals[-1].message == (
        "TensorZero rate limit exceeded for `model_inference` resource.\n"
        'Scope: tag_key="user", tag_value="tensorzero::total"\n'
        "Requested: 1\nAvailable: 0"
    )
    assert status(None) == 200  # no tag: no rule matches
    # each refused call was refused on both routing entries, p then q
    assert len(sim.ledger.refusals) == 3 * 2
    assert sim.ledger.provider_calls == 6


def test_model_inferences_refill_per_whole_interval(
    make_sim: Callable[..., Simulation],
) -> None:
    rules = "[[rate_limiting.rules]]\nalways = true\nmodel_inferences_per_second = 2\n"
    sim = make_sim(_rules(rules), world={"defaults": {"latency_s": 0.3}})
    client = sim.client()
    client.inference(function_name="f", input=MESSAGE)  # t = 0 .. 0.3
    client.inference(function_name="f", input=MESSAGE)  # t = 0.3 .. 0.6
    with pytest.raises(TensorZeroError):
        client.inference(function_name="f", input=MESSAGE)
    sim.clock.sleep(0.4)  # t = 1.0: one whole second since first use
    client.inference(function_name="f", input=MESSAGE)
    assert sim.ledger.provider_calls == 3


def test_token_rule_needs_max_tokens(make_sim: Callable[..., Simulation]) -> None:
    rules = "[[rate_limiting.rules]]\nalways = true\ntokens_per_minute = 1000\n"
    sim = make_sim(_rules(rules))
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name="f", input=MESSAGE)
    assert "Missing `max_tokens`" in (info.value.text or "")
    assert sim.ledger.provider_calls == 0

    world = {"models": {"m": {"input_tokens": 100, "output_tokens": 50}}}
    sim = make_sim(_rules(rules, "max_tokens = 300"), world=world)
    client = sim.client()
    # estimate 2 x 100 + 300 = 500 taken before each call, and the actual
    # 150 reconciled at its end: 1000 - 150 n must stay >= 500
    for _ in range(4):
        client.inference(function_name="f", input=MESSAGE)
    with pytest.raises(TensorZeroError) as info:
        client.inference(function_name="f", input=MESSAGE)
    assert info.value.status_code == 429
    assert (
        "Requested: 500\nAvailable: 400" in json.loads(info.value.text or "{}")["error"]
    )


def test_disabled_rules_do_not_apply(make_sim: Callable[..., Simulation]) -> None:
    rules = (
        "[rate_limiting]\nenabled = false\n"
        "[[rate_limiting.rules]]\nalways = true\nmodel_inferences_per_minute = 1\n"
    )
    sim = make_sim(_rules(rules))
    assert sim.engine.admission is None
    for _ in range(3):
        sim.client().inference(function_name="f", input=MESSAGE)


def test_gateway_refusal_is_not_retried_but_falls_back(
    make_sim: Callable[..., Simulation],
) -> None:
    rules = (
        "[[rate_limiting.rules]]\npriority = 0\nmodel_inferences_per_minute = 1\n"
        'scope = [{ tag_key = "user", tag_value = "tensorzero::each" }]\n'
    )
    config = _rules(rules).replace(
        'model = "m"\n', 'model = "m"\nretries = { num_retries = 3, max_delay_s = 1 }\n'
    )
    sim = make_sim(config)
    client = sim.client()
    client.inference(function_name="f", input=MESSAGE, tags={"user": "a"})
    with pytest.raises(TensorZeroError) as info:
        client.inference(function_name="f", input=MESSAGE, tags={"user": "a"})
    assert info.value.status_code == 429
    # refused on p, then on q (routing goes on), never retried, no time lost
    assert [r.provider for r in sim.ledger.refusals] == ["p", "q"]
    assert sim.clock.now == 1.0
    assert sim.ledger.provider_calls == 1
