from __future__ import annotations

from pathlib import Path

import pytest

from pytest_runguard.example_agents.code_review import review_pull_request
from pytest_runguard.guards import DiclPromptGuard, PromptTooLarge
from simulator import Simulation
from simulator.errors import UsageError

FOLDER = Path(__file__).resolve().parents[2] / "scenarios" / "dicl"


def new_sim(world: str, seed: int = 0) -> Simulation:
    return Simulation.from_config(
        FOLDER / "tensorzero.toml", world=FOLDER / world, seed=seed
    )


def small(lines: int) -> dict[str, object]:
    return {
        "messages": [{"role": "user", "content": "Review:\n" + "+ x = 1\n" * lines}]
    }


def test_projection_is_base_plus_k_examples() -> None:
    sim = new_sim("large_k.world.toml")
    guard = DiclPromptGuard(sim, max_call_input_tokens=16000, example_tokens=1000)
    projected = guard.projected("review_diff", small(10), "dicl")
    # k = 12 examples of 1000 tokens dominate the prompt.
    assert 12_000 < projected < 12_600
    bigger = DiclPromptGuard(sim, max_call_input_tokens=16000, example_tokens=2000)
    assert bigger.projected("review_diff", small(10), "dicl") - projected == 12_000


def test_too_large_pins_the_fallback_and_fits_pins_nothing() -> None:
    sim = new_sim("large_k.world.toml")
    guard = DiclPromptGuard(
        sim,
        max_call_input_tokens=16000,
        example_tokens=1000,
        fallback_variant="baseline",
    )
    assert guard.choose("review_diff", small(10)) is None
    assert guard.choose("review_diff", small(2000)) == "baseline"
    assert guard.fallbacks == 1


def test_no_fitting_fallback_raises_prompt_too_large() -> None:
    sim = new_sim("large_k.world.toml")
    guard = DiclPromptGuard(
        sim,
        max_call_input_tokens=5000,
        example_tokens=1000,
        fallback_variant="baseline",
    )
    with pytest.raises(PromptTooLarge, match="max_call_input_tokens=5000"):
        guard.choose("review_diff", small(6000))
    with pytest.raises(PromptTooLarge):
        DiclPromptGuard(sim, max_call_input_tokens=5000, example_tokens=1000).choose(
            "review_diff", small(10)
        )


def test_a_dicl_fallback_is_refused() -> None:
    sim = new_sim("large_k.world.toml")
    guard = DiclPromptGuard(
        sim, max_call_input_tokens=100, example_tokens=1000, fallback_variant="dicl"
    )
    with pytest.raises(UsageError, match="chat_completion"):
        guard.choose("review_diff", small(10))


@pytest.mark.parametrize("seed", range(10))
def test_guarded_reviews_keep_every_prompt_under_the_ceiling(seed: int) -> None:
    sim = new_sim("context_overflow.world.toml", seed)
    guard = DiclPromptGuard(
        sim,
        max_call_input_tokens=32000,
        example_tokens=2200,
        fallback_variant="baseline",
    )
    review_pull_request(guard.wrap(sim.client()), files=5, growth_lines=200)
    rows = sim.ledger.rows()
    assert max(r.input_tokens for r in rows) <= 32000
    variants = [r.variant for r in sim.ledger.inferences]
    # Early, small diffs still get DICL; the later ones fall back.
    assert variants[0] == "dicl"
    assert variants[-1] == "baseline"
