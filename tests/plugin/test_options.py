"""The plugin's options, ini keys and report header, end to end with pytester."""

from __future__ import annotations

import re

import pytest

from pytest_runguard.seeds import nodeid_seed

SEED_TEST = """
def test_seed(runguard_sim):
    print("SEED", runguard_sim.seed, runguard_sim.base_seed)
"""


def _seed_line(result: pytest.RunResult) -> tuple[int, int]:
    for line in result.outlines:
        match = re.search(r"SEED (\d+) (\d+)", line)
        if match:
            return int(match.group(1)), int(match.group(2))
    raise AssertionError("the test printed no seed:\n" + result.stdout.str())


def test_header_prints_the_flag_that_reproduces_the_run(pytester):
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("--runguard-seed=1234", "-s", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["runguard: --runguard-seed=1234"])
    test_seed, base = _seed_line(result)
    assert base == 1234
    assert test_seed == nodeid_seed(
        1234, "test_header_prints_the_flag_that_reproduces_the_run.py::test_seed"
    )


def test_default_seed_comes_from_the_ini_key(pytester):
    pytester.makeini("[pytest]\nrunguard_seed = 77\n")
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("-s", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["runguard: --runguard-seed=77"])
    assert _seed_line(result)[1] == 77


def test_without_option_or_ini_the_seed_is_zero(pytester):
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("-s", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["runguard: --runguard-seed=0"])


def test_random_then_last_reuses_the_seed(pytester):
    pytester.makepyfile(SEED_TEST)
    first = pytester.runpytest("--runguard-seed=random", "-s", "-p", "no:randomly")
    seed = _seed_line(first)[1]
    first.stdout.fnmatch_lines([f"runguard: --runguard-seed={seed}"])
    again = pytester.runpytest("--runguard-seed=last", "-s", "-p", "no:randomly")
    again.stdout.fnmatch_lines([f"runguard: --runguard-seed={seed}"])
    assert _seed_line(again) == _seed_line(first)


def test_bad_seed_is_a_usage_error_naming_the_choices(pytester):
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("--runguard-seed=soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--runguard-seed*'soon' is not a seed*'random'*'last'*"]
    )


def test_bad_runs_is_a_usage_error(pytester):
    pytester.makepyfile(SEED_TEST)
    result = pytester.runpytest("--runguard-runs=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--runguard-runs*'0' is not a positive integer*"])


def test_options_are_in_one_group(pytester):
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    section = text[text.index("spend ceilings for TensorZero agents") :]
    for option in (
        "--runguard-seed=SEED",
        "--runguard-runs=N",
        "--runguard-record=DIR",
        "--runguard-replay=FILE",
        "--runguard-summary",
    ):
        assert option in section
    for ini in ("runguard_config", "runguard_world", "runguard_max_billed_usd"):
        assert ini in text


def test_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.runguard(config=None, world=None, seed=None, **ceilings)*"]
    )


def test_marker_refuses_unknown_arguments(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.runguard(max_dollars=1)
        def test_x(runguard_sim):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*runguard: *unknown argument 'max_dollars'*max_billed_usd*"]
    )


def test_marker_seed_fixes_the_test_seed(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.runguard(seed=5)
        def test_seed(runguard_sim):
            print("SEED", runguard_sim.seed, runguard_sim.base_seed)
        """
    )
    result = pytester.runpytest("--runguard-seed=9", "-s", "-p", "no:randomly")
    assert _seed_line(result) == (5, 9)


def test_replay_of_a_missing_file_is_a_usage_error(pytester):
    result = pytester.runpytest("--runguard-replay=nope.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*runguard: --runguard-replay nope.toml: no such scenario file*"]
    )
