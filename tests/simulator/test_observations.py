"""The measured behaviours of real-gateway-observations.md, with the
measured values, plus the issue's public cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from simhelpers import MESSAGE, openai_model
from tensorzero import TensorZeroError

from simulator import Simulation

USAGE = {
    "m_a": (11, 101),
    "m_b": (13, 103),
    "m_c": (19, 109),
    "m_eval": (17, 107),
    "m_fuse": (23, 113),
}


def world(**overrides: dict) -> dict:
    models = {
        name: {"input_tokens": i, "output_tokens": o} for name, (i, o) in USAGE.items()
    }
    for name, extra in overrides.items():
        models[name] = {**models[name], **extra}
    return {"models": models}


FAN_OUT = (
    "".join(openai_model(m) for m in USAGE)
    + """
[functions.f]
type = "chat"
[functions.f.experimentation]
type = "static"
candidate_variants = ["bon"]
[functions.f.variants.cand_a]
type = "chat_completion"
model = "m_a"
[functions.f.variants.cand_b]
type = "chat_completion"
model = "m_b"
[functions.f.variants.cand_c]
type = "chat_completion"
model = "m_c"
retries = { num_retries = 2, max_delay_s = 0.01 }
[functions.f.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["cand_a", "cand_b", "cand_a"]
[functions.f.variants.bon.evaluator]
model = "m_eval"
[functions.f.variants.bon_c]
type = "experimental_best_of_n_sampling"
candidates = ["cand_a", "cand_c"]
[functions.f.variants.bon_c.evaluator]
model = "m_eval"
[functions.f.variants.mon]
type = "experimental_mixture_of_n"
candidates = ["cand_a", "cand_b", "cand_a"]
[functions.f.variants.mon.fuser]
model = "m_fuse"
"""
)
FAIL = {"failure_rates": {"server_error": 1.0}}

Make = Callable[..., Simulation]


def usage(response) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return response.usage.input_tokens, response.usage.output_tokens


@pytest.mark.parametrize(
    ("overrides", "variant", "calls", "expected"),
    [
        ({}, "bon", 4, (52, 412)),
        ({"m_b": FAIL}, "bon", 4, (39, 309)),
        ({"m_a": FAIL}, "bon", 3, (13, 103)),
        ({"m_eval": FAIL}, "bon", 4, (35, 305)),
        ({"m_eval": {"invalid_answer_rate": 1.0}}, "bon", 4, (52, 412)),
        (
            {"m_c": {"outcomes": ["server_error", "server_error"]}},
            "bon_c",
            5,
            (47, 317),
        ),
        ({"m_c": FAIL}, "bon_c", 4, (11, 101)),
        ({}, "mon", 4, (58, 418)),
        ({"m_b": FAIL}, "mon", 4, (45, 315)),
        ({"m_a": FAIL}, "mon", 3, (13, 103)),
        ({"m_fuse": FAIL}, "mon", 4, (35, 305)),
    ],
)
def test_fan_out_calls_and_usage(
    make_sim: Make, overrides: dict, variant: str, calls: int, expected: tuple[int, int]
) -> None:
    sim = make_sim(FAN_OUT, world=world(**overrides))
    response = sim.client().inference(
        function_name="f", input=MESSAGE, variant_name=variant
    )
    assert sim.ledger.provider_calls == calls
    assert usage(response) == expected
    assert response.variant_name == variant
    counted = [r for r in sim.ledger.rows() if r.counted]
    assert sum(r.input_tokens for r in counted) == expected[0]


def test_one_survivor_means_no_evaluator_call(make_sim: Make) -> None:
    sim = make_sim(FAN_OUT, world=world(m_a=FAIL))
    sim.client().inference(function_name="f", input=MESSAGE, variant_name="bon")
    assert [r.role for r in sim.ledger.rows()] == ["candidate"] * 3
    assert "evaluator" not in sim.ledger.role


def test_invalid_evaluator_answer_is_billed_and_counted(make_sim: Make) -> None:
    sim = make_sim(FAN_OUT, world=world(m_eval={"invalid_answer_rate": 1.0}))
    sim.client().inference(function_name="f", input=MESSAGE, variant_name="bon")
    evaluator = [r for r in sim.ledger.rows() if r.role == "evaluator"]
    assert len(evaluator) == 1
    assert evaluator[0].billed and evaluator[0].counted


def test_all_candidates_failing_is_a_502(make_sim: Make) -> None:
    sim = make_sim(FAN_OUT, world=world(m_a=FAIL, m_b=FAIL))
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name="f", input=MESSAGE, variant_name="bon")
    assert info.value.status_code == 502
    message = json.loads(info.value.text)["error"]
    assert message.startswith(
        "All candidates failed with errors: candidates[0] (cand_a): "
        "All model providers failed to infer with errors: fake: "
        "Error from openai server: "
    )
    assert "\ncandidates[1] (cand_b): " in message
    assert "\ncandidates[2] (cand_a): " in message
    assert sim.ledger.provider_calls == 3


def test_candidates_run_concurrently_in_virtual_time(make_sim: Make) -> None:
    sim = make_sim(
        FAN_OUT,
        world={"defaults": {"latency_s": 2.0}, "models": {"m_b": {"latency_s": 5.0}}},
    )
    sim.client().inference(function_name="f", input=MESSAGE, variant_name="bon")
    rows = sim.ledger.rows()
    assert [r.start_s for r in rows] == [0.0, 0.0, 0.0, 5.0]
    assert rows[-1].end_s == 7.0 == sim.clock.now


RETRY = (
    openai_model("m_r")
    + openai_model("m_route", providers=("p1", "p2"))
    + """
[functions.r]
type = "chat"
[functions.r.variants.v]
type = "chat_completion"
model = "m_r"
retries = { num_retries = 3, max_delay_s = 0.05 }
[functions.route]
type = "chat"
[functions.route.variants.route_retry]
type = "chat_completion"
model = "m_route"
retries = { num_retries = 2, max_delay_s = 0.05 }
"""
)


@pytest.mark.parametrize(
    ("failures", "calls", "ok"),
    [(0, 1, True), (1, 2, True), (3, 4, True), (4, 4, False)],
)
def test_retries_make_min_k_retries_plus_one_calls(
    make_sim: Make, failures: int, calls: int, ok: bool
) -> None:
    sim = make_sim(RETRY, world={"models": {"m_r": {"outcomes": [429] * failures}}})
    client = sim.client()
    if ok:
        client.inference(function_name="r", input=MESSAGE)
    else:
        with pytest.raises(TensorZeroError) as info:
            client.inference(function_name="r", input=MESSAGE)
        assert info.value.status_code == 502
        message = json.loads(info.value.text)["error"]
        assert message.startswith(
            "All variants failed with errors: v: All retries failed with errors: "
            "All model providers failed to infer with errors: fake: "
            "Error 429 Too Many Requests from openai client: "
        )
        assert message.count("All model providers failed") == 4
    assert sim.ledger.provider_calls == calls


def test_always_failing_provider_with_three_retries_is_four_calls(
    make_sim: Make,
) -> None:
    sim = make_sim(RETRY, world={"models": {"m_r": FAIL}})
    with pytest.raises(TensorZeroError):
        sim.client().inference(function_name="r", input=MESSAGE)
    assert sim.ledger.provider_calls == 4


def test_backoff_first_gap_ignores_max_delay(make_sim: Make) -> None:
    sim = make_sim(RETRY, world={"models": {"m_r": {**FAIL, "latency_s": 0.0}}})
    for _ in range(10):
        with pytest.raises(TensorZeroError):
            sim.client().inference(function_name="r", input=MESSAGE)
    starts = sim.ledger.start_s
    for i in range(0, 40, 4):
        gaps = [starts[i + k + 1] - starts[i + k] for k in range(3)]
        assert 1.0 <= gaps[0] < 2.0
        assert all(0.05 <= g < 0.1 for g in gaps[1:])


def test_two_providers_three_attempts_is_six_calls(make_sim: Make) -> None:
    sim = make_sim(RETRY, world={"models": {"m_route": FAIL}})
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name="route", input=MESSAGE)
    assert sim.ledger.provider_calls == 6
    assert sim.ledger.provider == ["p1", "p2"] * 3
    assert "fake" not in info.value.text
    # routing fallback is immediate; backoff only between rounds
    starts = sim.ledger.start_s
    assert starts[1] == sim.ledger.end_s[0]
    assert starts[2] - sim.ledger.end_s[1] >= 1.0


def test_routing_fallback_uses_the_second_provider(make_sim: Make) -> None:
    sim = make_sim(RETRY, world={"models": {"m_route": {"providers": {"p1": FAIL}}}})
    sim.client().inference(function_name="route", input=MESSAGE)
    assert sim.ledger.provider == ["p1", "p2"]
    assert sim.ledger.counted == [False, True]


DICL = (
    openai_model(
        "m_a",
        cost="""[
  { pointer = "/usage/prompt_tokens", cost_per_million = 1.0, required = true },
  { pointer = "/usage/completion_tokens", cost_per_million = 4.0, required = true },
]""",
    )
    + """
[embedding_models.emb]
routing = ["fake"]
[embedding_models.emb.providers.fake]
type = "openai"
model_name = "emb"
api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"
cost = [{ pointer = "/usage/prompt_tokens", cost_per_million = 0.02, required = true }]
[functions.f]
type = "chat"
[functions.f.variants.dicl]
type = "experimental_dynamic_in_context_learning"
embedding_model = "emb"
k = 10
max_distance = 0.2
model = "m_a"
"""
)


def dicl_world(pool: int, distance: float) -> dict:
    return {
        "models": {"m_a": {"input_tokens": 500, "output_tokens": 100}},
        "embedding_models": {"emb": {"input_tokens": 500}},
        "dicl": {
            "f": {
                "dicl": {
                    "pool_size": pool,
                    "example_tokens": 300,
                    "distances": distance,
                }
            }
        },
    }


def test_dicl_with_no_examples_is_one_embedding_and_one_generation(
    make_sim: Make,
) -> None:
    sim = make_sim(DICL, world=dicl_world(0, 0.1))
    response = sim.client().inference(function_name="f", input=MESSAGE)
    assert [r.role for r in sim.ledger.rows()] == ["embedding", "generation"]
    assert usage(response) == (1000, 100)  # the embedding's 500 are counted


@pytest.mark.parametrize(("distance", "cost"), [(0.1, "0.00391"), (0.5, "0.00091")])
def test_dicl_public_case(make_sim: Make, distance: float, cost: str) -> None:
    sim = make_sim(DICL, world=dicl_world(1000, distance))
    response = sim.client().inference(function_name="f", input=MESSAGE)
    assert sim.ledger.billed_usd == Decimal(cost)
    assert sim.ledger.reported_usd == Decimal(cost)
    assert response.usage.cost == pytest.approx(float(cost), abs=1e-15)


def test_dicl_prompt_over_the_context_window_is_the_providers_400(
    make_sim: Make,
) -> None:
    w = dicl_world(1000, 0.1)
    w["models"]["m_a"]["context_window"] = 3000
    sim = make_sim(DICL, world=w)
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name="f", input=MESSAGE, variant_name="dicl")
    assert info.value.status_code == 500
    assert "Error 400 Bad Request from openai client: " in info.value.text
    assert "context_length_exceeded" in info.value.text
    assert sim.ledger.outcome == ["ok", "client_error"]


PRICED = """[
  { pointer = "/usage/prompt_tokens", cost_per_million = 2.5, required = true },
  { pointer = "/usage/completion_tokens", cost_per_million = 10.0, required = true },
  { pointer = "/usage/prompt_tokens_details/cached_tokens", cost_per_million = -1.25 },
]"""


def cost_config(*unpriced: str) -> str:
    text = "".join(
        openai_model(m, cost="" if m in unpriced else PRICED)
        for m in ("m_a", "m_b", "m_eval")
    )
    return (
        text
        + """
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "m_a"
[functions.f.variants.b]
type = "chat_completion"
model = "m_b"
[functions.f.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["a", "b"]
[functions.f.variants.bon.evaluator]
model = "m_eval"
"""
    )


def test_cost_pointers(make_sim: Make) -> None:
    w = {"defaults": {"input_tokens": 1000, "output_tokens": 500}}
    sim = make_sim(cost_config(), world=w)
    response = sim.client().inference(
        function_name="f", input=MESSAGE, variant_name="a"
    )
    assert response.usage.cost == 0.0075
    assert sim.ledger.billed_usd == Decimal("0.0075")
    w["defaults"]["raw_usage"] = {"cached_tokens": 400}
    sim = make_sim(cost_config(), world=w)
    response = sim.client().inference(
        function_name="f", input=MESSAGE, variant_name="a"
    )
    assert response.usage.cost == pytest.approx(0.007, abs=1e-15)
    assert response.usage.provider_cache_read_input_tokens == 400


def test_one_unpriced_call_in_a_fan_out_nulls_the_cost(make_sim: Make) -> None:
    w = {"defaults": {"input_tokens": 1000, "output_tokens": 500}}
    sim = make_sim(cost_config(), world=w)
    response = sim.client().inference(
        function_name="f", input=MESSAGE, variant_name="bon"
    )
    assert response.usage.cost == pytest.approx(0.0225)
    sim = make_sim(cost_config("m_b"), world=w)
    response = sim.client().inference(
        function_name="f", input=MESSAGE, variant_name="bon"
    )
    assert response.usage.cost is None
    assert sim.ledger.reported_usd is None
    # m_b has no cost entries and no catalog price: billed but unpriced
    assert sim.ledger.unpriced_calls == 1
    assert sim.ledger.billed_usd == Decimal("0.015")


def test_issue_cost_entries_case() -> None:
    from simulator.config.model import CostEntry
    from simulator.pricing import CostFormula, atto_to_nano, usage_values

    million = Decimal(1_000_000)
    entries = (
        CostEntry(
            "/usage/prompt_tokens", "/usage/prompt_tokens", Decimal("1.25") / million
        ),
        CostEntry(
            "/usage/prompt_tokens_details/cached_tokens",
            "/usage/prompt_tokens_details/cached_tokens",
            Decimal("-0.625") / million,
        ),
        CostEntry(
            "/usage/completion_tokens",
            "/usage/completion_tokens",
            Decimal(10) / million,
        ),
    )
    formula = CostFormula(entries, "openai", embedding=False)
    atto = formula.atto(usage_values(262_960, 1_744, cached=257_955))
    assert atto is not None
    assert Decimal(atto) / Decimal(10**18) == Decimal("0.184918125")
    assert atto_to_nano(atto) == 184_918_125


CHEAP_PRICEY = (
    openai_model("m_cheap", cost=PRICED)
    + openai_model("m_pricey", cost=PRICED)
    + """
[functions.f]
type = "chat"
[functions.f.experimentation]
type = "static"
candidate_variants = {cheap = 1.0, pricey = 0.0}
[functions.f.variants.cheap]
type = "chat_completion"
model = "m_cheap"
[functions.f.variants.pricey]
type = "chat_completion"
model = "m_pricey"
"""
)


def test_weight_zero_static_candidate_is_tried_after_the_others_fail(
    make_sim: Make,
) -> None:
    # Measured on the real gateway (2026.6.0): with `cheap` always failing,
    # every inference falls back to the weight-0 `pricey` candidate.
    sim = make_sim(CHEAP_PRICEY, world={"models": {"m_cheap": FAIL}})
    client = sim.client()
    answered = {
        client.inference(function_name="f", input=MESSAGE).variant_name
        for _ in range(100)
    }
    assert answered == {"pricey"}
    assert sim.ledger.group_by("variant")["pricey"].provider_calls == 100
    assert sim.ledger.group_by("variant")["cheap"].billed_nanousd == 0


def test_pinning_the_weight_zero_variant_sends_every_call_to_it(make_sim: Make) -> None:
    sim = make_sim(CHEAP_PRICEY, world={"models": {"m_cheap": FAIL}})
    client = sim.client()
    for _ in range(100):
        client.inference(function_name="f", input=MESSAGE, variant_name="pricey")
    assert sim.ledger.model == ["m_pricey"] * 100


THREE_STATIC = (
    openai_model("m_down", providers=("p1", "p2"))
    + """
[functions.f]
type = "chat"
[functions.f.experimentation]
type = "static"
candidate_variants = ["a", "b", "c"]
"""
    + "".join(
        f"""[functions.f.variants.{v}]
type = "chat_completion"
model = "m_down"
retries = {{ num_retries = 2, max_delay_s = 1.0 }}
"""
        for v in "abc"
    )
)


def test_three_static_candidates_with_retries_over_two_failing_providers(
    make_sim: Make,
) -> None:
    sim = make_sim(THREE_STATIC, world={"models": {"m_down": FAIL}})
    with pytest.raises(TensorZeroError) as info:
        sim.client().inference(function_name="f", input=MESSAGE)
    assert sim.ledger.provider_calls == 18
    assert info.value.status_code == 502
    message = json.loads(info.value.text)["error"]
    assert message.startswith("All variants failed with errors: ")
    assert message.count("All retries failed") == 3
