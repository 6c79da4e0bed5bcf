"""``--runguard-summary``, alone and aggregated across xdist workers."""

from __future__ import annotations

import re

import pytest

FLAGS = ("-p", "no:randomly")

SWEEP_FILE = """
import pytest
from budget_agents import draft_loop
from pytest_runguard.variants import with_variant_weights

@pytest.mark.runguard(config="split.toml", max_billed_usd="0.02")
def test_sweep_{n}(runguard_sim):
    config = with_variant_weights(
        runguard_sim.config(), {{"draft": {{"cheap": {cheap}, "pricey": 1}}}}
    )
    result = runguard_sim.sweep(
        draft_loop, runs=60, agent_kwargs={{"calls": 6}}, config=config, fail=False
    )
    print("STATS", result.runs, result.breaches, result.spend_p50, result.spend_p95,
          result.spend_p99)

@pytest.mark.runguard(config="split.toml")
def test_single_{n}(runguard_sim):
    draft_loop(runguard_sim.client(), calls={n})
"""


def _table(result: pytest.RunResult) -> list[str]:
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "runguard summary" in line)
    return lines[start + 1 :]


def _row(table: list[str], name: str) -> list[str]:
    for line in table:
        if line.split() and line.split()[0] == name:
            return line.split()
    raise AssertionError(f"no row {name} in {table}")


def test_summary_lists_runs_breaches_and_spend_percentiles(project):
    project.makepyfile(test_a=SWEEP_FILE.format(n=3, cheap=1))
    result = project.runpytest("--runguard-summary", "--runguard-seed=4", "-s", *FLAGS)
    result.assert_outcomes(passed=2)
    stats = re.search(
        r"STATS (\d+) (\d+) (\S+) (\S+) (\S+)", result.stdout.str()
    ).groups()
    table = _table(result)
    assert table[0].split() == ["test", "runs", "breaches", "p50", "p95", "p99"]
    sweep_row = _row(table, "test_a.py::test_sweep_3")
    assert sweep_row[1:3] == [stats[0], stats[1]]
    assert sweep_row[3:] == [f"${stats[2]}", f"${stats[3]}", f"${stats[4]}"]
    assert int(stats[1]) > 0
    # 3 cheap calls at $0.0001628 each
    assert _row(table, "test_a.py::test_single_3")[1:] == [
        "1",
        "0",
        "$0.0004884",
        "$0.0004884",
        "$0.0004884",
    ]
    assert _row(table, "total")[1:] == [str(int(stats[0]) + 1), stats[1]]
    assert "reproduce with: --runguard-seed=4" in table


def test_summary_is_off_by_default(project):
    project.makepyfile(test_a=SWEEP_FILE.format(n=3, cheap=1))
    result = project.runpytest(*FLAGS)
    assert "runguard summary" not in result.stdout.str()


def test_xdist_workers_share_the_seed_and_the_controller_aggregates(project):
    project.makepyfile(
        test_a=SWEEP_FILE.format(n=2, cheap=1), test_b=SWEEP_FILE.format(n=4, cheap=3)
    )
    alone = project.runpytest("--runguard-summary", "--runguard-seed=random", *FLAGS)
    alone.assert_outcomes(passed=4)
    seed = re.search(r"runguard: --runguard-seed=(\d+)", alone.stdout.str()).group(1)
    spread = project.runpytest_subprocess(
        "-n",
        "2",
        "--dist=loadfile",
        "--runguard-summary",
        "--runguard-seed=last",
        *FLAGS,
    )
    spread.assert_outcomes(passed=4)
    assert f"runguard: --runguard-seed={seed}" in spread.stdout.str()
    table = _table(spread)
    assert "aggregated from 2 xdist workers: gw0, gw1" in table
    # Every test's figures are the same wherever the test ran.
    for name in (
        "test_a.py::test_sweep_2",
        "test_a.py::test_single_2",
        "test_b.py::test_sweep_4",
        "test_b.py::test_single_4",
    ):
        assert _row(table, name) == _row(_table(alone), name)
    total = _row(table, "total")
    assert total[1] == "122"
    assert int(total[2]) == sum(
        int(_row(table, n)[2])
        for n in ("test_a.py::test_sweep_2", "test_b.py::test_sweep_4")
    )
