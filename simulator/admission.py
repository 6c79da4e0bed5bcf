"""Admission of provider attempts when limits are declared.

The engine asks :class:`Admission` before every provider attempt.  It waits
until the attempt's virtual start time (so attempts are admitted in time
order across concurrent inferences), applies the gateway's
``[rate_limiting]`` rules, then the provider's own limits from the world,
and finally draws the attempt's outcome and latency.  The engine builds one
only when the config or the world declares a limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.failures import Failure
from simulator.gateway_limits import Borrow, GatewayLimits
from simulator.ledger import Ledger
from simulator.ratelimits import ProviderLimits
from simulator.timeline import wait_until
from simulator.world import World

if TYPE_CHECKING:
    from simulator.engine import Context, ModelPlan, ProviderPlan

_EMPTY: dict[str, str] = {}


class Admission:
    def __init__(
        self, gateway: GatewayLimits | None, world: World, ledger: Ledger
    ) -> None:
        self.gateway = gateway
        self.world = world
        self.ledger = ledger
        self.providers = ProviderLimits()

    def admit(
        self,
        t: float,
        pp: ProviderPlan,
        mp: ModelPlan,
        in_tokens: int,
        out_cap: int | None,
        ctx: Context,
        role: str,
    ) -> tuple[str, int, float, Borrow | None]:
        """``(kind, status, latency, borrow)`` of an attempt starting at
        ``t``; raises the gateway's refusal as a :class:`Failure`."""
        wait_until(t)
        borrow = None
        if self.gateway is not None:
            try:
                borrow = self.gateway.take(
                    t, ctx.tags or _EMPTY, in_tokens, out_cap, pp.embedding
                )
            except Failure as err:
                err.at = t
                self.ledger.add_refusal(
                    t, ctx.function, ctx.variant, ctx.episode_id, ctx.inference_id,
                    mp.name, pp.name, role, err.status, err.message,
                )  # fmt: skip
                raise
        pool = self.providers.pool(
            mp.name,
            pp.name,
            pp.embedding,
            lambda: self._spec(mp.name, pp.name, pp.embedding),
        )
        if pool is not None:
            tokens = in_tokens + (out_cap or 0)
            if not pool.admit(t, tokens):
                return "rate_limited", 429, pool.refusal_latency_s, borrow
        kind, status = pp.next_outcome()
        return kind, status, pp.latency.draw(), borrow

    def _spec(self, model: str, provider: str, embedding: bool) -> Any:
        settings = (
            self.world.embedding_settings(model, provider)
            if embedding
            else self.world.model_settings(model, provider)
        )
        return settings.get("rate_limits") or {}
