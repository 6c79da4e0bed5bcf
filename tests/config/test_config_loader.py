from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import pytest

from simulator.analysis import analyze
from simulator.config import load_config
from simulator.config.model import (
    BestOfNVariant,
    ChainOfThoughtVariant,
    DiclVariant,
    MixtureOfNVariant,
)
from simulator.errors import ConfigError, ConfigWarning

MODEL = """
[models.m]
routing = ["a", "b"]
timeouts = { non_streaming = { total_ms = 9000 } }
[models.m.providers.a]
type = "openai"
model_name = "gpt-4o-mini"
api_base = "http://127.0.0.1:9/v1/"
[[models.m.providers.a.cost]]
pointer = "/usage/prompt_tokens"
cost_per_million = 2.5
required = true
[[models.m.providers.a.cost]]
pointer_nonstreaming = "/usage/completion_tokens"
pointer_streaming = "/usage/completion_tokens"
cost_per_unit = 0.00001
[models.m.providers.b]
type = "anthropic"
model_name = "claude-3-5-haiku-20241022"
[embedding_models.e]
routing = ["p"]
[embedding_models.e.providers.p]
type = "openai"
model_name = "text-embedding-3-small"
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_glob_merge_and_relative_paths(tmp_path: Path) -> None:
    write(tmp_path, "models.toml", MODEL)
    write(tmp_path, "fn/sys.minijinja", "Be brief about {{ topic }}.")
    write(tmp_path, "fn/schema.json", '{"type": "object"}')
    write(
        tmp_path,
        "fn/f.toml",
        '[functions.f]\ntype = "chat"\nsystem_schema = "schema.json"\n'
        '[functions.f.variants.v]\ntype = "chat_completion"\nmodel = "m"\n'
        'system_template = "sys.minijinja"\n',
    )
    config = load_config(str(tmp_path / "**" / "*.toml"))
    variant = config.functions["f"].variants["v"]
    assert variant.inner.templates["system"].source == "Be brief about {{ topic }}."
    assert (
        variant.inner.templates["system"].path
        == (tmp_path / "fn/sys.minijinja").resolve()
    )
    assert config.functions["f"].schemas["system"] == {"type": "object"}
    assert len(config.files) == 2


def test_model_routing_cost_and_shorthand(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "t.toml", MODEL))
    model = config.model("m")
    assert model.routing == ("a", "b")
    assert model.timeouts.non_streaming_total_ms == 9000
    first, second = model.providers["a"].cost
    assert first.rate_per_unit == Decimal("0.0000025") and first.required
    assert second.rate_per_unit == Decimal("0.00001") and not second.required
    assert model.providers["b"].cost is None
    shorthand = config.model("openai::gpt-4o")
    assert shorthand.shorthand and shorthand.providers["openai"].model_name == "gpt-4o"
    with pytest.raises(KeyError):
        config.model("nope::x")
    assert (
        config.embedding_model("e").providers["p"].model_name
        == "text-embedding-3-small"
    )


def test_every_variant_type(tmp_path: Path) -> None:
    text = (
        MODEL
        + """
