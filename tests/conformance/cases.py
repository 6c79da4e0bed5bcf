"""The case table of the differential suite.

Each case is a config (a complete ``tensorzero.toml``: the suite's providers
are ordinary ones; the rewriter points them at the fake provider), a world,
and a short call sequence.  Models are named after what they do in the case
(``m_fail`` fails, ``m_slow`` is slow) so a failing comparison reads well.
"""

from __future__ import annotations

from typing import Any

from .runner import Case, Feedback, Infer

STD_COST = (
    '[{ pointer = "/usage/prompt_tokens", cost_per_million = 1.5, required = true },'
    ' { pointer = "/usage/completion_tokens", cost_per_million = 6.0,'
    " required = true }]"
)
DICL_VARIANT = (
    '[functions.f.variants.d]\ntype = "experimental_dynamic_in_context_learning"\n'
    'model = "m"\nembedding_model = "emb"\nk = 3\n'
)


def model(
    name: str, *providers: str, cost: str | None = STD_COST, extra: str = ""
) -> str:
    """``[models.NAME]`` with OpenAI providers (default: one named ``p``)."""
    names = providers or ("p",)
    routing = ", ".join(f'"{p}"' for p in names)
    text = f"[models.{name}]\nrouting = [{routing}]\n{extra}\n"
    for p in names:
        text += (
            f'[models.{name}.providers.{p}]\ntype = "openai"\n'
            f'model_name = "gpt-4o-mini"\n'
        )
        if cost is not None:
            text += f"cost = {cost}\n"
    return text


def models(*names: str) -> str:
    return "".join(model(n) for n in names)


def chat(function: str = "f", extra: str = "") -> str:
    return f'[functions.{function}]\ntype = "chat"\n{extra}\n'


def variant(name: str, model_name: str, function: str = "f", extra: str = "") -> str:
    return (
        f"[functions.{function}.variants.{name}]\n"
        f'type = "chat_completion"\nmodel = "{model_name}"\n{extra}\n'
    )


def world(**per_model: dict[str, Any]) -> dict[str, Any]:
    """Zero latency, 20 output tokens, and per-model overrides."""
    return {
        "defaults": {"latency_s": 0, "output_tokens": 20},
        "models": dict(per_model),
    }


def fixed(**per_model: dict[str, Any]) -> dict[str, Any]:
    """Like :func:`world`, with every named model's prompt fixed at 50."""
    base = world(**per_model)
    for spec in base["models"].values():
        spec.setdefault("input_tokens", 50)
    return base


FAIL = {"outcomes": [500, 500, 500, 500, 500, 500]}
RATE_LIMITED = {"outcomes": [429, 429, 429, 429]}
ONE_FAILURE = {"outcomes": [500]}

EPISODES = tuple(Infer(episode=n) for n in range(1, 9))

METRICS = """
[gateway]
unstable_disable_feedback_target_validation = true

[metrics.good]
type = "boolean"
optimize = "max"
level = "inference"

[metrics.score]
type = "float"
optimize = "max"
level = "episode"
"""

SCHEMA_FILES = {
    "system.json": (
        '{"type": "object", "properties": {"tone": {"type": "string"}},'
        ' "required": ["tone"], "additionalProperties": false}'
    ),
    "system.minijinja": "Answer in a {{ tone }} tone, in one short sentence.",
    "user.minijinja": "Question: {{ user_text }}",
    "output.json": (
        '{"type": "object", "properties": {"answer": {"type": "string"},'
        ' "confidence": {"type": "number"}}, "required": ["answer", "confidence"]}'
    ),
    "weather.json": (
        '{"type": "object", "properties": {"city": {"type": "string"}},'
        ' "required": ["city"]}'
    ),
}


