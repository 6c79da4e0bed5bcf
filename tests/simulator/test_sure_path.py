"""The short path for a provider that cannot fail (``Engine.answer_sure``
and ``Gateway._reply_sure``) is an optimisation only: with it switched off,
the same requests give the same ledger, responses and records."""

from __future__ import annotations

import os
import uuid
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulator import Simulation
from simulator.engine import Engine
from tests.simulator.simhelpers import openai_model

# the config keeps a chain-of-thought variant, which the gateway deprecates
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*experimental_chain_of_thought.*:simulator.errors.ConfigWarning"
)

CONFIG = (
    openai_model(
        "m1",
        providers=("first", "second"),
        cost=(
            '[{ pointer = "/usage/prompt_tokens", cost_per_million = 1.5, '
            'required = true }, { pointer = "/usage/completion_tokens", '
            "cost_per_million = 6, required = true }]"
        ),
    )
    + openai_model("m2")
    + """
[functions.chat]
type = "chat"

[functions.chat.variants.a]
type = "chat_completion"
model = "m1"

[functions.chat.variants.b]
type = "chat_completion"
model = "m2"
max_tokens = 50

[functions.chat.experimentation]
type = "static"
candidate_variants = { a = 0.7, b = 0.3 }

[functions.bo]
type = "chat"

[functions.bo.variants.best]
type = "experimental_best_of_n_sampling"
candidates = ["a", "a", "b"]

[functions.bo.variants.best.evaluator]
model = "m1"

[functions.bo.variants.a]
type = "chat_completion"
model = "m1"

[functions.bo.variants.b]
type = "chat_completion"
model = "m2"

[functions.bo.experimentation]
type = "static"
candidate_variants = { best = 1.0 }

[functions.js]
type = "json"
output_schema = "schema.json"

[functions.js.variants.plain]
type = "chat_completion"
model = "m1"
json_mode = "strict"

[functions.js.variants.on]
type = "chat_completion"
model = "m1"
json_mode = "on"

[functions.js.variants.cot]
type = "experimental_chain_of_thought"
model = "m2"
json_mode = "off"
"""
)
SCHEMA = '{"type": "object", "properties": {"x": {"type": "integer"}}}'

tokens = st.one_of(
    st.integers(0, 400),
    st.builds(
        lambda low, span: {"dist": "uniform", "low": low, "high": low + span},
        st.integers(0, 200),
        st.integers(1, 300),
    ),
)
latency = st.one_of(
    st.sampled_from([0.0, 0.25, 1.0]),
    st.just({"dist": "lognormal", "mu": -1.0, "sigma": 0.5}),
)
model_world = st.fixed_dictionaries(
    {},
    optional={
        "output_tokens": tokens,
        "latency_s": latency,
        # 60 refuses a short prompt with variant b's max_tokens; 200 a long one
        "context_window": st.sampled_from([60, 200]),
        "invalid_answer_rate": st.sampled_from([0.0, 0.5]),
        "raw_usage": st.just(
            {"cached_tokens": {"dist": "uniform", "low": 0, "high": 20}}
        ),
    },
)
failures = st.sampled_from(
    [{"failure_rates": {"server_error": 0.3}}, {"outcomes": ["server_error", "ok"]}]
)


def _world(m1: Any, m2: Any, first: Any, failing: str | None, how: Any) -> Any:
    world = {"models": {"m1": {**m1, "providers": {"first": first}}, "m2": m2}}
    if failing == "first":
        first.update(how)
    elif failing is not None:
        world["models"][failing].update(how)
    return world


# at most one place fails, so most examples keep a sure provider somewhere
worlds = st.builds(
    _world,
    model_world,
    model_world,
    model_world,
    st.sampled_from([None, "m1", "m2", "first"]),
    failures,
)

