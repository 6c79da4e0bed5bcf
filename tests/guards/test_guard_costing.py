from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pytest_runguard.guards import CostModel
from simulator import Simulation
from simulator.analysis import price_model
from simulator.config import load_config
from simulator.config.model import ChatCompletionConfig
from simulator.errors import UsageError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
NANO = Decimal(10) ** 9


def load(name: str):  # type: ignore[no-untyped-def]
    return load_config(str(SCENARIOS / name / "tensorzero.toml"))


def test_best_of_n_worst_case_counts_candidates_evaluator_and_fallback() -> None:
    costs = CostModel(load("best_of_n"))
    request = {"messages": [{"role": "user", "content": "x" * 400}]}
    sampled = costs.inference("research_step", request)
    pinned = costs.inference("research_step", request, ["baseline"])
    bon = costs.inference("research_step", request, ["best_of_5"])
    # 5 candidates + 1 evaluator, and the baseline it falls back to.
    assert (sampled.calls, bon.calls, pinned.calls) == (7, 6, 1)
    assert sampled.usd == bon.usd + pinned.usd
    # Priced exactly as the analysis (and so the simulator's catalog) prices it.
    rate = price_model(costs.config, "openai::gpt-4o-mini")
    assert pinned.usd == rate.dearest_call_usd(pinned.max_call_input_tokens, 400)


def test_retries_and_routing_multiply_worst_case_calls() -> None:
    costs = CostModel(load("retries_routing"))
    bound = costs.inference("answer_ticket", {"messages": []})
    assert bound.calls == (3 + 1) * 2 + (2 + 1) * 1


def test_an_unbounded_output_is_refused_with_the_fix() -> None:
    costs = CostModel(load("best_of_n"))
    bounded = ChatCompletionConfig(model="openai::gpt-4o", params={"max_tokens": 300})
    assert costs.output_bound(bounded, "x") == 300
    unbounded = ChatCompletionConfig(model="openai::gpt-4o")
    with pytest.raises(UsageError, match="max_output_tokens="):
        costs.output_bound(unbounded, "functions.f.variants.v")
    assert (
        CostModel(costs.config, max_output_tokens=900).output_bound(unbounded, "x")
        == 900
    )


def test_dicl_needs_the_example_size() -> None:
    costs = CostModel(load("dicl"))
    with pytest.raises(UsageError, match="dicl_example_tokens="):
        costs.inference("review_diff", {"messages": []}, ["dicl"])


def test_unpriced_model_has_no_dollar_bound() -> None:
    costs = CostModel(load("unpriced_model"))
    bound = costs.inference("research_step", {"messages": []})
    assert bound.usd is None
    assert bound.unpriced_models == ("llama_local",)
    assert costs.inference("research_step", {"messages": []}, ["mini"]).usd


@pytest.mark.parametrize(
    ("scenario", "world", "function", "agent_input"),
    [
        ("best_of_n", "world.toml", "research_step", "research"),
        ("variant_skew", "world.toml", "answer_ticket", "support"),
        ("retries_routing", "world.toml", "answer_ticket", "support"),
        ("dicl", "large_k.world.toml", "review_diff", "review"),
        ("unreported_billing", "world.toml", "research_step", "research"),
    ],
)
def test_reservation_bounds_what_the_simulator_bills(
    scenario: str, world: str, function: str, agent_input: str
) -> None:
    """Every inference's billed rows stay within the worst case reserved for
    its request, and no single prompt is larger than the bound."""
    config = load(scenario)
    costs = CostModel(config, dicl_example_tokens=2400)
    requests = {
        "research": {
            "system": "You are a careful research assistant. Cite sources.",
            "messages": [{"role": "user", "content": "Notes so far:\n" + "n" * 900}],
        },
        "support": {
            "system": "You are a support agent. Be brief and specific.",
            "messages": [{"role": "user", "content": "The export button is broken."}],
        },
        "review": {
            "messages": [{"role": "user", "content": "Review:\n" + "+ a\n" * 300}]
        },
    }
    request = requests[agent_input]
    bound = costs.inference(function, request)
    checked = 0
    for seed in range(40):
        sim = Simulation.from_config(
            config, world=SCENARIOS / scenario / world, seed=seed
        )
        client = sim.client()
        try:
            client.inference(function_name=function, input=request)
        except Exception as exc:  # every variant may fail in these worlds
            assert type(exc).__name__ == "TensorZeroError"
        rows = sim.ledger.rows()
        billed = sum(r.cost_nanousd or 0 for r in rows if r.billed)
        assert bound.usd is not None
        assert Decimal(billed) / NANO <= bound.usd
        assert len(rows) <= bound.calls
        assert (
            max((r.input_tokens for r in rows), default=0)
            <= bound.max_call_input_tokens
        )
        checked += len(rows)
    assert checked > 0
