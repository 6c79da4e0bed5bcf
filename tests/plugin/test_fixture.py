"""The runguard_sim fixture, the marker and ceiling failures, with pytester."""

from __future__ import annotations

import re

FLAGS = ("-p", "no:randomly", "-p", "no:cacheprovider")


def test_marker_ceilings_pass_when_the_agent_stays_within(project):
    project.makepyfile(
        """
        import pytest
        from budget_agents import draft_loop

        @pytest.mark.runguard(config="split.toml", max_billed_usd=0.01)
        def test_loop(runguard_sim):
            sim = runguard_sim()
            draft_loop(sim.client(), calls=20)
            assert sim.ledger.provider_calls == 20
        """
    )
    project.runpytest(*FLAGS).assert_outcomes(passed=1)


def test_breached_marker_ceiling_fails_with_ledger_and_replay_command(project):
    project.makepyfile(
        test_overrun="""
        import pytest
        from budget_agents import draft_loop

        @pytest.mark.runguard(config="split.toml", max_billed_usd="0.001")
        def test_loop(runguard_sim):
            draft_loop(runguard_sim.client(), calls=20)
        """
    )
    result = project.runpytest("--runguard-seed=11", *FLAGS)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    # 20 cheap calls at 14 in / 200 out tokens: 20 * (14*0.2 + 200*0.8) / 1e6
    result.stdout.fnmatch_lines(
        [
            "*CeilingBreached: runguard: max_billed_usd=$0.001 breached: "
            "$0.003256 (over by $0.002256)",
            "*rows that crossed it (14):",
            "*#6 t=6.000-7.000s draft/cheap generation cheap via openai: in=14 out=200 "
            "$0.0001628 ok",
            "*- runguard ledger -*",
            "simulation #0 (seed *):",
            "  20 provider calls, 20 inferences, billed $0.003256*",
            "    variant cheap: 20 calls, billed $0.003256*",
            "ceilings: max_billed_usd=0.001",
            "replay: pytest 'test_overrun.py::test_loop' --runguard-seed=11",
        ]
    )
    assert re.search(r"ledger digest [0-9a-f]{64}", out)


def test_a_breach_traceback_shows_the_test_not_the_plugin(project):
    project.makepyfile(
        test_frames="""
        import pytest
        from budget_agents import draft_loop

        @pytest.mark.runguard(config="split.toml", max_billed_usd="0.001")
        def test_marker(runguard_sim):
            draft_loop(runguard_sim.client(), calls=20)

        def test_explicit(runguard_sim):
            sim = runguard_sim(config="split.toml")
            draft_loop(sim.client(), calls=20)
            sim.assert_within(max_billed_usd="0.001")
        """
    )
    result = project.runpytest(*FLAGS)
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            '>       sim.assert_within(max_billed_usd="0.001")',
            "test_frames.py:11: CeilingBreached",
        ]
    )
    # Count the failure reports only: under CI=true pytest also prints each
    # message in full in the short summary.
    reported = [
        line
        for line in out.splitlines()
        if line.startswith("E ")
        and "CeilingBreached: runguard: max_billed_usd=$0.001 breached" in line
    ]
    assert len(reported) == 2
    for helper in (
        "pytest_runtest_call",
        "factory.check()",
        "plugin.py",
        "simulation.py",
    ):
        assert helper not in out


def test_replay_command_reproduces_the_same_ledger(project):
    project.makepyfile(
        test_digest="""
        import pytest
        from budget_agents import draft_loop
        from pytest_runguard.variants import with_variant_weights
        from simulator.config import load_config

        def test_digest(runguard_sim):
            config = with_variant_weights(
                load_config("split.toml"), {"draft": {"cheap": 1, "pricey": 1}}
            )
            sim = runguard_sim(config=config)
            draft_loop(sim.client(), calls=30)
            print("DIGEST", sim.seed, sim.ledger.digest())
        """
    )
    first = project.runpytest("--runguard-seed=random", "-s", *FLAGS)
    seed = re.search(r"--runguard-seed=(\d+)", first.stdout.str()).group(1)
    digest = re.search(r"DIGEST \d+ \w+", first.stdout.str()).group(0)
    again = project.runpytest(f"--runguard-seed={seed}", "-s", *FLAGS)
    assert re.search(r"DIGEST \d+ \w+", again.stdout.str()).group(0) == digest
    other = project.runpytest(f"--runguard-seed={int(seed) + 1}", "-s", *FLAGS)
    assert re.search(r"DIGEST \d+ \w+", other.stdout.str()).group(0) != digest