[functions.j]
type = "json"
[functions.j.variants.base]
type = "chat_completion"
model = "m"
json_mode = "strict"
temperature = 0.2
max_tokens = 100
retries = { num_retries = 2, max_delay_s = 1.5, unknown_is_ignored = 1 }
[functions.j.variants.bon]
type = "experimental_best_of_n_sampling"
candidates = ["base", "base", "base"]
[functions.j.variants.bon.evaluator]
model = "openai::gpt-4o-mini"
[functions.j.variants.mon]
type = "experimental_mixture_of_n"
candidates = ["base", "bon"]
[functions.j.variants.mon.fuser]
model = "m"
json_mode = "on"
[functions.j.variants.dicl]
type = "experimental_dynamic_in_context_learning"
model = "m"
embedding_model = "e"
k = 4
max_distance = 0.3
json_mode = "strict"
[functions.j.variants.cot]
type = "experimental_chain_of_thought"
model = "m"
json_mode = "strict"
"""
    )
    with pytest.warns(ConfigWarning, match="chain_of_thought"):
        config = load_config(write(tmp_path, "t.toml", text))
    variants = config.functions["j"].variants
    assert list(variants) == sorted(variants)
    base = variants["base"]
    assert base.inner.params == {"temperature": 0.2, "max_tokens": 100}
    assert base.inner.retries.num_retries == 2
    assert isinstance(variants["bon"], BestOfNVariant)
    assert variants["bon"].candidates == ("base", "base", "base")
    assert isinstance(variants["mon"], MixtureOfNVariant)
    assert isinstance(variants["dicl"], DiclVariant) and variants["dicl"].k == 4
    assert isinstance(variants["cot"], ChainOfThoughtVariant)
    assert config.warnings and "chain_of_thought" in config.warnings[0]
    calls = {
        v.variant: (v.calls_typical, v.calls_worst)
        for v in analyze(config).functions[0].variants
    }
    # base: 3 attempts × 2 providers; bon: 3 candidates + evaluator.
    assert calls["base"] == (1, 6)
    assert calls["bon"] == (4, 3 * 6 + 1)
    assert calls["mon"] == (1 + 4 + 1, 6 + 19 + 2)
    assert calls["dicl"] == (2, 1 + 2)


def test_deprecated_forms_warn(tmp_path: Path) -> None:
    text = """
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "openai::gpt-4o-mini"
weight = 0.8
[functions.f.variants.b]
type = "chat_completion"
model = "openai::gpt-4o-mini"
weight = 0.2
[functions.g]
type = "chat"
[functions.g.experimentation]
type = "static_weights"
candidate_variants = { a = 0.8, b = 0.2 }
[functions.g.variants.a]
type = "chat_completion"
model = "openai::gpt-4o-mini"
[functions.g.variants.b]
type = "chat_completion"
model = "openai::gpt-4o-mini"
"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = load_config(write(tmp_path, "t.toml", text))
    assert {type(w.message) for w in caught} == {ConfigWarning}
    assert len(config.warnings) == 2
    legacy = config.functions["f"].experimentation
    assert legacy.kind == "legacy" and dict(legacy.candidate_variants) == {
        "a": 0.8,
        "b": 0.2,
    }
    static = config.functions["g"].experimentation
    assert static.kind == "static" and dict(static.candidate_variants) == {
        "a": 0.8,
        "b": 0.2,
    }


def test_experimentation_forms_and_namespaces(tmp_path: Path) -> None:
    text = """
[metrics.ok]
type = "boolean"
optimize = "max"
level = "episode"
[functions.f]
type = "chat"
[functions.f.variants.a]
type = "chat_completion"
model = "openai::gpt-4o-mini"
[functions.f.variants.b]
type = "chat_completion"
model = "openai::gpt-4o-mini"
[functions.f.experimentation]
type = "adaptive"
metric = "ok"
candidate_variants = ["a", "b"]
delta = 0.1
[functions.f.experimentation.namespaces.beta]
type = "static"
candidate_variants = ["b"]
fallback_variants = ["a"]
"""
    config = load_config(write(tmp_path, "t.toml", text))
    exp = config.functions["f"].experimentation
    assert exp.kind == "adaptive" and exp.metric == "ok"
    assert (
        exp.settings["delta"] == 0.1 and exp.settings["min_samples_per_variant"] == 10
    )
    beta = exp.namespaces["beta"]
    assert beta.kind == "static" and beta.fallback_variants == ("a",)