def bon(name: str, candidates: list[str], evaluator: str, kind: str = "best") -> str:
    variant_type = (
        "experimental_best_of_n_sampling"
        if kind == "best"
        else "experimental_mixture_of_n"
    )
    judge = "evaluator" if kind == "best" else "fuser"
    listed = ", ".join(f'"{c}"' for c in candidates)
    return (
        f'[functions.f.variants.{name}]\ntype = "{variant_type}"\n'
        f"candidates = [{listed}]\n"
        f'[functions.f.variants.{name}.{judge}]\nmodel = "{evaluator}"\n\n'
    )


FAN_OUT_BASE = (
    models("m_a", "m_b", "m_c", "m_judge")
    + chat()
    + "".join(variant(v, f"m_{v}") for v in ("a", "b", "c"))
)


def fan_out_cases(kind: str) -> list[Case]:
    tag = "bon" if kind == "best" else "mon"
    pin = Infer(variant="fan")
    judge_role = "evaluator" if kind == "best" else "fuser"
    return [
        Case(
            f"{tag}-all-ok",
            FAN_OUT_BASE + bon("fan", ["a", "b", "c"], "m_judge", kind),
            (pin, pin),
            fixed(m_a={}, m_b={}, m_c={}, m_judge={}),
            concurrent=True,
        ),
        Case(
            f"{tag}-one-failing-candidate",
            FAN_OUT_BASE + bon("fan", ["a", "b", "c"], "m_judge", kind),
            (pin,),
            fixed(m_a={}, m_b=FAIL, m_c={}, m_judge={}),
            concurrent=True,
        ),
        Case(
            f"{tag}-{judge_role}-failure",
            FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge", kind),
            (pin, pin),
            fixed(m_a={}, m_b={}, m_judge=FAIL),
            concurrent=True,
        ),
        Case(
            f"{tag}-bad-{judge_role}-answer",
            FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge", kind),
            (pin,),
            fixed(m_a={}, m_b={}, m_judge={"invalid_answer_rate": 1.0}),
            concurrent=True,
        ),
        Case(
            f"{tag}-one-survivor",
            FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge", kind),
            (pin,),
            fixed(m_a=FAIL, m_b={}, m_judge={}),
            concurrent=True,
        ),
        Case(
            f"{tag}-all-candidates-fail",
            FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge", kind),
            (pin,),
            fixed(m_a=FAIL, m_b=FAIL, m_judge={}),
            concurrent=True,
        ),
        Case(
            f"{tag}-estimated-prompts",
            FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge", kind),
            (pin,),
            world(),
            concurrent=True,
        ),
        Case(
            f"{tag}-duplicate-candidates",
            FAN_OUT_BASE + bon("fan", ["a", "a", "a"], "m_judge", kind),
            (pin,),
            fixed(m_a={}, m_judge={}),
            concurrent=True,
        ),
        Case(
            f"{tag}-unpriced-candidate",
            models("m_a", "m_judge")
            + model("m_b", cost=None)
            + chat()
            + variant("a", "m_a")
            + variant("b", "m_b")
            + bon("fan", ["a", "b"], "m_judge", kind),
            (pin,),
            fixed(m_a={}, m_b={}, m_judge={}),
            concurrent=True,
        ),
    ]


