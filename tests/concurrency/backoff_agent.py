"""An agent that backs off on 429 for a simulated hour (shared by the test
and ``benchmarks/virtual_backoff.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

from tensorzero import TensorZeroError

CONFIG = """
[models.m]
routing = ["p"]
[models.m.providers.p]
type = "openai"
model_name = "m"
api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"

[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
"""
#: a provider that allows 2 requests a minute and never counts refusals
WORLD = {
    "models": {
        "m": {
            "latency_s": 0.5,
            "rate_limits": {"requests_per_minute": 2, "count_refused": False},
        }
    }
}
HOUR_S = 3600.0
MESSAGE = {"messages": [{"role": "user", "content": "ping"}]}


async def worker(client: Any, sim: Any) -> tuple[int, int]:
    ok = refused = 0
    delay = 1.0
    while sim.clock.now < HOUR_S:
        try:
            await client.inference(function_name="f", input=MESSAGE)
        except TensorZeroError:
            refused += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 64.0)
        else:
            ok += 1
            delay = 1.0
    return ok, refused


async def agent(client: Any, sim: Any, workers: int = 8) -> list[tuple[int, int]]:
    return list(await asyncio.gather(*(worker(client, sim) for _ in range(workers))))