def test_ini_keys_give_config_world_and_ceilings(project):
    (project.path / "world.toml").write_text("[defaults]\noutput_tokens = 50\n")
    project.makeini(
        """
        [pytest]
        runguard_config = split.toml
        runguard_world = world.toml
        runguard_max_provider_calls = 3
        """
    )
    project.makepyfile(
        """
        from budget_agents import draft_loop

        def test_loop(runguard_sim):
            draft_loop(runguard_sim.client(), calls=4)
            assert runguard_sim.ledger.rows()[0].output_tokens == 50
        """
    )
    result = project.runpytest(*FLAGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*max_provider_calls=3 breached: 4 (over by 1)*"])


def test_marker_overrides_ini_and_none_removes_a_ceiling(project):
    project.makeini(
        "[pytest]\nrunguard_config = split.toml\nrunguard_max_provider_calls = 3\n"
    )
    project.makepyfile(
        """
        import pytest
        from budget_agents import draft_loop

        @pytest.mark.runguard(max_provider_calls=None, max_output_tokens=10_000)
        def test_loop(runguard_sim):
            draft_loop(runguard_sim.client(), calls=4)
        """
    )
    project.runpytest(*FLAGS).assert_outcomes(passed=1)


def test_factory_builds_independent_simulations_with_derived_seeds(project):
    project.makepyfile(
        """
        import pytest
        from budget_agents import draft_loop

        @pytest.mark.runguard(config="split.toml")
        def test_two(runguard_sim):
            a, b = runguard_sim(), runguard_sim()
            assert a is runguard_sim.sim
            assert a.seed == runguard_sim.seed and b.seed != a.seed
            draft_loop(a.client(), calls=2)
            assert b.ledger.provider_calls == 0
            c = runguard_sim(seed=a.seed)
            draft_loop(c.client(), calls=2)
            assert c.ledger.digest() == a.ledger.digest()
        """
    )
    project.runpytest(*FLAGS).assert_outcomes(passed=1)


def test_missing_config_is_a_clear_error(project):
    project.makepyfile(
        """
        def test_x(runguard_sim):
            runguard_sim()
        """
    )
    result = project.runpytest(*FLAGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*runguard: runguard_sim: no config; pass runguard_sim(config=*"]
    )


def test_a_failing_body_still_shows_the_ledger(project):
    project.makepyfile(
        """
        import pytest
        from budget_agents import draft_loop

        @pytest.mark.runguard(config="split.toml")
        def test_x(runguard_sim):
            draft_loop(runguard_sim.client(), calls=2)
            assert runguard_sim.ledger.provider_calls == 3
        """
    )
    result = project.runpytest(*FLAGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*- runguard ledger -*", "  2 provider calls, 2 inferences*"]
    )


def test_module_and_function_markers_merge(project):
    project.makepyfile(
        """
        import pytest
        from budget_agents import draft_loop

        pytestmark = pytest.mark.runguard(config="split.toml", max_provider_calls=2)

        @pytest.mark.runguard(max_output_tokens=100)
        def test_x(runguard_sim):
            assert runguard_sim.ceilings == {
                "max_provider_calls": 2, "max_output_tokens": 100
            }
            draft_loop(runguard_sim.client(), calls=1)
        """
    )
    result = project.runpytest(*FLAGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*max_output_tokens=100 breached: 200 (over by 100)*"])