SAMPLING = [
    Case(
        "single-variant-no-episode",
        models("m") + chat() + variant("a", "m"),
        (Infer(), Infer()),
        world(),
    ),
    Case(
        "default-uniform-sampling",
        models("m_a", "m_b", "m_c")
        + chat()
        + "".join(variant(v, f"m_{v}") for v in ("a", "b", "c")),
        EPISODES,
        world(),
    ),
    Case(
        "sticky-episode",
        models("m_a", "m_b") + chat() + variant("a", "m_a") + variant("b", "m_b"),
        (Infer(episode=3), Infer(episode=3), Infer(episode=4), Infer(episode=4)),
        world(),
    ),
    Case(
        "static-weighted",
        models("m_a", "m_b")
        + chat(
            extra='[functions.f.experimentation]\ntype = "static"\n'
            "candidate_variants = { a = 0.7, b = 0.3 }\n"
        )
        + variant("a", "m_a")
        + variant("b", "m_b"),
        EPISODES,
        world(),
    ),
    Case(
        "static-fallback-order",
        models("m_a", "m_b", "m_c")
        + chat(
            extra='[functions.f.experimentation]\ntype = "static"\n'
            'candidate_variants = ["a"]\nfallback_variants = ["c", "b"]\n'
        )
        + "".join(variant(v, f"m_{v}") for v in ("a", "b", "c")),
        (Infer(episode=1), Infer(episode=2)),
        world(m_a=FAIL, m_c={"outcomes": [500]}),
    ),
    Case(
        "static-zero-weight-tried-last",
        models("m_a", "m_b")
        + chat(
            extra='[functions.f.experimentation]\ntype = "static"\n'
            "candidate_variants = { a = 0.0, b = 1.0 }\n"
        )
        + variant("a", "m_a")
        + variant("b", "m_b"),
        (Infer(episode=1), Infer(episode=2)),
        world(m_b={"outcomes": [500]}),
    ),
    Case(
        "legacy-weights",
        models("m_a", "m_b")
        + chat()
        + variant("a", "m_a", extra="weight = 0.2")
        + variant("b", "m_b", extra="weight = 0.8"),
        EPISODES,
        world(),
        deprecated="per-variant `weight` is deprecated",
    ),
    Case(
        "legacy-zero-weight-excluded-but-pinnable",
        models("m_a", "m_b")
        + chat()
        + variant("a", "m_a", extra="weight = 1.0")
        + variant("b", "m_b", extra="weight = 0.0"),
        (Infer(episode=1), Infer(episode=2), Infer(variant="b")),
        world(),
        deprecated="per-variant `weight` is deprecated",
    ),
    Case(
        "unweighted-fallback-after-failure",
        models("m_a", "m_b", "m_c")
        + chat()
        + "".join(variant(v, f"m_{v}") for v in ("a", "b", "c")),
        (Infer(episode=1), Infer(episode=2), Infer(episode=5)),
        world(m_a=FAIL, m_b={"outcomes": [500, 500]}),
    ),
    Case(
        "all-variants-fail",
        models("m_a", "m_b") + chat() + variant("a", "m_a") + variant("b", "m_b"),
        (Infer(episode=1),),
        world(m_a=FAIL, m_b=FAIL),
    ),
    Case(
        "all-variants-rate-limited",
        models("m_a", "m_b") + chat() + variant("a", "m_a") + variant("b", "m_b"),
        (Infer(episode=1),),
        world(m_a=RATE_LIMITED, m_b=RATE_LIMITED),
    ),
    Case(
        "pinned-variant",
        models("m_a", "m_b") + chat() + variant("a", "m_a") + variant("b", "m_b"),
        (Infer(variant="b"), Infer(variant="b", episode=1)),
        world(),
    ),
    Case(
        "pinned-variant-fails-without-fallback",
        models("m_a", "m_b") + chat() + variant("a", "m_a") + variant("b", "m_b"),
        (Infer(variant="b"),),
        world(m_b=FAIL),
    ),
    Case(
        "pinned-unknown-variant",
        models("m") + chat() + variant("a", "m"),
        (Infer(variant="nope"),),
        world(),
    ),
    Case(
        "unknown-function",
        models("m") + chat() + variant("a", "m"),
        (Infer(function="nope"),),
        world(),
    ),
    Case(
        "model-name-call",
        models("m") + chat() + variant("a", "m"),
        (Infer(function=None, model_name="m"),),
        world(),
    ),
]

