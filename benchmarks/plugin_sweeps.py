"""Wall time of a sweep and of a Hypothesis property over simulated runs.

    python benchmarks/plugin_sweeps.py [--runs 5000] [--sweep-calls 50]
                                       [--examples 1000] [--property-calls 20]

The sweep runs a loop agent of ``--sweep-calls`` inferences on ``--runs``
fresh simulations of a two-variant config (even split, one variant 50x the
price of the other).  The property runs ``--examples`` Hypothesis examples
of a ``--property-calls`` loop, each on a fresh simulation drawn by
``pytest_runguard.strategies.simulations`` with a drawn world.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

CONFIG = """
[models.cheap]
routing = ["openai"]

[models.cheap.providers.openai]
type = "openai"
model_name = "cheap-model"
api_key_location = "none"
cost = [
    { pointer = "/usage/prompt_tokens", cost_per_million = 0.2 },
    { pointer = "/usage/completion_tokens", cost_per_million = 0.8 },
]

[models.pricey]
routing = ["openai"]

[models.pricey.providers.openai]
type = "openai"
model_name = "pricey-model"
api_key_location = "none"
cost = [
    { pointer = "/usage/prompt_tokens", cost_per_million = 10.0 },
    { pointer = "/usage/completion_tokens", cost_per_million = 40.0 },
]

[functions.draft]
type = "chat"

[functions.draft.experimentation]
type = "static"
candidate_variants = { cheap = 0.5, pricey = 0.5 }

[functions.draft.variants.cheap]
type = "chat_completion"
model = "cheap"

[functions.draft.variants.pricey]
type = "chat_completion"
model = "pricey"
"""
INPUT = {"messages": [{"role": "user", "content": "Draft a reply to the ticket."}]}


def loop(client: Any, *, calls: int) -> None:
    for _ in range(calls):
        client.inference(function_name="draft", input=INPUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--sweep-calls", type=int, default=50)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--property-calls", type=int, default=20)
    args = parser.parse_args()

    from hypothesis import given, settings

    from pytest_runguard.agents import run_agent
    from pytest_runguard.strategies import simulations, worlds
    from pytest_runguard.sweep import sweep

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "tensorzero.toml"
        config.write_text(CONFIG)

        start = time.perf_counter()
        result = sweep(
            loop,
            config=config,
            runs=args.runs,
            seed=0,
            ceilings={"max_billed_usd": "0.25"},
            agent_kwargs={"calls": args.sweep_calls},
            fail=False,
        )
        sweep_s = time.perf_counter() - start
        calls = sum(result.provider_calls)
        print(
            f"sweep: {result.runs} runs x {args.sweep_calls}-call loop = {calls} "
            f"provider calls in {sweep_s:.2f} s ({result.runs / sweep_s:.0f} runs/s, "
            f"{calls / sweep_s:.0f} calls/s)"
        )
        print(f"       {result.describe()}")

        examples = 0

        @settings(
            max_examples=args.examples, derandomize=True, database=None, deadline=None
        )
        @given(sim=simulations(config, world=worlds(config, failures=False)))
        def prop(sim: Any) -> None:
            nonlocal examples
            examples += 1
            run_agent(sim, loop, calls=args.property_calls)
            assert sim.ledger.provider_calls == args.property_calls

        start = time.perf_counter()
        prop()
        prop_s = time.perf_counter() - start
        print(
            f"hypothesis: {examples} examples x {args.property_calls}-call loop in "
            f"{prop_s:.2f} s ({examples / prop_s:.0f} examples/s)"
        )


if __name__ == "__main__":
    main()
