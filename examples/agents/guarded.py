"""The example agents again, each wrapped in the guard its failure mode needs.

In production a team builds the guard from the same ``tensorzero.toml`` the
gateway loads (``SpendGuard("config/tensorzero.toml", budget_usd=...)``).
Under runguard the agent is handed ``sim``, whose loaded config and price
date stand in for that path; nothing else differs.  Each agent stops
cleanly when a guard refuses (``BudgetExceeded``) and returns what it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_runguard.guards import (
    BudgetExceeded,
    DiclPromptGuard,
    FeedbackCycleGuard,
    SpendGuard,
    VariantSkewDetector,
)

from .batch import solve_batch
from .code_review import review_pull_request
from .quality_gate import quality_gated
from .research import research_loop
from .support import support_loop


def _config(sim: Any, config: Any) -> Any:
    if config is not None:
        return config
    if sim is None:
        raise TypeError("pass config= (the tensorzero.toml path) or run under runguard")
    return sim


def _price_date(sim: Any) -> Any:
    world = getattr(sim, "world", None)
    return getattr(world, "price_date", None)


def _spend_guard(sim: Any, config: Any, spend: Mapping[str, Any]) -> SpendGuard:
    return SpendGuard(_config(sim, config), price_date=_price_date(sim), **spend)


def research_with_spend_guard(
    client: Any,
    *,
    spend: Mapping[str, Any],
    sim: Any = None,
    config: Any = None,
    **kwargs: Any,
) -> list[str] | None:
    """``research_loop`` behind a :class:`SpendGuard` built from ``spend``."""
    guard = _spend_guard(sim, config, spend)
    try:
        return research_loop(guard.wrap(client), **kwargs)
    except BudgetExceeded:
        return None


def support_with_spend_guard(
    client: Any,
    *,
    spend: Mapping[str, Any],
    sim: Any = None,
    config: Any = None,
    **kwargs: Any,
) -> int | None:
    """``support_loop`` behind a :class:`SpendGuard`."""
    guard = _spend_guard(sim, config, spend)
    try:
        return support_loop(guard.wrap(client), **kwargs)
    except BudgetExceeded:
        return None


def support_with_skew_detector(
    client: Any,
    *,
    function_name: str,
    planned: Mapping[str, float],
    pin_on_skew: str,
    spend: Mapping[str, Any],
    customers: int = 1,
    sim: Any = None,
    config: Any = None,
    **kwargs: Any,
) -> int:
    """Serve ``customers`` episodes; once episodes skew away from the
    ``planned`` shares, start new episodes on ``pin_on_skew``.  The spend
    guard holds the ceiling meanwhile."""
    detector = VariantSkewDetector(
        _config(sim, config), function_name, expected=planned, pin_on_skew=pin_on_skew
    )
    guard = _spend_guard(sim, config, spend)
    guarded = detector.wrap(guard.wrap(client))
    closed = 0
    for _customer in range(customers):
        try:
            closed += support_loop(guarded, function_name=function_name, **kwargs)
        except BudgetExceeded:
            break
    return closed


def review_with_dicl_guard(
    client: Any,
    *,
    dicl: Mapping[str, Any] | None = None,
    spend: Mapping[str, Any] | None = None,
    sim: Any = None,
    config: Any = None,
    **kwargs: Any,
) -> list[str] | None:
    """``review_pull_request`` behind a :class:`DiclPromptGuard` and/or a
    :class:`SpendGuard` (the DICL guard chooses the variant first, so the
    spend guard reserves the variant that will really run)."""
    if dicl is None and spend is None:
        raise TypeError("review_with_dicl_guard needs dicl=, spend= or both")
    wrapped: Any = client
    if dicl is not None:
        wrapped = DiclPromptGuard(_config(sim, config), **dicl).wrap(client)
    if spend is not None:
        guard = _spend_guard(sim, config, spend)
        wrapped = guard.wrap(client) if dicl is None else _Chain(wrapped, guard)
    try:
        return review_pull_request(wrapped, **kwargs)
    except BudgetExceeded:
        return None


class _Chain:
    """Apply a pinning wrapper's choice, then a spend guard's reservation."""

    def __init__(self, pinning: Any, guard: SpendGuard) -> None:
        self.pinning = pinning
        self.spend = guard.wrap(pinning.client)

    def inference(self, **kwargs: Any) -> Any:
        chosen = self.pinning.guard.choose(
            kwargs["function_name"], kwargs.get("input"), kwargs.get("variant_name")
        )
        if chosen is not None:
            kwargs["variant_name"] = chosen
        return self.spend.inference(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pinning, name)


def quality_with_cycle_guard(
    client: Any,
    *,
    cycle: Mapping[str, Any],
    sim: Any = None,
    **kwargs: Any,
) -> tuple[Any, float]:
    """``quality_gated`` with a :class:`FeedbackCycleGuard` deciding when to
    stop; the simulation's virtual clock times it."""
    clock = sim.clock.monotonic if sim is not None else None
    guard = FeedbackCycleGuard(clock=clock, **cycle)
    return quality_gated(client, cycle=guard, sim=sim, **kwargs)


async def batch_with_spend_guard(
    client: Any,
    *,
    spend: Mapping[str, Any],
    sim: Any = None,
    config: Any = None,
    **kwargs: Any,
) -> int | None:
    """``solve_batch`` behind one :class:`SpendGuard` shared by every episode
    in flight: each reserves before it awaits, so none overdraws."""
    guard = _spend_guard(sim, config, spend)
    try:
        return await solve_batch(guard.wrap(client), **kwargs)
    except BudgetExceeded:
        return None