RETRIES_AND_ROUTING = [
    Case(
        "retry-after-server-error",
        models("m")
        + chat()
        + variant("a", "m", extra="retries = { num_retries = 1, max_delay_s = 0.1 }"),
        (Infer(),),
        world(m=ONE_FAILURE),
    ),
    Case(
        "retries-exhausted",
        models("m")
        + chat()
        + variant("a", "m", extra="retries = { num_retries = 1, max_delay_s = 0.1 }"),
        (Infer(),),
        world(m=FAIL),
    ),
    Case(
        "retry-after-rate-limit",
        models("m")
        + chat()
        + variant("a", "m", extra="retries = { num_retries = 1, max_delay_s = 0.1 }"),
        (Infer(),),
        world(m={"outcomes": [429]}),
    ),
    Case(
        "routing-fallback",
        model("m", "p1", "p2") + chat() + variant("a", "m"),
        (Infer(), Infer()),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {"m": {"providers": {"p1": {"outcomes": [500]}}}},
        },
    ),
    Case(
        "routing-all-fail",
        model("m", "p1", "p2") + chat() + variant("a", "m"),
        (Infer(),),
        world(m=FAIL),
    ),
    Case(
        "routing-cost-of-the-provider-that-answered",
        '[models.m]\nrouting = ["p1", "p2"]\n'
        '[models.m.providers.p1]\ntype = "openai"\nmodel_name = "gpt-4o-mini"\n'
        'cost = [{ pointer = "/usage/prompt_tokens", cost_per_million = 1.0 }]\n'
        '[models.m.providers.p2]\ntype = "openai"\nmodel_name = "gpt-4o"\n'
        'cost = [{ pointer = "/usage/prompt_tokens", cost_per_million = 2.0 }]\n'
        + chat()
        + variant("a", "m"),
        (Infer(), Infer()),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {"m": {"providers": {"p1": {"outcomes": [500]}}}},
        },
    ),
    Case(
        "retries-times-routing",
        model("m", "p1", "p2")
        + chat()
        + variant("a", "m", extra="retries = { num_retries = 1, max_delay_s = 0.1 }"),
        (Infer(),),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {
                "m": {
                    "providers": {
                        "p1": {"outcomes": [500]},
                        "p2": {"outcomes": [503]},
                    }
                }
            },
        },
    ),
    Case(
        "routing-rate-limit-then-ok",
        model("m", "p1", "p2") + chat() + variant("a", "m"),
        (Infer(),),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {"m": {"providers": {"p1": {"outcomes": [429]}}}},
        },
    ),
]

TIMEOUTS = [
    Case(
        "variant-timeout-falls-back",
        models("m_a", "m_b")
        + chat(
            extra='[functions.f.experimentation]\ntype = "static"\n'
            'candidate_variants = ["a"]\nfallback_variants = ["b"]\n'
        )
        + variant("a", "m_a", extra="timeouts = { non_streaming = { total_ms = 150 } }")
        + variant("b", "m_b"),
        (Infer(episode=1),),
        world(m_a={"latency_s": 0.6}),
    ),
    Case(
        "provider-timeout-routes-on",
        '[models.m]\nrouting = ["p1", "p2"]\n'
        '[models.m.providers.p1]\ntype = "openai"\nmodel_name = "gpt-4o-mini"\n'
        "timeouts = { non_streaming = { total_ms = 150 } }\n"
        '[models.m.providers.p2]\ntype = "openai"\nmodel_name = "gpt-4o-mini"\n'
        + chat()
        + variant("a", "m"),
        (Infer(),),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {"m": {"providers": {"p1": {"latency_s": 0.6}}}},
        },
    ),
    Case(
        "model-timeout",
        model("m", extra="timeouts = { non_streaming = { total_ms = 150 } }")
        + chat()
        + variant("a", "m"),
        (Infer(),),
        world(m={"latency_s": 0.6}),
    ),
]

