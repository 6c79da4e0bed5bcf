from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulator import Simulation
from simulator.config import load_config


@pytest.fixture
def make_sim(tmp_path: Path) -> Callable[..., Simulation]:
    os.environ.setdefault("RUNGUARD_FAKE_OPENAI_KEY", "placeholder")
    counter = iter(range(10_000))

    def make(toml: str, world: Any = None, seed: int = 0) -> Simulation:
        path = tmp_path / f"config{next(counter)}" / "tensorzero.toml"
        path.parent.mkdir()
        path.write_text(toml)
        return Simulation.from_config(load_config(str(path)), world=world, seed=seed)

    return make
