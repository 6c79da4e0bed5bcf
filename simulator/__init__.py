"""A deterministic simulation of the TensorZero gateway.

``Simulation`` loads a team's ``tensorzero.toml``, answers
``client.inference()`` and ``client.feedback()`` the way the gateway would,
and records every provider call that would have been billed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.simulation import Simulation

__all__ = ["Simulation"]


def __getattr__(name: str) -> Any:
    # The engine pulls in numpy and the tensorzero client; importing the
    # package for its config loader or errors should not pay for that.
    if name == "Simulation":
        from simulator.simulation import Simulation

        return Simulation
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
