"""Where a function's streaming calls meet a time-to-first-token timeout.

The world gives one latency per call, not when the first token arrives, so
``timeouts.streaming.ttft_ms`` cannot be simulated; a streaming inference
that would be subject to one is refused with an honest
``NotImplementedError`` instead of silently ignoring the timeout.
"""

from __future__ import annotations

from simulator.config.model import (
    BestOfNVariant,
    ChainOfThoughtVariant,
    ChatCompletionConfig,
    ChatCompletionVariant,
    Config,
    DiclVariant,
    FunctionConfig,
    MixtureOfNVariant,
)


def _model_keys(config: Config, model_name: str) -> list[str]:
    try:
        model = config.model(model_name)
    except KeyError:
        return []
    keys = []
    if model.timeouts.streaming_ttft_ms is not None:
        keys.append(f"models.{model_name}.timeouts.streaming.ttft_ms")
    for name, provider in model.providers.items():
        if provider.timeouts.streaming_ttft_ms is not None:
            keys.append(
                f"models.{model_name}.providers.{name}.timeouts.streaming.ttft_ms"
            )
    return keys


def ttft_keys(config: Config, fn: FunctionConfig) -> tuple[str, ...]:
    """Every ``streaming.ttft_ms`` key a streaming call of ``fn`` may meet."""
    keys: list[str] = []
    for variant in fn.variants.values():
        if variant.timeouts.streaming_ttft_ms is not None:
            keys.append(
                f"functions.{fn.name}.variants.{variant.name}"
                ".timeouts.streaming.ttft_ms"
            )
        inner: ChatCompletionConfig | None = None
        if isinstance(variant, ChatCompletionVariant | ChainOfThoughtVariant):
            inner = variant.inner
        elif isinstance(variant, BestOfNVariant):
            inner = variant.evaluator
        elif isinstance(variant, MixtureOfNVariant):
            inner = variant.fuser
        if inner is not None:
            keys += _model_keys(config, inner.model)
        elif isinstance(variant, DiclVariant):
            keys += _model_keys(config, variant.model)
    return tuple(dict.fromkeys(keys))


def refuse_ttft(keys: tuple[str, ...]) -> None:
    """Raise for a streaming call under ``keys`` (nothing when empty)."""
    if keys:
        raise NotImplementedError(
            "runguard: streaming time-to-first-token timeouts are not simulated "
            f"yet: the config sets {', '.join(keys)}; the world gives one "
            "latency per call, not when its first token arrives. Remove the "
            "ttft_ms timeouts, or test this function without stream=True"
        )