COST = [
    Case(
        "cost-per-million",
        models("m") + chat() + variant("a", "m"),
        (Infer(),),
        fixed(m={"input_tokens": 1000, "output_tokens": 500}),
    ),
    Case(
        "cost-per-unit",
        model(
            "m",
            cost='[{ pointer = "/usage/total_tokens", cost_per_unit = 0.000002 }]',
        )
        + chat()
        + variant("a", "m"),
        (Infer(),),
        fixed(m={}),
    ),
    Case(
        "cost-negative-cache-rate",
        model(
            "m",
            cost='[{ pointer = "/usage/prompt_tokens", cost_per_million = 2.5,'
            " required = true },"
            ' { pointer = "/usage/completion_tokens", cost_per_million = 10.0,'
            " required = true },"
            ' { pointer = "/usage/prompt_tokens_details/cached_tokens",'
            " cost_per_million = -1.25 }]",
        )
        + chat()
        + variant("a", "m"),
        (Infer(),),
        fixed(m={"input_tokens": 1000, "raw_usage": {"cached_tokens": 400}}),
    ),
    Case(
        "cost-missing-required-pointer",
        model(
            "m",
            cost='[{ pointer = "/usage/prompt_tokens", cost_per_million = 1.0 },'
            ' { pointer = "/usage/no_such_field", cost_per_million = 1.0,'
            " required = true }]",
        )
        + chat()
        + variant("a", "m"),
        (Infer(),),
        fixed(m={}),
    ),
    Case(
        "cost-missing-optional-pointer",
        model(
            "m",
            cost='[{ pointer = "/usage/prompt_tokens", cost_per_million = 1.0 },'
            ' { pointer = "/usage/no_such_field", cost_per_million = 1.0 }]',
        )
        + chat()
        + variant("a", "m"),
        (Infer(),),
        fixed(m={}),
    ),
    Case(
        "cost-anthropic-pointers",
        '[models.m]\nrouting = ["p"]\n[models.m.providers.p]\n'
        'type = "anthropic"\nmodel_name = "claude-3-5-haiku-20241022"\n'
        'cost = [{ pointer = "/usage/input_tokens", cost_per_million = 0.8,'
        " required = true },"
        ' { pointer = "/usage/output_tokens", cost_per_million = 4.0,'
        " required = true }]\n" + chat() + variant("a", "m"),
        (Infer(),),
        fixed(m={}),
    ),
    Case(
        "cost-none-without-cost-entries",
        model("m", cost=None) + chat() + variant("a", "m"),
        (Infer(),),
        fixed(m={}),
    ),
    Case(
        "shorthand-model-has-no-cost",
        chat() + variant("a", "openai::gpt-4o-mini"),
        (Infer(),),
        world(),
    ),
]

STREAMING = [
    Case(
        "streaming-usage",
        models("m") + chat() + variant("a", "m"),
        (Infer(stream=True), Infer(stream=True)),
        world(),
    ),
    Case(
        "streaming-routing-fallback",
        model("m", "p1", "p2") + chat() + variant("a", "m"),
        (Infer(stream=True),),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {"m": {"providers": {"p1": {"outcomes": [500]}}}},
        },
    ),
    Case(
        "streaming-best-of-n",
        FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge"),
        (Infer(variant="fan", stream=True),),
        fixed(m_a={}, m_b={}, m_judge={}),
        concurrent=True,
    ),
]

