from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pytest_runguard.example_agents.batch import solve_batch
from pytest_runguard.example_agents.research import research_loop
from pytest_runguard.guards import BudgetExceeded, SpendGuard, UnpricedCall
from simulator import Simulation
from simulator.errors import UsageError

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
REQUEST = {"messages": [{"role": "user", "content": "What changed in 4.2?"}]}


def sim_for(name: str, seed: int = 0, world: str = "world.toml") -> Simulation:
    return Simulation.from_config(
        SCENARIOS / name / "tensorzero.toml", world=SCENARIOS / name / world, seed=seed
    )


def test_importing_the_guards_does_not_import_pytest() -> None:
    code = "import sys, pytest_runguard.guards; print('pytest' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_needs_a_limit() -> None:
    with pytest.raises(UsageError, match="budget_usd="):
        SpendGuard(SCENARIOS / "best_of_n" / "tensorzero.toml")


def test_refuses_before_spending_when_the_worst_case_does_not_fit() -> None:
    sim = sim_for("best_of_n")
    guard = SpendGuard(sim, budget_usd="0.001")
    with pytest.raises(BudgetExceeded, match="budget_usd=0.001") as caught:
        guard.wrap(sim.client()).inference(function_name="research_step", input=REQUEST)
    assert sim.ledger.provider_calls == 0
    assert caught.value.reserved_usd is not None
    assert caught.value.reserved_usd > Decimal("0.001")
    assert guard.refusals == 1


def test_pins_the_fallback_when_only_it_fits() -> None:
    sim = sim_for("best_of_n")
    guard = SpendGuard(sim, budget_usd="0.001", fallback_variant="baseline")
    response = guard.wrap(sim.client()).inference(
        function_name="research_step", input=REQUEST
    )
    assert response.variant_name == "baseline"
    assert sim.ledger.provider_calls == 1
    assert guard.pinned_fallbacks == 1
    assert Decimal(0) < guard.spent_usd <= Decimal("0.001")


def test_settles_from_reported_cost_when_the_config_prices_it() -> None:
    sim = sim_for("retries_routing")
    guard = SpendGuard(sim, budget_usd="1")
    response = guard.wrap(sim.client()).inference(
        function_name="answer_ticket", input=REQUEST
    )
    assert response.variant_name == "primary"
    assert response.usage.cost is not None
    assert guard.spent_usd == Decimal(str(response.usage.cost))
    # Attempts are not in the response, so calls stay charged at the worst
    # case: (3 retries + 1) x 2 routes + the fallback's (2 + 1) x 1.
    assert guard.calls == 11


def test_failed_attempts_billed_keeps_the_reservation() -> None:
    sim = sim_for("unreported_billing")
    trusting = SpendGuard(sim, budget_usd="1")
    careful = SpendGuard(sim, budget_usd="1", failed_attempts_billed=True)
    client = careful.wrap(trusting.wrap(sim.client()))
    client.inference(function_name="research_step", input=REQUEST)
    assert careful.spent_usd > trusting.spent_usd
    assert careful.spent_usd >= sim.ledger.billed_usd


def test_unpriced_model_is_refused_or_avoided() -> None:
    sim = sim_for("unpriced_model")
    with pytest.raises(UnpricedCall, match="llama_local"):
        SpendGuard(sim, budget_usd="1").wrap(sim.client()).inference(
            function_name="research_step", input=REQUEST
        )
    guard = SpendGuard(sim, budget_usd="1", fallback_variant="mini")
    response = guard.wrap(sim.client()).inference(
        function_name="research_step", input=REQUEST
    )
    assert response.variant_name == "mini"
    assert sim.ledger.unpriced_calls == 0


@pytest.mark.parametrize("seed", range(30))
def test_a_guarded_loop_never_bills_more_than_its_budget(seed: int) -> None:
    sim = sim_for("best_of_n", seed)
    guard = SpendGuard(sim, budget_usd="0.015")
    with pytest.raises(BudgetExceeded):
        research_loop(guard.wrap(sim.client()), queries=20)
    assert sim.ledger.billed_usd <= Decimal("0.015")
    assert sim.ledger.billed_usd <= guard.spent_usd


def test_concurrent_episodes_share_one_call_budget(corpus_dir: Path) -> None:
    sim = Simulation.from_config(
        corpus_dir / "examples/chess-puzzles/config/tensorzero.toml", seed=3
    )
    guard = SpendGuard(sim, max_provider_calls=40)
    client: Any = guard.wrap(sim.async_client())
    with pytest.raises(BudgetExceeded, match="max_provider_calls=40"):
        sim.run(solve_batch(client, episodes=12, moves_per_episode=2))
    assert 0 < sim.ledger.provider_calls <= 40


def test_wrap_keeps_the_async_api() -> None:
    sim = sim_for("best_of_n")
    wrapped = SpendGuard(sim, budget_usd="1").wrap(sim.async_client())
    assert asyncio.iscoroutinefunction(wrapped.inference)


def test_streaming_is_an_honest_gap() -> None:
    sim = sim_for("best_of_n")
    client = SpendGuard(sim, budget_usd="1").wrap(sim.client())
    with pytest.raises(NotImplementedError, match="stream=False"):
        client.inference(function_name="research_step", input=REQUEST, stream=True)
    assert sim.ledger.provider_calls == 0
