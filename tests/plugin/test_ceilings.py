"""Ceilings over real simulations: amounts, crossing rows, unpriced calls."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import plugin_agents
import pytest

from pytest_runguard.agents import run_agent
from pytest_runguard.variants import with_variant_weights
from simulator import Simulation
from simulator.ceilings import CEILING_NAMES, check_ceilings, normalize_ceilings
from simulator.config import load_config
from simulator.errors import CeilingBreached, UnpricedCost, UsageError

CONFIG = Path(__file__).parent / "configs" / "split.toml"


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def even_split(config):
    return with_variant_weights(config, {"draft": {"cheap": 0.5, "pricey": 0.5}})


def _run(config, agent, seed=3, **kwargs):
    sim = Simulation.from_config(config, seed=seed)
    run_agent(sim, agent, **kwargs)
    return sim


def test_billed_usd_breach_names_the_exact_amount_and_the_crossing_row(even_split):
    sim = _run(even_split, plugin_agents.draft_loop, calls=20)
    rows = sim.ledger.rows()
    limit_nano = 10_000_000  # $0.01
    running, first = 0, None
    for row in rows:
        running += row.cost_nanousd
        if running > limit_nano:
            first = row.seq
            break
    assert first is not None
    [breach] = check_ceilings(sim, max_billed_usd="0.01")
    assert breach.ceiling == "max_billed_usd"
    assert breach.amount == sim.ledger.billed_usd
    assert breach.rows[0].seq == first
    assert [r.seq for r in breach.rows] == list(range(first, len(rows)))
    with pytest.raises(CeilingBreached) as info:
        sim.assert_within(max_billed_usd=0.01)
    message = str(info.value)
    assert message.startswith("runguard: max_billed_usd=$0.01 breached: ")
    assert f"${format(sim.ledger.billed_usd.normalize(), 'f')} " in message
    assert f"#{first} " in message
    assert isinstance(info.value, AssertionError)
    assert not isinstance(info.value, UnpricedCost)


def test_within_every_ceiling_passes(config):
    sim = _run(config, plugin_agents.draft_loop, calls=10)
    limits = {
        "max_billed_usd": sim.ledger.billed_usd,
        "max_provider_calls": 10,
        "max_input_tokens": sim.ledger.input_tokens_total,
        "max_output_tokens": sim.ledger.output_tokens_total,
        "max_call_input_tokens": max(r.input_tokens for r in sim.ledger.rows()),
        "max_elapsed_s": sim.clock.monotonic(),
        "max_inferences_per_episode": 1,
        "max_feedback_per_episode": 0,
    }
    assert set(limits) == set(CEILING_NAMES)
    assert check_ceilings(sim, **limits) == []
    sim.assert_within(**limits)


def test_count_and_token_ceilings_list_the_rows_past_the_limit(config):
    sim = _run(config, plugin_agents.draft_loop, calls=6)
    rows = sim.ledger.rows()
    per_call_out = rows[0].output_tokens
    breaches = check_ceilings(
        sim,
        max_provider_calls=4,
        max_output_tokens=per_call_out * 2,
        max_call_input_tokens=rows[0].input_tokens - 1,
    )
    by_name = {b.ceiling: b for b in breaches}
    assert [r.seq for r in by_name["max_provider_calls"].rows] == [4, 5]
    assert by_name["max_provider_calls"].amount == 6
    assert [r.seq for r in by_name["max_output_tokens"].rows] == [2, 3, 4, 5]
    assert by_name["max_output_tokens"].amount == sim.ledger.output_tokens_total
    assert len(by_name["max_call_input_tokens"].rows) == 6


def test_elapsed_counts_virtual_time_including_the_agents_sleeps(config):
    sim = Simulation.from_config(config, seed=1)
    client = sim.client()
    client.inference(function_name="draft", input=plugin_agents.MESSAGE)
    sim.clock.sleep(30)
    [breach] = check_ceilings(sim, max_elapsed_s=10)
    assert breach.amount == Decimal(repr(sim.clock.monotonic()))
    assert breach.amount > 30


def test_per_episode_ceilings_name_the_episode(config):
    sim = _run(config, plugin_agents.episode_loop, calls=3, feedback=True)
    episode = sim.ledger.inferences[0].episode_id
    breaches = check_ceilings(
        sim, max_inferences_per_episode=2, max_feedback_per_episode=1
    )
    inferences, feedback = breaches
    assert inferences.scope == feedback.scope == f"episode {episode}"
    assert inferences.amount == 3
    assert [r.seq for r in inferences.rows] == [2]
    assert feedback.amount == 3
    assert len(feedback.rows) == 2
    assert "feedback helpful=True on inference" in feedback.describe()


def test_an_unpriced_call_fails_a_cost_ceiling_instead_of_passing(config):
    sim = _run(config, plugin_agents.draft_loop, calls=3, function="mystery")
    assert sim.ledger.unpriced_calls == 3
    with pytest.raises(UnpricedCost) as info:
        sim.assert_within(max_billed_usd=100)
    assert "cannot be checked: 3 billed call(s) have no known price" in str(info.value)
    # Count ceilings do not need prices.
    sim.assert_within(max_provider_calls=3)


def test_a_priced_overrun_is_reported_even_with_unpriced_calls(even_split):
    sim = _run(even_split, plugin_agents.draft_loop, calls=20)
    client = sim.client()
    client.inference(function_name="mystery", input=plugin_agents.MESSAGE)
    with pytest.raises(CeilingBreached) as info:
        sim.assert_within(max_billed_usd="0.01")
    assert not isinstance(info.value, UnpricedCost)


@pytest.mark.parametrize(
    ("ceilings", "match"),
    [
        ({"max_dollars": 1}, "unknown ceiling 'max_dollars'"),
        ({"max_billed_usd": -1}, "not a non-negative amount"),
        ({"max_billed_usd": "lots"}, "not a non-negative amount"),
        ({"max_provider_calls": 2.5}, "not a non-negative integer"),
        ({"max_provider_calls": True}, "not a number"),
    ],
)
def test_bad_ceilings_are_usage_errors(ceilings, match):
    with pytest.raises(UsageError, match=match):
        normalize_ceilings(ceilings)


def test_money_ceilings_are_exact_decimals():
    assert normalize_ceilings({"max_billed_usd": 0.1}) == {
        "max_billed_usd": Decimal("0.1")
    }
    assert normalize_ceilings({"max_billed_usd": None, "max_provider_calls": 3}) == {
        "max_provider_calls": 3
    }