STRUCTURED = [
    Case(
        "templates-with-schemas",
        models("m")
        + chat(extra='system_schema = "system.json"')
        + variant(
            "a",
            "m",
            extra='system_template = "system.minijinja"\n'
            'user_template = "user.minijinja"',
        ),
        (
            Infer(
                input={
                    "system": {"tone": "cheerful"},
                    "messages": [{"role": "user", "content": "What is two plus two?"}],
                }
            ),
        ),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "template-schema-violation",
        models("m")
        + chat(extra='system_schema = "system.json"')
        + variant("a", "m", extra='system_template = "system.minijinja"'),
        (
            Infer(
                input={
                    "system": {"mood": "grim"},
                    "messages": [{"role": "user", "content": "hi"}],
                }
            ),
        ),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "json-function-output-schema",
        models("m")
        + '[functions.f]\ntype = "json"\noutput_schema = "output.json"\n'
        + variant("a", "m", extra='json_mode = "strict"'),
        (Infer(), Infer(stream=True)),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "json-function-unparseable-answer",
        models("m")
        + '[functions.f]\ntype = "json"\noutput_schema = "output.json"\n'
        + variant("a", "m", extra='json_mode = "on"'),
        (Infer(),),
        world(m={"invalid_answer_rate": 1.0}),
        files=SCHEMA_FILES,
    ),
    Case(
        "chain-of-thought",
        models("m")
        + '[functions.f]\ntype = "json"\noutput_schema = "output.json"\n'
        + '[functions.f.variants.cot]\ntype = "experimental_chain_of_thought"\n'
        'model = "m"\njson_mode = "strict"\n',
        (Infer(),),
        world(),
        files=SCHEMA_FILES,
        deprecated="`experimental_chain_of_thought` is deprecated",
    ),
    Case(
        "chain-of-thought-refuses-streaming",
        models("m")
        + '[functions.f]\ntype = "json"\noutput_schema = "output.json"\n'
        + '[functions.f.variants.cot]\ntype = "experimental_chain_of_thought"\n'
        'model = "m"\njson_mode = "strict"\n',
        (Infer(stream=True),),
        world(),
        files=SCHEMA_FILES,
        deprecated="`experimental_chain_of_thought` is deprecated",
    ),
    Case(
        "tools-required",
        models("m") + '[tools.weather]\ndescription = "Weather in a city"\n'
        'parameters = "weather.json"\n'
        + chat(extra='tools = ["weather"]\ntool_choice = "required"')
        + variant("a", "m"),
        (Infer(), Infer(stream=True)),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "tools-auto",
        models("m") + '[tools.weather]\ndescription = "Weather in a city"\n'
        'parameters = "weather.json"\n'
        + chat(extra='tools = ["weather"]')
        + variant("a", "m"),
        (Infer(),),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "params-max-tokens-caps-output",
        models("m") + chat() + variant("a", "m"),
        (Infer(params={"chat_completion": {"max_tokens": 7}}),),
        world(),
    ),
]

DICL = [
    Case(
        "dicl-zero-examples",
        models("m") + '[embedding_models.emb]\nrouting = ["p"]\n'
        '[embedding_models.emb.providers.p]\ntype = "openai"\n'
        'model_name = "text-embedding-3-small"\n' + chat() + DICL_VARIANT,
        (Infer(),),
        fixed(m={}),
    ),
    Case(
        "dicl-embedding-failure",
        models("m") + '[embedding_models.emb]\nrouting = ["p"]\n'
        '[embedding_models.emb.providers.p]\ntype = "openai"\n'
        'model_name = "text-embedding-3-small"\n' + chat() + DICL_VARIANT,
        (Infer(),),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {"m": {"input_tokens": 50}},
            "embedding_models": {"emb": {"outcomes": [500]}},
        },
    ),
]

FEEDBACK = [
    Case(
        "feedback-boolean-and-float",
        METRICS + models("m") + chat() + variant("a", "m"),
        (
            Infer(episode=1),
            Feedback("good", True),
            Feedback("score", 0.5, target="episode"),
            Feedback("score", 1, target="episode"),
        ),
        world(),
    ),
    Case(
        "feedback-wrong-value-types",
        METRICS + models("m") + chat() + variant("a", "m"),
        (
            Infer(episode=1),
            Feedback("good", 0.3),
            Feedback("score", True, target="episode"),
        ),
        world(),
    ),
    Case(
        "feedback-wrong-level",
        METRICS + models("m") + chat() + variant("a", "m"),
        (Infer(episode=1), Feedback("score", 0.5), Feedback("good", True, "episode")),
        world(),
    ),
    Case(
        "feedback-unknown-metric",
        METRICS + models("m") + chat() + variant("a", "m"),
        (Infer(episode=1), Feedback("nope", 1.0)),
        world(),
    ),
    Case(
        "feedback-comment",
        METRICS + models("m") + chat() + variant("a", "m"),
        (
            Infer(episode=1),
            Feedback("comment", "fine"),
            Feedback("comment", "ok", "episode"),
        ),
        world(),
    ),
]


