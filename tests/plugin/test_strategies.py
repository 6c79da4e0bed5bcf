"""Hypothesis strategies: valid worlds, variant splits, shrinking, recording."""

from __future__ import annotations

from pathlib import Path

import plugin_agents
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorzero import TensorZeroError

from pytest_runguard.agents import run_agent
from pytest_runguard.scenario import load_scenario, replay
from pytest_runguard.strategies import (
    dicl_pools,
    models_of,
    outcome_schedules,
    price_tables,
    score_models,
    seeds,
    simulations,
    variant_weights,
    worlds,
)
from simulator import Simulation
from simulator.config import load_config
from simulator.world import World

CONFIG = Path(__file__).parent / "configs" / "split.toml"
FLAGS = ("-p", "no:randomly", "-p", "no:cacheprovider")


def test_models_of_lists_every_generation_model():
    assert models_of(load_config(CONFIG)) == [
        "cheap",
        "openai::mystery-model-2099",
        "pricey",
    ]


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(world=worlds(CONFIG, prices=True))
def test_drawn_worlds_are_valid_and_run(world):
    World.from_dict(world)
    sim = Simulation.from_config(load_config(CONFIG), world=world, seed=0)
    for function in ("draft", "draft", "recall"):
        try:
            run_agent(sim, plugin_agents.draft_loop, calls=1, function=function)
        except TensorZeroError as error:
            # Drawn outcome schedules and failure rates fail some calls, as
            # the gateway would: a 502 after its attempts, every one billed
            # or not as the world says.
            assert error.status_code >= 400
    assert sim.ledger.provider_calls >= 3


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    prices=price_tables(["cheap", "pricey"]),
    schedule=outcome_schedules(),
    score=score_models(),
    pool=dicl_pools(),
    seed=seeds(),
)
def test_part_strategies_build_valid_world_tables(prices, schedule, score, pool, seed):
    World.from_dict(
        {
            "prices": prices,
            "models": {"cheap": {"outcomes": schedule}},
            "scores": {"helpful": {"*": score}},
            "dicl": {"recall": {"dicl": pool}},
        }
    )
    assert 0 <= seed < 2**32


def test_variant_weights_start_with_the_even_split():
    strategy = variant_weights(CONFIG, "draft")
    assert st.just(0) is not None
    # The simplest example is the split nobody configured on purpose.
    from hypothesis import find

    assert find(strategy, lambda w: True) == {"draft": {"cheap": 0.5, "pricey": 0.5}}
    assert find(strategy, lambda w: w["draft"]["cheap"] != w["draft"]["pricey"]) == {
        "draft": {"cheap": 0.0, "pricey": 1.0}
    }


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(sim=simulations(CONFIG, weights=variant_weights(CONFIG, "draft"), world={}))
def test_each_example_gets_a_fresh_simulation(sim):
    assert sim.ledger.provider_calls == 0
    run_agent(sim, plugin_agents.draft_loop, calls=3)
    assert sim.ledger.provider_calls == 3


PROPERTY_TEST = """
from hypothesis import given, settings
from budget_agents import draft_loop
from pytest_runguard.agents import run_agent
from pytest_runguard.strategies import simulations, variant_weights, worlds

@settings(max_examples=100, derandomize=True, database=None, deadline=None)
@given(
    sim=simulations(
        "split.toml",
        world=worlds("split.toml", failures=False),
        weights=variant_weights("split.toml", "draft"),
    )
)
def test_drafts_stay_under_a_cent(sim):
    run_agent(sim, draft_loop, calls=20)
    sim.assert_within(max_billed_usd="0.01")
"""


def test_split_overrun_shrinks_to_the_even_split_and_is_recorded(project):
    project.makepyfile(test_property=PROPERTY_TEST)
    result = project.runpytest(*FLAGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*CeilingBreached: runguard: max_billed_usd=$0.01 breached*",
            "*runguard: seed=0 world={} variant_weights="
            "{'draft': {'cheap': 0.5, 'pricey': 0.5}}",
            "*- runguard scenario -*",
            "falsifying example written to *",
        ]
    )
    [path] = (project.path / ".runguard").glob("*.toml")
    scenario = load_scenario(path)
    # The shrunk example: the forgotten 50/50 split, the default world, seed 0.
    assert scenario.variant_weights == {"draft": {"cheap": 0.5, "pricey": 0.5}}
    assert scenario.world == {}
    assert scenario.seed == 0
    assert scenario.agent == "budget_agents:draft_loop"
    assert scenario.agent_kwargs == {"calls": 20}
    assert scenario.expected.outcome == "breached"
    assert scenario.expected.breached == ("max_billed_usd",)
    replayed = replay(scenario)
    assert replayed.reproduced, replayed.describe()
    by_variant = {row.variant for row in replayed_rows(scenario)}
    assert by_variant == {"cheap", "pricey"}


def replayed_rows(scenario):
    from pytest_runguard.variants import with_variant_weights

    config = with_variant_weights(
        load_config(scenario.config), scenario.variant_weights
    )
    sim = Simulation.from_config(config, world=scenario.world, seed=scenario.seed)
    run_agent(sim, plugin_agents.draft_loop, **scenario.agent_kwargs)
    assert sim.ledger.digest() == scenario.expected.digest
    return sim.ledger.rows()


def test_ci_profile_is_registered(project):
    project.makepyfile(
        """
        from hypothesis import settings

        def test_profile():
            profile = settings.get_profile("runguard-ci")
            assert profile.derandomize is True
            assert profile.database is None
            assert profile.deadline is None
        """
    )
    # In a fresh process: in this one the profile is registered already, so
    # an inline run would pass even if the plugin registered it too late for
    # hypothesis's own plugin to load it.
    result = project.runpytest_subprocess("--hypothesis-profile=runguard-ci", *FLAGS)
    result.assert_outcomes(passed=1)


def test_relative_config_starts_at_the_calling_module(project):
    sub = project.path / "budget"
    sub.mkdir()
    (project.path / "split.toml").rename(sub / "split.toml")
    (sub / "test_relative.py").write_text(
        "from pytest_runguard.strategies import simulations, variant_weights\n"
        "from hypothesis import given, settings\n"
        "@settings(max_examples=3, database=None, deadline=None)\n"
        '@given(sim=simulations("split.toml", world={},\n'
        '       weights=variant_weights("split.toml", "draft")))\n'
        "def test_drawn(sim):\n"
        '    assert "draft" in sim.config.functions\n'
    )
    # Run from the project root: the path is the test module's, not the cwd's.
    result = project.runpytest(*FLAGS, "budget/test_relative.py")
    result.assert_outcomes(passed=1)
