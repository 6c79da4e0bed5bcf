"""The ``runguard_gateway`` fixture: the test's simulation behind a URL.

For agent code that builds its own client from a URL instead of taking one::

    @pytest.mark.runguard_gateway(set_env=True)
    def test_agent(runguard_gateway, runguard_sim):
        run_my_agent()          # reads TENSORZERO_GATEWAY_URL
        runguard_sim.assert_within(max_billed_usd=0.05)

The fixture serves the test's ``runguard_sim`` (the very same object, so its
ledger shows every call made over HTTP) on a free 127.0.0.1 port, yields the
base URL (``<url>/openai/v1`` is the OpenAI SDK's ``base_url``) and stops the
server after the test.  ``set_env=True`` also sets ``TENSORZERO_GATEWAY_URL``
for the test.  A request that made the simulator itself fail (not a gateway
error, which the client sees as usual) fails the test at teardown.
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
    """Serve the test's ``runguard_sim`` over HTTP; yield its base URL."""
    from simulator.serve import GatewayServer

    sim = request.getfixturevalue("runguard_sim")
    server = GatewayServer(sim)
    url = server.start()
    try:
        if _set_env(request):
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