def anthropic_model(name: str) -> str:
    """``[models.NAME]`` with one Anthropic provider ``p``."""
    return (
        f'[models.{name}]\nrouting = ["p"]\n[models.{name}.providers.p]\n'
        'type = "anthropic"\nmodel_name = "claude-3-5-haiku-20241022"\n'
        'cost = [{ pointer = "/usage/input_tokens", cost_per_million = 0.8,'
        " required = true },"
        ' { pointer = "/usage/output_tokens", cost_per_million = 4.0,'
        " required = true }]\n"
    )


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


MULTI_TURN = {
    "system": "You are terse.",
    "messages": [
        user("What is two plus two?"),
        assistant("Four."),
        user("And three plus three?"),
    ],
}
NO_SYSTEM = {"messages": [user("What is two plus two?")]}
TOOL_CALL = {
    "type": "tool_call",
    "id": "call_1",
    "name": "weather",
    "arguments": {"city": "Paris"},
}
TOOL_ROUND_TRIP = {
    "system": "You are terse.",
    "messages": [
        user("What is the weather in Paris?"),
        {"role": "assistant", "content": [TOOL_CALL]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "id": "call_1",
                    "name": "weather",
                    "result": "sunny, 24 degrees",
                }
            ],
        },
    ],
}
TOOL_RESULT_WITH_TEXT = {
    "system": "You are terse.",
    "messages": [
        user("What is the weather in Paris?"),
        {"role": "assistant", "content": [TOOL_CALL]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "id": "call_1",
                    "name": "weather",
                    "result": "sunny, 24 degrees",
                },
                {"type": "text", "text": "Answer in one word."},
            ],
        },
    ],
}
WEATHER_TOOL = (
    '[tools.weather]\ndescription = "Weather in a city"\nparameters = "weather.json"\n'
)
JSON_ON = '[functions.f]\ntype = "json"\noutput_schema = "output.json"\n' + variant(
    "a", "m", extra='json_mode = "on"'
)

