from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from served_config import WORLD, MakeSim, write_config

from simulator import Simulation
from simulator.config import load_config
from simulator.config.model import Config
from simulator.serve import GatewayServer


@pytest.fixture(scope="module")
def served_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return load_config(str(write_config(tmp_path_factory.mktemp("served"))))


@pytest.fixture
def make_sim(served_config: Config) -> MakeSim:
    """Fresh simulations of the served config, all with the same seed."""
    return lambda: Simulation(served_config, world=WORLD, seed=7)


@pytest.fixture
def served(make_sim: MakeSim) -> Iterator[tuple[Simulation, GatewayServer]]:
    sim = make_sim()
    with GatewayServer(sim) as server:
        yield sim, server
    assert server.internal_errors == []


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path)