SHORT = {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi!"}]}
LONG = {"messages": [{"role": "user", "content": "word " * 120}]}
BLOCKS = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}
requests = st.lists(
    st.tuples(
        st.sampled_from(
            [("chat", None), ("chat", "a"), ("chat", "b"), ("bo", None)]
            + [("js", "plain"), ("js", "on"), ("js", "cot")]
        ),
        st.sampled_from([SHORT, LONG, BLOCKS]),
        st.sampled_from([None, {"chat_completion": {"max_tokens": 30}}]),
        st.booleans(),  # stream
        st.integers(0, 3),  # episode: 0 = a new one, else one of three
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    os.environ.setdefault("RUNGUARD_FAKE_OPENAI_KEY", "placeholder")
    folder = tmp_path_factory.mktemp("sure")
    (folder / "schema.json").write_text(SCHEMA)
    path = folder / "tensorzero.toml"
    path.write_text(CONFIG)
    return str(path)


def run(world: dict[str, Any] | None, plan: list[Any], config: str) -> Any:
    sim = Simulation.from_config(config, world=world, seed=3)
    client = sim.client()
    episodes = [None] + [
        uuid.UUID(int=(1_780_000_000_000 + i << 80) | (7 << 76) | (2 << 62))
        for i in range(3)
    ]
    seen: list[Any] = []
    for (function, variant), inp, params, stream, episode in plan:
        try:
            reply = client.inference(
                function_name=function,
                variant_name=variant,
                input=inp,
                params=params,
                stream=stream,
                episode_id=episodes[episode],
            )
            seen.append(list(reply) if stream else reply)
        except Exception as exc:  # noqa: BLE001 - errors are compared too
            seen.append((type(exc).__name__, str(exc)))
    return (
        sim.ledger.digest(),
        repr(seen),
        sim.ledger.inferences,
        sim.clock.now,
        sim.ledger.reported_usd,
    )


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(world=worlds, plan=requests)
@example(
    world={"models": {"m2": {"context_window": 60}}},
    plan=[
        (("chat", "b"), SHORT, None, False, 0),
        (("bo", None), SHORT, None, False, 1),
    ],
)
def test_same_results_without_the_short_path(
    world: dict[str, Any], plan: list[Any], config: str
) -> None:
    fast = run(world, plan, config)
    with mock.patch.object(Engine, "_sure_provider", lambda self, plan: None):
        slow = run(world, plan, config)
    assert fast == slow


def test_the_short_path_is_taken(config: str) -> None:
    """The comparison above means something only if the short path runs:
    with a plain world every chat_completion variant has a sure provider."""
    sim = Simulation.from_config(config, seed=0)
    plans = sim.engine.functions
    assert (
        plans["chat"].variants["a"].sure
        is plans["chat"].variants["a"].model.providers[0]
    )
    with mock.patch.object(
        Engine, "_call_model", autospec=True, side_effect=Engine._call_model
    ) as routing:
        sim.client().inference(function_name="chat", variant_name="a", input=SHORT)
        sim.client().inference(function_name="bo", input=SHORT)
    # neither the plain request nor the three candidates needed the routing
    # loop; the evaluator, which is not a variant, always takes it
    assert routing.call_count == 1
    assert sim.ledger.provider_calls == 1 + 3 + 1
    # the default world draws nothing, so each attempt was worked out once
    # per variant and input
    assert list(plans["chat"].variants["a"].fixed_attempts or {}) == [
        ("Be brief.", "user", "Hi!")
    ]
    drawn = Simulation.from_config(
        config, world={"defaults": {"output_tokens": {"dist": "poisson", "lam": 9}}}
    )
    assert drawn.engine.functions["chat"].variants["a"].sure is not None
    assert drawn.engine.functions["chat"].variants["a"].fixed_attempts is None
    failing = Simulation.from_config(
        config, world={"models": {"m1": {"failure_rates": {"server_error": 0.1}}}}
    )
    assert failing.engine.functions["chat"].variants["a"].sure is None
    assert failing.engine.functions["chat"].variants["b"].sure is not None


TEMPLATED = (
    openai_model("m1")
    + """
[functions.chat]
type = "chat"

[functions.chat.variants.a]
type = "chat_completion"
model = "m1"
system_template = "broken.minijinja"

[functions.chat.variants.b]
type = "chat_completion"
model = "m1"

[functions.chat.experimentation]
type = "static"
candidate_variants = { a = 1.0 }
fallback_variants = ["b"]

[functions.bo]
type = "chat"

[functions.bo.variants.best]
type = "experimental_best_of_n_sampling"
candidates = ["a", "b", "b"]

[functions.bo.variants.best.evaluator]
model = "m1"

[functions.bo.variants.a]
type = "chat_completion"
model = "m1"
system_template = "broken.minijinja"

[functions.bo.variants.b]
type = "chat_completion"
model = "m1"

[functions.bo.experimentation]
type = "static"
candidate_variants = { best = 1.0 }
"""
)


@pytest.mark.parametrize(
    "world",
    [None, {"defaults": {"latency_s": {"dist": "uniform", "low": 0.1, "high": 0.5}}}],
)
def test_a_template_that_fails_fails_its_variant_only(
    tmp_path: Any, world: Any
) -> None:
    """A plain text system prompt cannot fill a template that reads an
    object's field: that variant fails, and the fallback variant or the other
    candidates answer, with the short path as without it."""
    os.environ.setdefault("RUNGUARD_FAKE_OPENAI_KEY", "placeholder")
    (tmp_path / "broken.minijinja").write_text("You are {{ profile.name }}.")
    path = tmp_path / "tensorzero.toml"
    path.write_text(TEMPLATED)
    plan = [
        (("chat", None), SHORT, None, False, 0),
        (("bo", None), SHORT, None, False, 0),
    ]
    fast = run(world, plan, str(path))
    with mock.patch.object(Engine, "_sure_provider", lambda self, plan: None):
        slow = run(world, plan, str(path))
    assert fast == slow
    sim = Simulation.from_config(str(path), world=world)
    chat = sim.client().inference(function_name="chat", input=SHORT)
    assert chat.variant_name == "b"
    best = sim.client().inference(function_name="bo", input=SHORT)
    assert best.variant_name == "best"
    # the failing candidate never reached a provider: two answers, one judge
    assert [r.role for r in sim.ledger.rows()] == [
        "generation",
        "candidate",
        "candidate",
        "evaluator",
    ]


@pytest.mark.parametrize(
    "latency",
    [2.0, 0.2, {"dist": "uniform", "low": 0.5, "high": 1.5}],
)
def test_latencies_past_the_global_timeout_take_the_routing_loop(
    tmp_path: Any, latency: Any
) -> None:
    """With a 1 s global timeout, a provider that may take longer is cut by
    the routing loop; the short path must leave such attempts to it."""
    os.environ.setdefault("RUNGUARD_FAKE_OPENAI_KEY", "placeholder")
    path = tmp_path / "tensorzero.toml"
    path.write_text(
        "[gateway]\nglobal_outbound_http_timeout_ms = 1000\n"
        + openai_model("m1", providers=("first", "second"))
        + '[functions.chat]\ntype = "chat"\n'
        + '[functions.chat.variants.a]\ntype = "chat_completion"\nmodel = "m1"\n'
    )
    world = {"models": {"m1": {"providers": {"first": {"latency_s": latency}}}}}
    plan = [(("chat", "a"), SHORT, None, False, 0)] * 40
    fast = run(world, plan, str(path))
    with mock.patch.object(Engine, "_sure_provider", lambda self, plan: None):
        slow = run(world, plan, str(path))
    assert fast == slow
    sim = Simulation.from_config(str(path), world=world, seed=3)
    for _ in range(40):
        sim.client().inference(function_name="chat", variant_name="a", input=SHORT)
    timeouts = sim.ledger.count(outcome="timeout")
    assert (timeouts == 0) == (latency == 0.2)
