"""Every shipped scenario over 1,000 seeds: the unguarded agent breaches as
the library says, the guarded one never does."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_runguard.agents import load_agent
from pytest_runguard.library import LibraryEntry, library_dir, load_library
from pytest_runguard.scenario import load_scenario, replay
from pytest_runguard.sweep import sweep
from simulator.errors import ScenarioError

SEEDS = 1000
BASE_SEED = 7
ENTRIES = load_library()


def params() -> list[object]:
    return [pytest.param(entry, id=entry.name) for entry in ENTRIES]


def swept(path: Path):  # type: ignore[no-untyped-def]
    scenario = load_scenario(path)
    return sweep(
        load_agent(scenario.agent, file=scenario.agent_file),
        config=scenario.config,
        world=scenario.world,
        runs=SEEDS,
        seed=BASE_SEED,
        ceilings=scenario.ceilings,
        agent_kwargs=scenario.agent_kwargs,
        fail=False,
        allow_errors=True,
    )


@pytest.mark.parametrize("entry", params())
def test_unguarded_breaches_and_guarded_holds(entry: LibraryEntry) -> None:
    unguarded = swept(entry.unguarded)
    guarded = swept(entry.guarded)
    assert unguarded.seeds == guarded.seeds
    assert unguarded.runs == guarded.runs == SEEDS
    assert (
        entry.min_unguarded_breach_rate
        <= unguarded.breach_rate
        <= entry.max_unguarded_breach_rate
    ), unguarded.describe()
    assert guarded.breaches == 0, guarded.describe()
    assert guarded.error_runs == (), guarded.describe()
    assert unguarded.error_runs == (), unguarded.describe()


def test_library_covers_every_pattern_of_the_issue() -> None:
    patterns = " | ".join(e.pattern for e in ENTRIES)
    for words in (
        "best-of-N",
        "50/50",
        "cold pool",
        "large k",
        "context overflow",
        "never reaches its threshold",
        "rate limits",
        "retries x routing x fallback",
        "unpriced model",
        "never reports",
    ):
        assert words in patterns


def test_library_is_found_in_the_installed_package() -> None:
    folder = library_dir()
    assert (folder / "library.toml").is_file()
    for entry in ENTRIES:
        assert entry.unguarded.is_file() and entry.guarded.is_file()
        for path in (entry.unguarded, entry.guarded):
            scenario = load_scenario(path)
            assert scenario.config is not None and scenario.config.is_file()
            assert isinstance(scenario.world, Path) and scenario.world.is_file()
            assert scenario.ceilings


def test_paired_files_differ_only_in_agent_and_its_kwargs() -> None:
    for entry in ENTRIES:
        unguarded, guarded = entry.scenarios()
        assert (unguarded.config, unguarded.world, unguarded.seed) == (
            guarded.config,
            guarded.world,
            guarded.seed,
        )
        assert unguarded.ceilings == guarded.ceilings
        assert unguarded.agent != guarded.agent


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.name) for e in ENTRIES for p in (e.unguarded, e.guarded)],
)
def test_each_scenario_file_replays_its_recorded_outcome(path: Path) -> None:
    result = replay(load_scenario(path))
    assert result.reproduced, result.describe()


def test_index_errors_name_the_file_and_key(tmp_path: Path) -> None:
    index = tmp_path / "library.toml"
    index.write_text(
        '[[scenario]]\nname = "x"\npattern = "p"\nunguarded = "a"\n'
        'guarded = "b"\ncolour = "red"\n'
    )
    with pytest.raises(ScenarioError, match=r"scenario\[0\]\.colour: unknown key"):
        load_library(index)
    index.write_text("title = 'no entries'\n")
    with pytest.raises(ScenarioError, match=r"\[\[scenario\]\]"):
        load_library(tmp_path)
