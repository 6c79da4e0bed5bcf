"""``usage.provider_cache_read_input_tokens`` as the gateway reports it:
the provider's cache-read count when its responses carry one (measured on
tensorzero 2026.6.0: an OpenAI response with ``cached_tokens = 0`` gives 0,
also summed over a best-of-N's calls), null when they do not."""

from __future__ import annotations

from collections.abc import Callable

from simhelpers import MESSAGE, openai_model

from simulator import Simulation

CONFIG = (
    openai_model("m")
    + """
[models.mist]
routing = ["p"]
[models.mist.providers.p]
type = "mistral"
model_name = "mistral-small"
api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "m"
[functions.f.variants.mist]
type = "chat_completion"
model = "mist"
[functions.f.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["a", "a"]
[functions.f.variants.bon.evaluator]
model = "m"
"""
)


def cache_read(sim: Simulation, variant: str) -> int | None:
    r = sim.client().inference(function_name="f", variant_name=variant, input=MESSAGE)
    return r.usage.provider_cache_read_input_tokens


def test_openai_responses_report_zero_cache_reads(
    make_sim: Callable[..., Simulation],
) -> None:
    sim = make_sim(CONFIG)
    assert cache_read(sim, "a") == 0
    assert cache_read(sim, "bon") == 0


def test_a_world_cache_count_is_reported(make_sim: Callable[..., Simulation]) -> None:
    sim = make_sim(CONFIG, {"models": {"m": {"raw_usage": {"cached_tokens": 5}}}})
    assert cache_read(sim, "a") == 5
    assert cache_read(sim, "bon") == 15


def test_providers_without_a_cache_count_report_null(
    make_sim: Callable[..., Simulation],
) -> None:
    assert cache_read(make_sim(CONFIG), "mist") is None
