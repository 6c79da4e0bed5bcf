"""The ``runguard_gateway`` fixture with the real ``runguard_sim`` factory,
end to end with pytester."""

from __future__ import annotations

import pytest
import tomli_w
from served_config import WORLD, write_config

TESTS = """
import os

import pytest
import tensorzero

INPUT = {"messages": [{"role": "user", "content": "hi"}]}
MARK = pytest.mark.runguard(config="tensorzero.toml", world="world.toml", seed=3)


@MARK
def test_serves_the_tests_simulation(runguard_gateway, runguard_sim):
    assert runguard_gateway.startswith("http://127.0.0.1:")
    assert "TENSORZERO_GATEWAY_URL" not in os.environ
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=runguard_gateway)
    served = client.inference(function_name="chat", input=INPUT)
    assert runguard_sim.simulations == [runguard_sim.sim]
    assert runguard_sim.seed == 3 and runguard_sim.sim.seed == 3
    assert runguard_sim.ledger.provider_calls == 1
    twin = runguard_sim(seed=3)
    local = twin.client().inference(function_name="chat", input=INPUT)
    assert served == local
    assert twin.ledger.digest() == runguard_sim.ledger.digest()


@MARK
@pytest.mark.runguard_gateway(set_env=True)
def test_env(runguard_gateway):
    assert os.environ["TENSORZERO_GATEWAY_URL"] == runguard_gateway


@pytest.mark.runguard(config="tensorzero.toml", max_provider_calls=1)
def test_ceilings_apply_to_calls_over_http(runguard_gateway):
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=runguard_gateway)
    for _ in range(2):
        client.inference(function_name="chat", variant_name="small", input=INPUT)


@MARK
def test_simulator_failure_fails_the_test(runguard_gateway):
    client = tensorzero.TensorZeroGateway.build_http(gateway_url=runguard_gateway)
    try:
        client.inference(function_name="chat", input=INPUT, output_schema={})
    except tensorzero.TensorZeroError as exc:
        assert exc.status_code == 500
"""


def test_runguard_gateway_with_the_factory(pytester: pytest.Pytester) -> None:
    write_config(pytester.path)
    (pytester.path / "world.toml").write_text(tomli_w.dumps(WORLD))
    pytester.makepyfile(test_agent=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*CeilingBreached: runguard: max_provider_calls=1 breached: 2 (over by 1)*"]
    )
    result.stdout.fnmatch_lines(
        [
            "*runguard: 1 request(s) to the simulated gateway failed inside the "
            "simulator (answered 500); first: NotImplementedError: runguard: the "
            "inference option `output_schema` is not simulated yet*"
        ]
    )
