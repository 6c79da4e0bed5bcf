"""One simulated run: a fresh simulation, an agent, the ceilings, the outcome.

Sweeps, property tests and replays all go through :func:`run_agent_once`,
so a run recorded by one of them is rerun by the others in exactly the same
way.  Loading is split off (:func:`load_inputs`) because a sweep loads the
config and the world once and then builds thousands of simulations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_runguard.agents import Agent, run_agent
from simulator.ceilings import Breach, Limit, check_ceilings, format_nanousd

if TYPE_CHECKING:
    from simulator import Simulation
    from simulator.config.model import Config
    from simulator.world import World


@dataclass(frozen=True)
class Outcome:
    """What one run did, in the terms a scenario file records."""

    breaches: tuple[Breach, ...]
    digest: str
    provider_calls: int
    billed_nanousd: int
    unpriced_calls: int
    #: the agent's exception, if it raised one
    error: BaseException | None = field(default=None, compare=False)

    @property
    def status(self) -> str:
        """``error`` if the agent raised, else ``breached`` or ``within``."""
        if self.error is not None:
            return "error"
        return "breached" if self.breaches else "within"

    @property
    def breached(self) -> tuple[str, ...]:
        """The names of the ceilings crossed, each once, in check order."""
        return tuple(dict.fromkeys(b.ceiling for b in self.breaches))

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else type(self.error).__name__

    def summary(self) -> str:
        head = {
            "within": "within every ceiling",
            "breached": "breached " + ", ".join(self.breached),
            "error": f"the agent raised {self.error_type}",
        }[self.status]
        return (
            f"{head}; {self.provider_calls} provider calls, billed "
            f"{format_nanousd(self.billed_nanousd)}"
            + (f" + {self.unpriced_calls} unpriced" if self.unpriced_calls else "")
            + f", ledger digest {self.digest[:16]}"
        )


def load_inputs(config: Any, world: Any = None) -> tuple[Config, World | None]:
    """The loaded ``Config`` and ``World`` a run needs, loading each at most once."""
    from simulator.config import load_config
    from simulator.config.model import Config
    from simulator.world import World

    loaded = config if isinstance(config, Config) else load_config(config)
    if world is None or isinstance(world, World):
        return loaded, world
    if isinstance(world, Mapping):
        return loaded, World.from_dict(dict(world))
    return loaded, World.load(world)


def new_simulation(
    config: Config, world: World | Mapping[str, Any] | None, seed: int
) -> Simulation:
    from simulator import Simulation

    return Simulation.from_config(config, world=world, seed=seed)


def outcome_of(
    sim: Simulation,
    ceilings: Mapping[str, Limit],
    error: BaseException | None,
    *,
    digest: bool = True,
) -> Outcome:
    """The outcome of a finished run; ``digest=False`` skips hashing the
    ledger (a sweep hashes only the runs it records)."""
    ledger = sim.ledger
    return Outcome(
        breaches=tuple(check_ceilings(sim, **ceilings)),
        digest=ledger.digest() if digest else "",
        provider_calls=ledger.provider_calls,
        billed_nanousd=ledger.billed_nanousd,
        unpriced_calls=ledger.unpriced_calls,
        error=error,
    )


def run_agent_once(
    agent: Agent,
    *,
    config: Config,
    world: World | None,
    seed: int,
    ceilings: Mapping[str, Limit],
    agent_kwargs: Mapping[str, Any] | None = None,
    digest: bool = True,
) -> tuple[Simulation, Outcome]:
    """Run ``agent`` on a fresh simulation; an exception it raises is kept in
    the outcome rather than propagated, so the run can still be recorded."""
    sim = new_simulation(config, world, seed)
    error: BaseException | None = None
    try:
        run_agent(sim, agent, **dict(agent_kwargs or {}))
    except Exception as exc:  # the agent's failure is part of the outcome
        error = exc
    return sim, outcome_of(sim, ceilings, error, digest=digest)
