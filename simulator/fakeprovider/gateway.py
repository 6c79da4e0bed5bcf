"""The real embedded TensorZero gateway in front of a world-driven provider.

:class:`ProviderHarness` owns a fake provider on a background thread, builds
gateways on rewritten copies of a team's config, and exposes the request
log.  The ``runguard_provider`` pytest fixture, the differential suite and
the throughput benchmark all go through it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.fakeprovider.calls import CallRecord
from simulator.fakeprovider.ledger import ledger_row
from simulator.fakeprovider.server import FakeProvider
from simulator.fakeprovider.worldbehaviour import WorldBehaviour
from simulator.ledger import LedgerRow
from simulator.rewrite import RewrittenConfig, rewrite_config
from simulator.world import World

WorldLike = World | Mapping[str, Any] | str | Path | None


class ProviderHarness:
    """A fake provider answering from ``world``, plus gateways in front of it.

    ``real_latency`` makes the provider sleep each call's simulated latency
    (what a load test wants); leave it off to run at full speed.
    """

    def __init__(
        self, world: WorldLike = None, *, seed: int = 0, real_latency: bool = False
    ) -> None:
        self.behaviour = WorldBehaviour.from_world(world, seed)
        self.provider = FakeProvider(self.behaviour, real_latency=real_latency)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> ProviderHarness:
        self.provider.start()
        return self

    def stop(self) -> None:
        self.provider.stop()

    def __enter__(self) -> ProviderHarness:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``api_base`` of the fake provider (``http://127.0.0.1:PORT/v1/``)."""
        return self.provider.base_url

    def use_world(self, world: WorldLike, *, seed: int = 0) -> None:
        """Answer from another world from now on, with a fresh request log."""
        self.behaviour.world = World.coerce(world)
        self.behaviour.seed = seed
        self.behaviour.costs.clear()
        self.provider.reset()

    def reset(self) -> None:
        """Clear the request log and restart every outcome schedule."""
        self.provider.reset()

    # -- gateways ----------------------------------------------------------

    def rewrite(
        self, config: str | Path, *, out_dir: str | Path | None = None
    ) -> RewrittenConfig:
        """A copy of ``config`` (a path or glob) whose providers call us.

        The original is also loaded with the simulator's config loader so the
        provider bills each call by the config's ``cost`` entries, as the
        simulator does."""
        from simulator.config import load_config

        self.behaviour.use_costs(load_config(str(config)))
        rewritten = rewrite_config(config, self.base_url, out_dir=out_dir)
        for name, value in rewritten.env.items():
            # The gateway reads the key variable when it is built; the value
            # is a placeholder the fake provider never checks.
            os.environ.setdefault(name, value)
        return rewritten

    def gateway(self, config: str | Path, *, out_dir: str | Path | None = None) -> Any:
        """``tensorzero.TensorZeroGateway.build_embedded`` on the rewritten
        config (no ClickHouse, so nothing is stored)."""
        import tensorzero

        rewritten = self.rewrite(config, out_dir=out_dir)
        return tensorzero.TensorZeroGateway.build_embedded(
            config_file=str(rewritten.path), clickhouse_url=None
        )

    async def async_gateway(
        self, config: str | Path, *, out_dir: str | Path | None = None
    ) -> Any:
        """Like :meth:`gateway`, for ``tensorzero.AsyncTensorZeroGateway``."""
        import tensorzero

        rewritten = self.rewrite(config, out_dir=out_dir)
        pending: Any = tensorzero.AsyncTensorZeroGateway.build_embedded(
            config_file=str(rewritten.path), clickhouse_url=None
        )
        return await pending

    # -- what happened ---------------------------------------------------

    def calls(self) -> list[CallRecord]:
        """Every provider request so far, in arrival order (waits for the
        requests still being answered)."""
        self.provider.wait_idle()
        return self.provider.calls()

    def ledger_rows(self) -> list[LedgerRow]:
        """The calls as the simulator's ledger rows."""
        return [ledger_row(record) for record in self.calls()]
