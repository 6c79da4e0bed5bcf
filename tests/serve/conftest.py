from __future__ import annotations

from collections.abc import Iterator

import pytest
from serve_stub import StubSimulation

from simulator.serve import GatewayServer


@pytest.fixture
def stub_sim() -> StubSimulation:
    return StubSimulation()


@pytest.fixture
def stub_server(stub_sim: StubSimulation) -> Iterator[GatewayServer]:
    with GatewayServer(stub_sim) as server:
        yield server
