"""The ``runguard_provider`` fixture: the real gateway, simulated providers.

    @pytest.mark.runguard_provider(world="world.toml", seed=0)
    def test_agent_on_the_real_gateway(runguard_provider):
        client = runguard_provider.gateway("tensorzero.toml")
        run_agent(client)
        assert len(runguard_provider.calls()) <= 12

The fixture starts a fake provider on 127.0.0.1 answering from the marker's
world, and ``gateway(config)`` builds the real embedded TensorZero gateway on
a copy of the config whose providers all point at it.  The team's files are
never modified.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from simulator.fakeprovider.gateway import ProviderHarness

MARKER = "runguard_provider"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(world=None, seed=0, real_latency=False): the world, seed and "
        "latency mode of the runguard_provider fixture",
    )


@pytest.fixture
def runguard_provider(request: pytest.FixtureRequest) -> Iterator[ProviderHarness]:
    """A fake provider on 127.0.0.1 plus ``gateway(config)`` to build the real
    embedded gateway in front of it (see ``docs/modes.md``)."""
    from simulator.fakeprovider.gateway import ProviderHarness

    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(options) - {"world", "seed", "real_latency"})
    if unknown:
        raise TypeError(
            f"runguard: @pytest.mark.{MARKER} got unknown keyword(s) "
            f"{', '.join(unknown)}; it accepts world=, seed= and real_latency="
        )
    harness = ProviderHarness(
        options.get("world"),
        seed=int(options.get("seed", 0)),
        real_latency=bool(options.get("real_latency", False)),
    )
    with harness:
        yield harness
