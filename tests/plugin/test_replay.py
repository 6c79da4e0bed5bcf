"""Replaying scenario files: ``runguard replay`` and ``pytest --runguard-replay``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

FLAGS = ("-p", "no:randomly", "-p", "no:cacheprovider")

SWEEP_TEST = """
import pytest
from budget_agents import draft_loop
from pytest_runguard.variants import with_variant_weights
from simulator.config import load_config

@pytest.mark.runguard(config="split.toml", max_billed_usd="0.01")
def test_sweep(runguard_sim):
    config = with_variant_weights(
        runguard_sim.config(), {"draft": {"cheap": 0.5, "pricey": 0.5}}
    )
    runguard_sim.sweep(draft_loop, runs=40, agent_kwargs={"calls": 20}, config=config)
"""


def _breach(project) -> Path:
    project.makepyfile(test_budget=SWEEP_TEST)
    result = project.runpytest("--runguard-record=recorded", *FLAGS)
    result.assert_outcomes(failed=1)
    match = re.search(r"scenario: (\S+\.toml)", result.stdout.str())
    assert match, result.stdout.str()
    path = Path(match.group(1))
    assert path.parent == project.path / "recorded"
    result.stdout.fnmatch_lines(
        [
            "*max_billed_usd=$0.01 breached: *",
            "*sweep: 40 runs (seed *): * breached*",
            f"*replay: runguard replay {path}",
        ]
    )
    return path


def test_sweep_breach_writes_a_scenario_that_the_cli_replays(project):
    path = _breach(project)
    text = path.read_text()
    assert 'config = "../split.toml"' in text
    assert 'agent = "budget_agents:draft_loop"' in text
    assert 'test = "test_budget.py::test_sweep"' in text
    assert "[variant_weights.draft]" in text
    result = project.run(
        sys.executable, "-m", "pytest_runguard.cli", "replay", str(path)
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            f"runguard: replayed {path} (seed *)",
            "  outcome: breached max_billed_usd; 20 provider calls, billed $*",
            "  max_billed_usd=$0.01 breached: *",
            "  reproduced the recorded outcome and ledger digest",
        ]
    )


def test_pytest_runguard_replay_collects_only_the_scenario(project):
    path = _breach(project)
    result = project.runpytest(f"--runguard-replay={path}", "-v", *FLAGS)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*recorded/*.toml::replay PASSED*",
            "*= runguard replay =*",
            "*reproduced the recorded outcome*",
        ]
    )


def test_a_scenario_that_replays_differently_fails(project):
    path = _breach(project)
    text = path.read_text()
    digest = re.search(r'digest = "(\w+)"', text).group(1)
    path.write_text(text.replace(digest, "0" * 64))
    result = project.runpytest(f"--runguard-replay={path}", *FLAGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*does NOT match the recording:*",
            f"*digest: recorded {'0' * 64}, replay {digest}*",
        ]
    )
    cli = project.run(sys.executable, "-m", "pytest_runguard.cli", "replay", str(path))
    assert cli.ret == 1


def test_cli_refuses_a_newer_format_with_exit_2(project):
    path = project.path / "future.toml"
    path.write_text('format_version = 99\nseed = 1\nagent = "m:f"\nconfig = "c.toml"\n')
    result = project.run(
        sys.executable, "-m", "pytest_runguard.cli", "replay", str(path)
    )
    assert result.ret == 2
    result.stderr.fnmatch_lines(
        [
            f"runguard: {path}: format_version: 99 is newer than this "
            "pytest-runguard reads*"
        ]
    )


def test_runguard_runs_overrides_the_tests_runs(project):
    project.makepyfile(
        """
        import pytest
        from budget_agents import draft_loop

        @pytest.mark.runguard(config="split.toml", max_provider_calls=5)
        def test_sweep(runguard_sim):
            result = runguard_sim.sweep(draft_loop, runs=10, agent_kwargs={"calls": 2})
            print("RUNS", result.runs)
        """
    )
    result = project.runpytest("--runguard-runs=7", "-s", *FLAGS)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*RUNS 7*"])
    default = project.runpytest("-s", *FLAGS)
    default.stdout.fnmatch_lines(["*RUNS 10*"])
