"""The ``runguard_gateway`` fixture: the test's simulation behind a URL.

For agent code that builds its own client from a URL instead of taking one::

    @pytest.mark.runguard(config="tensorzero.toml", max_billed_usd=0.05)
    @pytest.mark.runguard_gateway(set_env=True)
    def test_agent(runguard_gateway, runguard_sim):
        run_my_agent()          # reads TENSORZERO_GATEWAY_URL
        assert runguard_sim.ledger.provider_calls <= 10

Which simulation is served: the test's simulation, ``runguard_sim.sim`` --
the first one the ``runguard_sim`` factory builds, from the
``@pytest.mark.runguard(config=..., world=..., seed=...)`` marker (then the
``runguard_*`` ini keys and the test's seed).  It is built when the fixture
is set up, before the test body runs, so it is always the one served; every
call made over HTTP shows in ``runguard_sim.ledger`` and the marker's
ceilings are checked on it when the body ends, as for in-process calls.
Simulations the test builds itself with ``runguard_sim(config=...)`` are
not served.  A ``runguard_sim`` fixture overridden to return a
``Simulation`` is served as it is.

The fixture yields the base URL (``TensorZeroGateway.build_http(
gateway_url=...)``; ``<url>/openai/v1`` is the OpenAI SDK's ``base_url``) on
a free 127.0.0.1 port and stops the server after the test.
``set_env=True`` also sets ``TENSORZERO_GATEWAY_URL`` for the test.

The served simulation is driven by the server's thread, so the test must
not also call it in-process (the engine refuses a second thread); build a
second simulation with ``runguard_sim()`` for that.  A request that made the
simulator itself fail (not a gateway error, which the client sees as usual)
was answered 500 and fails the test at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

#: the variable TensorZero's own examples read the gateway URL from.
ENV_VAR = "TENSORZERO_GATEWAY_URL"
MARKER = "runguard_gateway"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(set_env=False): options of the runguard_gateway fixture; "
        f"set_env=True sets {ENV_VAR} to the served URL for the test",
    )


def _set_env(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return False
    unknown = set(marker.kwargs) - {"set_env"} or marker.args
    if unknown:
        raise pytest.UsageError(
            f"runguard: @pytest.mark.{MARKER} takes only set_env=True/False, "
            f"got {marker.args or sorted(marker.kwargs)}"
        )
    return bool(marker.kwargs.get("set_env", False))


@pytest.fixture
def runguard_gateway(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Serve the test's simulation (``runguard_sim.sim``) over HTTP; yield
    its base URL."""
    from pytest_runguard.fixture import SimulationFactory
    from simulator.serve import GatewayServer

    set_env = _set_env(request)
    sims = request.getfixturevalue("runguard_sim")
    sim = sims.sim if isinstance(sims, SimulationFactory) else sims
    server = GatewayServer(sim)
    url = server.start()
    try:
        if set_env:
            monkeypatch.setenv(ENV_VAR, url)
        yield url
    finally:
        server.stop()
    if server.internal_errors:
        first = server.internal_errors[0]
        pytest.fail(
            f"runguard: {len(server.internal_errors)} request(s) to the simulated "
            f"gateway failed inside the simulator (answered 500); first: "
            f"{type(first).__name__}: {first}",
            pytrace=False,
        )
