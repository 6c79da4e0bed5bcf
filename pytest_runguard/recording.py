"""Recording runs as scenario files under ``--runguard-record`` (``.runguard/``).

A :class:`Recorder` is set up once per sweep or property test with what every
run shares (agent, config, world, ceilings) and writes one file per run it is
asked to keep, named after the test and the run's seed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_runguard.agents import AgentEntry
from pytest_runguard.runs import Outcome
from pytest_runguard.scenario import Expected, Scenario, write_scenario
from simulator.ceilings import Limit


class Recorder:
    def __init__(
        self,
        folder: Path,
        agent: AgentEntry,
        config: Any,
        world: Any,
        agent_kwargs: Mapping[str, Any],
        ceilings: Mapping[str, Limit],
        test: str | None,
    ) -> None:
        self.folder = folder
        self.agent = agent
        self.config_path, self.variant_weights = config_reference(config)
        self.world = world_document(world)
        self.agent_kwargs = dict(agent_kwargs)
        self.ceilings = dict(ceilings)
        self.test = test

    def scenario(
        self,
        seed: int,
        outcome: Outcome,
        *,
        run: int | None = None,
        world: Mapping[str, Any] | None = None,
        variant_weights: Mapping[str, Mapping[str, float]] | None = None,
    ) -> Scenario:
        return Scenario(
            seed=seed,
            agent=self.agent.name,
            agent_file=self.agent.file,
            config=self.config_path,
            world=self.world if world is None else world,
            agent_kwargs=self.agent_kwargs,
            ceilings=self.ceilings,
            variant_weights=(
                self.variant_weights if variant_weights is None else variant_weights
            ),
            expected=Expected.from_outcome(outcome),
            test=self.test,
            run=run,
        )

    def write(self, seed: int, outcome: Outcome, *, run: int | None = None) -> Path:
        scenario = self.scenario(seed, outcome, run=run)
        return write_scenario(
            self.folder / file_name(self.test, self.agent, seed, run), scenario
        )


def file_name(
    test: str | None, agent: AgentEntry, seed: int, run: int | None = None
) -> str:
    """``<test or agent>[-run<N>]-seed<S>.toml``, safe on every file system."""
    label = test or agent.name
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_.")
    if len(slug) > 80:
        # Long parametrized ids: keep the readable start and make it unique.
        tag = hashlib.sha256(label.encode()).hexdigest()[:8]
        slug = f"{slug[:70]}-{tag}"
    run_part = "" if run is None else f"-run{run}"
    return f"{slug}{run_part}-seed{seed}.toml"


def config_reference(config: Any) -> tuple[Path, dict[str, dict[str, float]]]:
    """The config file a scenario names, and the variant weights applied to it."""
    from simulator.config.model import Config

    if not isinstance(config, Config):
        return Path(config).absolute(), {}
    from pytest_runguard.variants import derived_from

    base, weights = derived_from(config)
    if len(base.files) != 1:
        raise NotImplementedError(
            "runguard: recording a scenario for a loaded Config merged from "
            f"{len(base.files)} files is not simulated yet: pass the config's "
            'path or glob (config="configs/*.toml") instead of the Config'
        )
    return Path(base.files[0]).absolute(), weights


def world_document(world: Any) -> dict[str, Any] | None:
    """The world as the ``[world]`` table of a scenario file."""
    if world is None:
        return None
    if isinstance(world, Mapping):
        return dict(world)
    from simulator.world import World

    if not isinstance(world, World):
        world = World.load(world)
    return dict(world.to_dict())


def record_example(
    example: Any, folder: Path, test: str, error: BaseException | None
) -> Path:
    """Write the failing example of a property test as a scenario file.

    The example's own ceilings are used, else those named by the
    ``CeilingBreached`` the test raised.  A failure that is not a breach (an
    exception from the agent) is recorded as the agent's error.
    """
    from pytest_runguard.agents import agent_entry
    from pytest_runguard.runs import outcome_of
    from pytest_runguard.variants import derived_from

    ceilings = dict(example.ceilings)
    if not ceilings:
        for breach in getattr(error, "breaches", ()):
            ceilings[breach.ceiling] = breach.limit
    agent_error = None if isinstance(error, AssertionError) else error
    recorder = Recorder(
        folder,
        agent_entry(example.agent),
        example.config,
        example.world,
        example.agent_kwargs,
        ceilings,
        test,
    )
    outcome = outcome_of(example.sim, ceilings, agent_error)
    _, weights = derived_from(example.config)
    scenario = recorder.scenario(example.seed, outcome, variant_weights=weights)
    name = file_name(test, recorder.agent, example.seed)
    return write_scenario(folder / name, scenario)