#: Message count and roles per provider call, for the shapes of conversation
#: provider request builders treat differently.
MESSAGES = [
    Case(
        "messages-multi-turn",
        models("m") + chat() + variant("a", "m"),
        (Infer(input=MULTI_TURN),),
        world(),
    ),
    Case(
        "messages-no-system",
        models("m") + chat() + variant("a", "m"),
        (Infer(input=NO_SYSTEM),),
        world(),
    ),
    Case(
        "messages-assistant-last",
        models("m") + chat() + variant("a", "m"),
        (Infer(input={"messages": [user("Count to three."), assistant("One,")]}),),
        world(),
    ),
    Case(
        "messages-json-on-no-system",
        models("m") + JSON_ON,
        (Infer(input=NO_SYSTEM),),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "messages-json-on-message-mentions-json",
        models("m") + JSON_ON,
        (Infer(input={"messages": [user("Reply in JSON: two plus two?")]}),),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "messages-tool-round-trip",
        models("m")
        + WEATHER_TOOL
        + chat(extra='tools = ["weather"]')
        + variant("a", "m"),
        (Infer(input=TOOL_ROUND_TRIP),),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "messages-tool-result-with-text",
        models("m")
        + WEATHER_TOOL
        + chat(extra='tools = ["weather"]')
        + variant("a", "m"),
        (Infer(input=TOOL_RESULT_WITH_TEXT),),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "messages-user-template",
        models("m")
        + chat(extra='user_schema = "user.json"')
        + variant("a", "m", extra='user_template = "user.minijinja"'),
        (
            Infer(
                input={
                    "system": "You are terse.",
                    "messages": [
                        {"role": "user", "content": {"user_text": "two plus two?"}},
                        assistant("Four."),
                        {"role": "user", "content": {"user_text": "and three?"}},
                    ],
                }
            ),
        ),
        world(),
        files={
            **SCHEMA_FILES,
            "user.json": (
                '{"type": "object", "properties": {"user_text": {"type": "string"}},'
                ' "required": ["user_text"]}'
            ),
        },
    ),
    Case(
        "messages-anthropic-multi-turn",
        anthropic_model("m") + chat() + variant("a", "m"),
        (Infer(input=MULTI_TURN), Infer(input=NO_SYSTEM)),
        world(),
    ),
    Case(
        "messages-anthropic-consecutive-users",
        anthropic_model("m") + chat() + variant("a", "m"),
        (Infer(input={"messages": [user("Two plus two?"), user("Be brief.")]}),),
        world(),
    ),
    Case(
        "messages-anthropic-assistant-first",
        anthropic_model("m") + chat() + variant("a", "m"),
        (Infer(input={"messages": [assistant("Hello."), user("Two plus two?")]}),),
        world(),
    ),
    Case(
        "messages-anthropic-json-on",
        anthropic_model("m") + JSON_ON,
        (Infer(), Infer(input=NO_SYSTEM)),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "messages-anthropic-tool-round-trip",
        anthropic_model("m")
        + WEATHER_TOOL
        + chat(extra='tools = ["weather"]')
        + variant("a", "m"),
        (Infer(input=TOOL_ROUND_TRIP),),
        world(),
        files=SCHEMA_FILES,
    ),
    Case(
        "messages-bon-multi-turn",
        FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge"),
        (Infer(variant="fan", input=MULTI_TURN),),
        world(),
        concurrent=True,
    ),
    Case(
        "messages-mon-no-system",
        FAN_OUT_BASE + bon("fan", ["a", "b"], "m_judge", "mixture"),
        (Infer(variant="fan", input=NO_SYSTEM),),
        world(),
        concurrent=True,
    ),
    Case(
        "messages-bon-tool-round-trip",
        models("m_a", "m_b", "m_judge")
        + WEATHER_TOOL
        + chat(extra='tools = ["weather"]')
        + variant("a", "m_a")
        + variant("b", "m_b")
        + bon("fan", ["a", "b"], "m_judge"),
        (Infer(variant="fan", input=TOOL_ROUND_TRIP),),
        world(),
        files=SCHEMA_FILES,
        concurrent=True,
    ),
    Case(
        "messages-routing-anthropic-then-openai",
        '[models.m]\nrouting = ["p1", "p2"]\n[models.m.providers.p1]\n'
        'type = "anthropic"\nmodel_name = "claude-3-5-haiku-20241022"\n'
        '[models.m.providers.p2]\ntype = "openai"\nmodel_name = "gpt-4o-mini"\n'
        + JSON_ON,
        (Infer(input=NO_SYSTEM), Infer(input=TOOL_ROUND_TRIP)),
        {
            "defaults": {"latency_s": 0, "output_tokens": 20},
            "models": {"m": {"providers": {"p1": {"outcomes": [500, 500]}}}},
        },
        files=SCHEMA_FILES,
    ),
    Case(
        "messages-dicl-multi-turn",
        models("m") + '[embedding_models.emb]\nrouting = ["p"]\n'
        '[embedding_models.emb.providers.p]\ntype = "openai"\n'
        'model_name = "text-embedding-3-small"\n' + chat() + DICL_VARIANT,
        (Infer(input=MULTI_TURN), Infer(input=NO_SYSTEM)),
        world(),
    ),
]

CASES: list[Case] = [
    *SAMPLING,
    *fan_out_cases("best"),
    *fan_out_cases("mixture"),
    *RETRIES_AND_ROUTING,
    *TIMEOUTS,
    *COST,
    *STREAMING,
    *STRUCTURED,
    *DICL,
    *FEEDBACK,
    *MESSAGES,
]
