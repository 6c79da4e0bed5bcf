"""The ``runguard_gateway`` fixture, end to end with pytester."""

from __future__ import annotations

from pathlib import Path

import pytest

STUB = (Path(__file__).parent / "serve_stub.py").read_text()


def _suite(pytester: pytest.Pytester, tests: str) -> None:
    pytester.makepyfile(serve_stub=STUB)
    pytester.makeconftest(
        """
import pytest
from serve_stub import StubSimulation

@pytest.fixture
def runguard_sim():
    return StubSimulation()
"""
    )
    pytester.makepyfile(test_agent=tests)


def test_serves_the_tests_simulation(pytester: pytest.Pytester) -> None:
    _suite(
        pytester,
        """
import os
import pytest
import tensorzero

def test_url(runguard_gateway, runguard_sim):
    assert runguard_gateway.startswith("http://127.0.0.1:")
    assert "TENSORZERO_GATEWAY_URL" not in os.environ
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=runguard_gateway)
    client.inference(function_name="chat", input={"messages": []})
    assert [name for name, _ in runguard_sim.calls] == ["inference"]

@pytest.mark.runguard_gateway(set_env=True)
def test_env(runguard_gateway):
    assert os.environ["TENSORZERO_GATEWAY_URL"] == runguard_gateway
""",
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:runguard")
    result.assert_outcomes(passed=2)


def test_simulator_failure_fails_the_test(pytester: pytest.Pytester) -> None:
    _suite(
        pytester,
        """
import tensorzero

def test_agent(runguard_gateway, runguard_sim):
    def broken(**kwargs):
        raise NotImplementedError("runguard: tools are not simulated yet")
    runguard_sim.client().inference = broken
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=runguard_gateway)
    try:
        client.inference(function_name="chat", input={"messages": []})
    except tensorzero.TensorZeroError as exc:
        assert exc.status_code == 500
""",
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:runguard")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*NotImplementedError: runguard: tools are not simulated yet*"]
    )