def test_rate_limiting_rules(tmp_path: Path) -> None:
    text = """
[rate_limiting]
enabled = false
default_cost = 0.5
[[rate_limiting.rules]]
cost_per_day = { capacity = 10.5, refill_rate = 1.25 }
model_inferences_per_minute = 30
scope = [{ tag_key = "user", tag_value = "tensorzero::each" }]
priority = 2
[[rate_limiting.rules]]
tokens_per_hour = 1000
always = true
"""
    config = load_config(write(tmp_path, "t.toml", text))
    rl = config.rate_limiting
    assert not rl.enabled and rl.default_cost == Decimal("0.5")
    first, second = rl.rules
    assert {
        (x.resource, x.interval, x.capacity, x.refill_rate) for x in first.limits
    } == {
        ("cost", "day", Decimal("10.5"), Decimal("1.25")),
        ("model_inferences", "minute", Decimal(30), Decimal(30)),
    }
    assert first.priority == 2 and first.scope[0]["tag_key"] == "user"
    assert second.always and second.priority is None


def test_timeouts_at_three_levels(tmp_path: Path) -> None:
    text = (
        MODEL.replace(
            'model_name = "gpt-4o-mini"',
            'model_name = "gpt-4o-mini"\n'
            "timeouts = { streaming = { ttft_ms = 500, total_ms = 4000 } }",
        )
        + """
[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
timeouts = { non_streaming = { total_ms = 20000 } }
"""
    )
    config = load_config(write(tmp_path, "t.toml", text))
    assert config.model("m").providers["a"].timeouts.streaming_ttft_ms == 500
    assert config.model("m").timeouts.non_streaming_total_ms == 9000
    assert config.functions["f"].variants["v"].timeouts.non_streaming_total_ms == 20000


def test_dummy_refused_unless_allowed(tmp_path: Path) -> None:
    text = (
        '[models.d]\nrouting = ["p"]\n'
        '[models.d.providers.p]\ntype = "dummy"\nmodel_name = "good"\n'
    )
    path = write(tmp_path, "t.toml", text)
    with pytest.raises(ConfigError, match="dummy"):
        load_config(path)
    assert load_config(path, allow_dummy=True).model("d").providers["p"].type == "dummy"


def test_non_finite_optional_numbers_read_as_unset(tmp_path: Path) -> None:
    # Measured: the gateway accepts `weight = nan` / `-inf` and even mixes
    # such a weight with [experimentation] -- it reads the value as unset.
    path = write(
        tmp_path,
        "t.toml",
        MODEL
        + """
[functions.f]
type = "chat"
[functions.f.experimentation]
type = "static"
candidate_variants = ["b"]
[functions.f.variants.a]
type = "chat_completion"
model = "m"
weight = nan
temperature = inf
[functions.f.variants.b]
type = "chat_completion"
model = "m"
weight = -inf
temperature = 0.5
""",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = load_config(path)
    unset = sorted(
        str(w.message).split(": ")[2]
        for w in caught
        if issubclass(w.category, ConfigWarning)
        and "treats it as unset" in str(w.message)
    )
    assert unset == [
        "functions.f.variants.a.temperature",
        "functions.f.variants.a.weight",
        "functions.f.variants.b.weight",
    ]
    variants = config.functions["f"].variants
    assert variants["a"].weight is None and variants["b"].weight is None
    assert "temperature" not in variants["a"].inner.params
    assert variants["b"].inner.params["temperature"] == 0.5
    assert dict(config.functions["f"].experimentation.candidate_variants) == {"b": 1.0}


def test_misspelt_parameter_error_lists_the_parameters(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.toml",
        '[functions.f]\ntype = "chat"\n[functions.f.variants.a]\n'
        'type = "chat_completion"\nmodel = "openai::gpt-4o-mini"\nmax_tokns = 400\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    message = str(caught.value)
    assert "functions.f.variants.a.max_tokns: unknown key" in message
    accepted = message.split("accepted here: ")[1].rstrip(")").split(", ")
    assert {"max_tokens", "temperature", "top_p", "seed"} <= set(accepted)
