"""Sweeps: statistics, scenario files for breaching runs, and their replays."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import plugin_agents
import pytest

from pytest_runguard.runs import load_inputs, run_agent_once
from pytest_runguard.scenario import load_scenario, replay
from pytest_runguard.sweep import sweep, wilson_interval
from pytest_runguard.variants import with_variant_weights
from simulator.config import load_config
from simulator.errors import CeilingBreached, UsageError

CONFIG = Path(__file__).parent / "configs" / "split.toml"
EVEN = {"draft": {"cheap": 0.5, "pricey": 0.5}}


@pytest.fixture(scope="module")
def even_split():
    return with_variant_weights(load_config(CONFIG), EVEN)


def test_wilson_interval_matches_the_closed_form():
    # Reference values: Wilson score interval at 95% (z = 1.95996).
    assert wilson_interval(0, 100) == (0.0, pytest.approx(0.0369935, abs=1e-6))
    low, high = wilson_interval(5, 100)
    assert (low, high) == (
        pytest.approx(0.0215437, abs=1e-6),
        pytest.approx(0.1117505, abs=1e-6),
    )
    assert wilson_interval(100, 100)[1] == 1.0


def test_sweep_statistics_describe_every_run(even_split):
    result = sweep(
        plugin_agents.draft_loop,
        config=even_split,
        runs=300,
        seed=5,
        ceilings={"max_billed_usd": "0.05"},
        agent_kwargs={"calls": 10},
        fail=False,
    )
    assert result.runs == 300
    billed = np.array(result.billed_nanousd)
    assert result.breaches == int((billed > 50_000_000).sum())
    assert 0 < result.breaches < 300
    assert result.breach_rate == result.breaches / 300
    assert result.breach_interval == wilson_interval(result.breaches, 300)
    assert result.provider_calls == (10,) * 300
    # Percentiles are amounts some run really spent.
    assert result.spend_p50 * 10**9 in set(result.billed_nanousd)
    assert result.spend_p99 >= result.spend_p95 >= result.spend_p50
    assert result.worst_billed_usd == Decimal(int(billed.max())) / 10**9
    # Any run can be redone alone from its seed.
    config, world = load_inputs(even_split)
    sim, outcome = run_agent_once(
        plugin_agents.draft_loop,
        config=config,
        world=world,
        seed=result.worst_seed,
        ceilings={},
        agent_kwargs={"calls": 10},
    )
    assert sim.ledger.billed_usd == result.worst_billed_usd


def test_sweep_is_the_same_in_any_order(even_split):
    kwargs = {
        "config": even_split,
        "seed": 9,
        "ceilings": {"max_billed_usd": 1},
        "agent_kwargs": {"calls": 5},
    }
    long = sweep(plugin_agents.draft_loop, runs=40, **kwargs)
    short = sweep(plugin_agents.draft_loop, runs=10, **kwargs)
    assert long.billed_nanousd[:10] == short.billed_nanousd


def test_breaching_sweep_fails_with_the_scenario_path(even_split, tmp_path):
    with pytest.raises(CeilingBreached) as info:
        sweep(
            plugin_agents.draft_loop,
            config=CONFIG,
            runs=50,
            seed=1,
            ceilings={"max_billed_usd": "0.001"},
            agent_kwargs={"calls": 10},
            record_dir=tmp_path,
        )
    result = info.value.result
    [path] = result.scenario_paths
    assert f"scenario: {path}" in str(info.value)
    assert f"replay: runguard replay {path}" in str(info.value)
    assert result.breaches == 50
    scenario = load_scenario(path)
    assert scenario.agent == "plugin_agents:draft_loop"
    assert scenario.seed == result.seeds[0]
    assert scenario.run == 0


def test_twenty_breaching_runs_replay_to_the_same_outcome_and_digest(
    even_split, tmp_path
):
    result = sweep(
        plugin_agents.draft_loop,
        config=even_split,
        world={
            "defaults": {"output_tokens": {"dist": "uniform", "low": 50, "high": 400}}
        },
        runs=200,
        seed=2,
        ceilings={"max_billed_usd": "0.03", "max_output_tokens": 2500},
        agent_kwargs={"calls": 10},
        record_dir=tmp_path,
        record=25,
        fail=False,
    )
    assert result.breaches >= 25
    paths = result.scenario_paths
    assert len(paths) == 25
    digests = set()
    for path in paths:
        scenario = load_scenario(path)
        assert scenario.variant_weights == EVEN
        assert scenario.expected.outcome == "breached"
        replayed = replay(scenario)
        assert replayed.reproduced, replayed.describe()
        assert replayed.outcome.digest == scenario.expected.digest
        assert replayed.outcome.breached == scenario.expected.breached
        digests.add(scenario.expected.digest)
    assert len(digests) == 25


def test_a_changed_agent_does_not_replay(even_split, tmp_path):
    sweep(
        plugin_agents.draft_loop,
        config=even_split,
        runs=5,
        seed=3,
        ceilings={"max_provider_calls": 5},
        agent_kwargs={"calls": 10},
        record_dir=tmp_path,
        fail=False,
    )
    [path] = tmp_path.glob("*.toml")
    text = path.read_text().replace("\ncalls = 10", "\ncalls = 11")
    path.write_text(text)
    replayed = replay(load_scenario(path))
    assert not replayed.reproduced
    assert "provider_calls: recorded 10, replay 11" in replayed.differences
    assert any(d.startswith("digest: recorded ") for d in replayed.differences)


def test_agent_errors_are_recorded_and_reraised(tmp_path):
    with pytest.raises(RuntimeError, match="the agent gave up") as info:
        sweep(
            plugin_agents.failing_agent,
            config=CONFIG,
            runs=3,
            seed=0,
            ceilings={"max_provider_calls": 5},
            record_dir=tmp_path,
        )
    [path] = tmp_path.glob("*.toml")
    assert any(
        str(path) in note for note in getattr(info.value, "__notes__", [str(path)])
    )
    scenario = load_scenario(path)
    assert scenario.expected.outcome == "error"
    assert scenario.expected.error == "RuntimeError"
    assert replay(scenario).reproduced


def test_async_agents_and_sim_keyword(tmp_path):
    result = sweep(
        plugin_agents.async_draft_loop,
        config=CONFIG,
        runs=3,
        seed=0,
        ceilings={"max_provider_calls": 4},
        agent_kwargs={"calls": 4},
    )
    assert result.provider_calls == (4, 4, 4)
    scored = sweep(
        plugin_agents.scored_loop,
        config=CONFIG,
        runs=2,
        seed=0,
        ceilings={"max_provider_calls": 3},
        agent_kwargs={"calls": 3},
    )
    assert scored.provider_calls == (3, 3)


def test_lambdas_cannot_be_recorded(tmp_path):
    with pytest.raises(UsageError, match="define it at module level"):
        sweep(
            lambda client: None,
            config=CONFIG,
            runs=1,
            seed=0,
            ceilings={"max_provider_calls": 1},
            record_dir=tmp_path,
        )
