"""The simulations a property test built, so a failing example can be recorded.

``pytest_runguard.strategies.simulations`` notes each ``Simulation`` it draws
here, and :func:`~pytest_runguard.agents.run_agent` notes which agent ran on
it.  When the test fails, Hypothesis has just rerun the shrunk example, so
the last simulation noted is the minimal failing one; the plugin writes it
as a scenario file.  Kept free of Hypothesis imports: the plugin reads it on
every failing test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Example:
    """One drawn simulation and what it is made of."""

    sim: Any
    config: Any
    world: Mapping[str, Any] | None
    seed: int
    ceilings: Mapping[str, Any] = field(default_factory=dict)
    agent: Any = None
    agent_kwargs: Mapping[str, Any] = field(default_factory=dict)


_examples: list[Example] = []


def note_example(example: Example) -> None:
    # Only the last one matters; keeping one avoids holding every example's
    # ledger alive for the whole test.
    _examples[:] = [example]


def note_agent(sim: Any, agent: Any, kwargs: Mapping[str, Any]) -> None:
    if _examples and _examples[-1].sim is sim:
        _examples[-1].agent = agent
        _examples[-1].agent_kwargs = dict(kwargs)


def last_example() -> Example | None:
    return _examples[-1] if _examples else None


def forget() -> None:
    _examples.clear()
