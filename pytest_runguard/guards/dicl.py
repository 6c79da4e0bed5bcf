"""A DICL prompt guard: refuse a prompt that k examples would overfill.

The commonly published check caps the *input* the agent sends.  A DICL
variant's generation prompt is that input serialized as JSON plus ``k``
retrieved examples, each a whole past input and output, so a modest input
can still become a prompt far over budget (or over the context window).
This guard projects ``base + k × example size`` from the config's ``k``
before the call and, when it is over the per-call ceiling, pins a
non-DICL fallback variant instead.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from simulator.config.model import Config, DiclVariant
from simulator.errors import UsageError

from .config_source import as_config
from .costing import CostModel
from .errors import PromptTooLarge


class DiclPromptGuard:
    """Keep every call's prompt at or under ``max_call_input_tokens``.

    ``example_tokens`` is the largest stored example (input plus output) in
    tokens; ``fallback_variant`` is the variant to pin when a DICL prompt
    would be too large (a plain ``chat_completion`` variant of the same
    function).
    """

    def __init__(
        self,
        config: Config | str | Path | Any,
        *,
        max_call_input_tokens: int,
        example_tokens: int,
        fallback_variant: str | None = None,
        max_output_tokens: int | None = None,
    ) -> None:
        self.costs = CostModel(
            as_config(config),
            max_output_tokens=max_output_tokens,
            dicl_example_tokens=example_tokens,
        )
        self.max_call_input_tokens = max_call_input_tokens
        self.fallback_variant = fallback_variant
        self.fallbacks = 0

    def projected(self, function_name: str, input: Any, variant_name: str) -> int:
        """The largest prompt any call of ``variant_name`` would send."""
        function = self.costs.function(function_name)
        return self.costs.variant(function, variant_name, input).max_call_input_tokens

    def choose(
        self, function_name: str, input: Any, variant_name: str | None = None
    ) -> str | None:
        """The variant to pin for this call (``None``: let the gateway choose).

        Raises ``PromptTooLarge`` when neither the call nor the fallback fits.
        """
        function = self.costs.function(function_name)
        reachable = (
            (variant_name,)
            if variant_name is not None
            else self.costs.reachable(function_name)
        )
        too_large = [
            (name, size)
            for name in reachable
            if isinstance(function.variants[name], DiclVariant)
            for size in (self.projected(function_name, input, name),)
            if size > self.max_call_input_tokens
        ]
        if not too_large:
            return variant_name
        name, size = too_large[0]
        fallback = self.fallback_variant
        if fallback is not None:
            if isinstance(function.variants.get(fallback), DiclVariant):
                raise UsageError(
                    f"DiclPromptGuard: fallback_variant={fallback!r} is itself a "
                    "DICL variant; name a chat_completion variant"
                )
            fallback_size = self.projected(function_name, input, fallback)
            if fallback_size <= self.max_call_input_tokens:
                self.fallbacks += 1
                return fallback
            size = max(size, fallback_size)
        raise PromptTooLarge(
            f"functions.{function_name}.variants.{name}: projected prompt of "
            f"{size} tokens (input plus k examples) is over "
            f"max_call_input_tokens={self.max_call_input_tokens}"
            + ("" if fallback is None else f", and so is fallback {fallback!r}")
            + "; lower k, shorten the input, or pass a fallback_variant= that fits"
        )

    def wrap(self, client: Any) -> Any:
        if inspect.iscoroutinefunction(getattr(client, "inference", None)):
            return _AsyncDiclGuarded(self, client)
        return _DiclGuarded(self, client)


def _pin(guard: DiclPromptGuard, kwargs: dict[str, Any]) -> None:
    chosen = guard.choose(
        kwargs["function_name"], kwargs.get("input"), kwargs.get("variant_name")
    )
    if chosen is not None:
        kwargs["variant_name"] = chosen


class _DiclGuarded:
    def __init__(self, guard: DiclPromptGuard, client: Any) -> None:
        self.guard = guard
        self.client = client

    def inference(self, **kwargs: Any) -> Any:
        _pin(self.guard, kwargs)
        return self.client.inference(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


class _AsyncDiclGuarded:
    def __init__(self, guard: DiclPromptGuard, client: Any) -> None:
        self.guard = guard
        self.client = client

    async def inference(self, **kwargs: Any) -> Any:
        _pin(self.guard, kwargs)
        return await self.client.inference(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
