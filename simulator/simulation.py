"""``Simulation``: a config, a world and a seed, answering agent calls.

sim = Simulation.from_config("tensorzero.toml", world="world.toml", seed=0)
client = sim.client()
response = client.inference(function_name="f", input={...})
sim.ledger.billed_usd, sim.ledger.provider_calls, sim.ledger.digest()
"""

from __future__ import annotations

import hashlib
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from simulator.aio import run as run_on_virtual_loop
from simulator.clock import DEFAULT_EPOCH, VirtualClock
from simulator.config.model import Config
from simulator.engine import Engine
from simulator.errors import UsageError
from simulator.gateway import FeedbackRecord, Gateway
from simulator.ids import IdMaker
from simulator.ledger import Ledger
from simulator.rng import BitStream, generator, sampler
from simulator.world import World

_T = TypeVar("_T")


class Simulation:
    """One simulated gateway run.  Same seed and inputs, same ledger."""

    def __init__(
        self,
        config: Config,
        world: World | Mapping[str, Any] | str | Path | None = None,
        seed: int = 0,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise UsageError(f"runguard: seed must be a non-negative int, got {seed!r}")
        self.config = config
        self.world = World.coerce(world)
        self.seed = seed
        self.clock = VirtualClock(self.world.start_time or DEFAULT_EPOCH)
        self.ledger = Ledger()
        self.engine = Engine(config, self.world, seed, self.ledger)
        ids = IdMaker(BitStream(generator(seed, "ids")))
        self.gateway = Gateway(config, self.engine, self.ledger, ids, self.clock.epoch)
        self._owner_thread: int | None = None

    @classmethod
    def from_config(
        cls,
        config: Config | str | Path,
        world: World | Mapping[str, Any] | str | Path | None = None,
        seed: int = 0,
    ) -> Simulation:
        """``config`` is a path or glob of ``tensorzero.toml`` files, or a
        loaded :class:`Config`; ``world`` a path, a dict or a World."""
        if not isinstance(config, Config):
            from simulator.config import load_config

            config = load_config(str(config))
        return cls(config, world, seed)

    # -- clients -------------------------------------------------------------

    def client(self) -> Any:
        from simulator.client import SimulatedGateway

        return SimulatedGateway(self)

    def async_client(self) -> Any:
        from simulator.client import AsyncSimulatedGateway

        return AsyncSimulatedGateway(self)

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run an async agent on a loop whose clock is ``self.clock``."""
        return run_on_virtual_loop(self.clock, coro)

    # -- results ---------------------------------------------------------------

    @property
    def feedback_records(self) -> list[FeedbackRecord]:
        return self.gateway.feedback_records

    def score(self, response: Any, metric_name: str) -> float | bool:
        """A deterministic simulated quality for ``response`` on a metric,
        from the world's ``[scores.<metric>.<variant>]`` model.

        The same seed, metric and inference id always give the same score,
        whatever else the run did."""
        metric = self.config.metrics.get(metric_name)
        if metric is None:
            raise UsageError(
                f"runguard: metric `{metric_name}` is not in the config's [metrics]; "
                "sim.score() scores configured metrics only"
            )
        inference_id = getattr(response, "inference_id", None)
        variant = getattr(response, "variant_name", None)
        if inference_id is None or variant is None:
            raise UsageError(
                "runguard: sim.score() needs a response from client.inference() "
                f"(with inference_id and variant_name), got {type(response).__name__}"
            )
        spec = self.world.score_model(metric_name, variant)
        digest = hashlib.sha256(f"{metric_name}\x1f{inference_id}".encode()).digest()
        words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
        gen = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([self.seed, *words]))
        )
        if metric.type == "boolean":
            return bool(gen.random() < float(spec.get("p_true", 0.5)))
        value = spec.get("value", {"dist": "uniform", "low": 0.0, "high": 1.0})
        return float(sampler(value, gen, integer=False, low=-np.inf).draw())

    def assert_within(self, **ceilings: Any) -> None:
        __tracebackhide__ = True  # the caller's line is where the check failed
        from simulator.ceilings import assert_within

        assert_within(self, **ceilings)
