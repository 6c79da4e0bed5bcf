"""A fan-out budget guard: reserve the worst case, settle from usage.

The commonly published design counts ``response.usage`` after each call and
stops once the sum passes the budget.  It overruns three ways: one
best-of-N, mixture-of-N or DICL inference is several billed calls, so the
call that crosses the line can be many times the remaining budget; retries,
routing and variant fallback multiply attempts the response never shows;
and concurrent calls all see the same remaining budget.  This guard
reserves, before each call, the most the config lets that call bill (see
:mod:`pytest_runguard.guards.costing`), refuses the call (or pins a cheaper
fallback variant) when the reservation does not fit, and afterwards
replaces the reservation with what the response reports.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from simulator.config.model import Config
from simulator.errors import UsageError

from .config_source import as_config
from .costing import Bound, CostModel
from .errors import BudgetExceeded, UnpricedCall


@dataclass
class Reservation:
    """What one in-flight inference holds against the budget."""

    function_name: str
    #: the variant pinned for this call, or ``None`` when the gateway samples
    variant_name: str | None
    bound: Bound


class SpendGuard:
    """Hold spend (and provider calls) under a budget across many inferences.

    ``budget_usd`` and ``max_provider_calls`` are the ceilings (either may be
    ``None``).  ``fallback_variant`` names, per function (or one name for
    all), a variant to pin when the sampled path does not fit.  Set
    ``failed_attempts_billed=True`` when the provider bills attempts that
    fail or time out: the response never reports those, so the guard then
    keeps the whole reservation instead of settling from ``usage``.
    """

    def __init__(
        self,
        config: Config | str | Path | Any,
        *,
        budget_usd: Decimal | str | float | None = None,
        max_provider_calls: int | None = None,
        fallback_variant: str | Mapping[str, str] | None = None,
        failed_attempts_billed: bool = False,
        max_output_tokens: int | None = None,
        dicl_example_tokens: int | None = None,
        price_date: dt.date | None = None,
    ) -> None:
        if budget_usd is None and max_provider_calls is None:
            raise UsageError(
                "SpendGuard needs budget_usd= or max_provider_calls= (or both)"
            )
        self.costs = CostModel(
            as_config(config),
            max_output_tokens=max_output_tokens,
            dicl_example_tokens=dicl_example_tokens,
            price_date=price_date,
            calls_only=budget_usd is None,
        )
        self.budget_usd = None if budget_usd is None else Decimal(str(budget_usd))
        self.max_provider_calls = max_provider_calls
        self.fallback_variant = fallback_variant
        self.failed_attempts_billed = failed_attempts_billed
        #: settled spend, in USD (an upper bound of what was billed)
        self.spent_usd = Decimal(0)
        self.calls = 0
        self._held_usd = Decimal(0)
        self._held_calls = 0
        self.refusals = 0
        self.pinned_fallbacks = 0

    # -- the budget ------------------------------------------------------

    @property
    def remaining_usd(self) -> Decimal | None:
        if self.budget_usd is None:
            return None
        return self.budget_usd - self.spent_usd - self._held_usd

    @property
    def remaining_calls(self) -> int | None:
        if self.max_provider_calls is None:
            return None
        return self.max_provider_calls - self.calls - self._held_calls

    def _fits(self, bound: Bound) -> bool:
        if self.budget_usd is not None:
            if bound.usd is None:
                return False
            remaining = self.remaining_usd
            if remaining is None or bound.usd > remaining:
                return False
        remaining_calls = self.remaining_calls
        return remaining_calls is None or bound.calls <= remaining_calls

    def _fallback_for(self, function_name: str) -> str | None:
        if isinstance(self.fallback_variant, Mapping):
            return self.fallback_variant.get(function_name)
        return self.fallback_variant

    def reserve(
        self, function_name: str, input: Any, variant_name: str | None = None
    ) -> Reservation:
        """Hold the worst case of one inference, or raise ``BudgetExceeded``.

        Returns the reservation, whose ``variant_name`` is the variant to pin
        (the caller's, or the fallback when only the fallback fits).
        """
        variants = None if variant_name is None else (variant_name,)
        bound = self.costs.inference(function_name, input, variants)
        if not self._fits(bound):
            fallback = self._fallback_for(function_name)
            if fallback is not None and fallback != variant_name:
                cheaper = self.costs.inference(function_name, input, (fallback,))
                if self._fits(cheaper):
                    self.pinned_fallbacks += 1
                    return self._hold(function_name, fallback, cheaper)
            self.refusals += 1
            raise self._refusal(function_name, variant_name, bound)
        return self._hold(function_name, variant_name, bound)

    def _hold(
        self, function_name: str, variant: str | None, bound: Bound
    ) -> Reservation:
        if bound.usd is not None:
            self._held_usd += bound.usd
        self._held_calls += bound.calls
        return Reservation(function_name, variant, bound)

    def _refusal(
        self, function_name: str, variant_name: str | None, bound: Bound
    ) -> BudgetExceeded:
        what = f"functions.{function_name}" + (
            f".variants.{variant_name}" if variant_name else ""
        )
        if self.budget_usd is not None and bound.usd is None:
            return UnpricedCall(
                f"{what} may call {', '.join(bound.unpriced_models)}, which has no "
                "known price, so it cannot be reserved against "
                f"budget_usd={self.budget_usd}; add `cost` entries to its "
                "providers or pass fallback_variant= naming a priced variant",
                remaining_usd=self.remaining_usd,
            )
        parts = []
        if bound.usd is not None and self.remaining_usd is not None:
            parts.append(
                f"needs up to ${bound.usd:.6f} with ${self.remaining_usd:.6f} of "
                f"budget_usd={self.budget_usd} left"
            )
        if self.remaining_calls is not None:
            parts.append(
                f"up to {bound.calls} provider calls with {self.remaining_calls} of "
                f"max_provider_calls={self.max_provider_calls} left"
            )
        return BudgetExceeded(
            f"{what}: refused: the next inference " + " and ".join(parts),
            reserved_usd=bound.usd,
            remaining_usd=self.remaining_usd,
        )

    def settle(self, reservation: Reservation, response: Any | None) -> Decimal:
        """Release ``reservation`` and charge what the inference billed, at
        most the reservation.  ``response=None`` means the call failed."""
        bound = reservation.bound
        if bound.usd is not None:
            self._held_usd -= bound.usd
        self._held_calls -= bound.calls
        # The response never says how many attempts it took, so calls stay
        # charged at the reservation.
        self.calls += bound.calls
        charged = self._charge(reservation, response)
        self.spent_usd += charged
        return charged

    def _charge(self, reservation: Reservation, response: Any | None) -> Decimal:
        worst = reservation.bound.usd
        if worst is None:
            return Decimal(0)
        if response is None or self.failed_attempts_billed:
            return worst
        usage = getattr(response, "usage", None)
        if usage is None:
            return worst
        if usage.cost is not None:
            reported = Decimal(str(usage.cost))
            return min(worst, reported)
        rates = self.costs.token_rates(
            reservation.function_name, str(getattr(response, "variant_name", ""))
        )
        if rates is None:
            return worst
        # No `cost` config: price every reported token at the dearest rate
        # of any model the variant calls, which is never below the bill.
        estimate = rates[0] * usage.input_tokens + rates[1] * usage.output_tokens
        return min(worst, estimate)

    # -- wrapping a client -----------------------------------------------

    def wrap(self, client: Any) -> Any:
        """A client with the same ``inference``/``feedback`` API that reserves
        before each inference and settles after it."""
        if inspect.iscoroutinefunction(getattr(client, "inference", None)):
            return AsyncGuardedClient(self, client)
        return GuardedClient(self, client)


def _reserve_call(guard: SpendGuard, kwargs: dict[str, Any]) -> Reservation:
    """Reserve the call's worst case; pin the variant the guard chose."""
    if kwargs.get("stream"):
        raise NotImplementedError(
            "runguard: SpendGuard does not wrap streaming inferences yet: it "
            "settles from the final response's usage; call with stream=False"
        )
    reservation = guard.reserve(
        kwargs["function_name"], kwargs.get("input"), kwargs.get("variant_name")
    )
    if reservation.variant_name is not None:
        kwargs["variant_name"] = reservation.variant_name
    return reservation


class GuardedClient:
    def __init__(self, guard: SpendGuard, client: Any) -> None:
        self.guard = guard
        self.client = client

    def inference(self, **kwargs: Any) -> Any:
        reservation = _reserve_call(self.guard, kwargs)
        try:
            response = self.client.inference(**kwargs)
        except BaseException:
            self.guard.settle(reservation, None)
            raise
        self.guard.settle(reservation, response)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


class AsyncGuardedClient:
    def __init__(self, guard: SpendGuard, client: Any) -> None:
        self.guard = guard
        self.client = client

    async def inference(self, **kwargs: Any) -> Any:
        # Reserving before the await is what keeps concurrent calls honest:
        # each one sees the budget the others already hold.
        reservation = _reserve_call(self.guard, kwargs)
        try:
            response = await self.client.inference(**kwargs)
        except BaseException:
            self.guard.settle(reservation, None)
            raise
        self.guard.settle(reservation, response)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
