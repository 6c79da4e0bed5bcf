from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from simhelpers import MESSAGE, openai_model
from tensorzero import TensorZeroError

from simulator import Simulation
from simulator.errors import ConfigWarning

Make = Callable[..., Simulation]

CONFIG = (
    openai_model("m")
    + """
[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
max_tokens = 50
[functions.j]
type = "json"
output_schema = "schema.json"
[functions.j.variants.cot]
type = "experimental_chain_of_thought"
model = "m"
json_mode = "strict"
[metrics.good]
type = "boolean"
optimize = "max"
level = "inference"
[metrics.score]
type = "float"
optimize = "max"
level = "episode"
"""
)
SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "n": {"type": "integer", "minimum": 3},
    },
    "required": ["answer", "n"],
    "additionalProperties": False,
}


@pytest.fixture
def sim(make_sim: Make, tmp_path) -> Simulation:  # type: ignore[no-untyped-def]
    config = CONFIG.replace("schema.json", str(tmp_path / "schema.json"))
    # functions.j keeps the deprecated chain-of-thought variant on purpose.
    with pytest.warns(ConfigWarning, match="`experimental_chain_of_thought` is dep"):
        sim = make_sim(config)
    return sim


@pytest.fixture(autouse=True)
def schema_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))


def error_of(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(TensorZeroError) as info:
        call()
    return info.value.status_code, json.loads(info.value.text)["error"]


def test_request_errors(sim: Simulation) -> None:
    client = sim.client()
    assert error_of(lambda: client.inference(function_name="nope", input=MESSAGE)) == (
        404,
        "Unknown function: nope",
    )
    assert error_of(
        lambda: client.inference(function_name="f", input=MESSAGE, variant_name="w")
    ) == (404, "Unknown variant: w")
    status, message = error_of(
        lambda: client.inference(
            function_name="f", input=MESSAGE, episode_id=uuid.uuid4()
        )
    )
    assert status == 400 and message.startswith("Failed to parse UUID as v7: ")


@pytest.mark.parametrize(
    ("names", "message"),
    [
        # measured on tensorzero 2026.6.0, all 400
        (
            {"model_name": "nömodel"},
            "Invalid inference target: Invalid model name: Model name 'nömodel' "
            "not found in model table",
        ),
        (
            {"function_name": "f", "model_name": "m"},
            "Invalid inference target: Only one of `function_name` or `model_name` "
            "can be provided",
        ),
        (
            {},
            "Invalid inference target: Either `function_name` or `model_name` must "
            "be provided",
        ),
        (
            {"model_name": "m", "variant_name": "v"},
            "Invalid inference target: `variant_name` cannot be provided when "
            "using `model_name`",
        ),
    ],
)
def test_inference_target_errors(
    sim: Simulation, names: dict[str, str], message: str
) -> None:
    client = sim.client()
    assert error_of(lambda: client.inference(input=MESSAGE, **names)) == (
        400,
        message,
    )


def test_feedback_on_an_id_that_is_not_v7_is_refused_at_once(sim: Simulation) -> None:
    client = sim.client()
    client.inference(function_name="f", input=MESSAGE)
    before = sim.clock.now
    wrong = uuid.UUID("99faefa3-6a8e-4d0c-9b1e-2f0a3c1d5e7f")
    assert error_of(
        lambda: client.feedback(metric_name="comment", value="x", inference_id=wrong)
    ) == (400, f"Failed to parse UUID as v7: {wrong}")
    assert sim.clock.now == before


def test_params_cap_output_tokens(sim: Simulation) -> None:
    client = sim.client()
    assert client.inference(function_name="f", input=MESSAGE).usage.output_tokens == 50
    response = client.inference(
        function_name="f", input=MESSAGE, params={"chat_completion": {"max_tokens": 7}}
    )
    assert response.usage.output_tokens == 7


def test_json_function_returns_schema_valid_output(sim: Simulation) -> None:
    response = sim.client().inference(function_name="j", input=MESSAGE)
    assert response.output.parsed == {"answer": "simulated", "n": 3}
    assert sim.ledger.provider_calls == 1
    unsupported = "Unsupported variant for streaming inference of type chain_of_thought"
    status, message = error_of(
        lambda: sim.client().inference(
            function_name="j", input=MESSAGE, stream=True, variant_name="cot"
        )
    )
    assert (status, message) == (500, unsupported)
    status, message = error_of(
        lambda: sim.client().inference(function_name="j", input=MESSAGE, stream=True)
    )
    assert (status, message) == (
        502,
        f"All variants failed with errors: cot: {unsupported}",
    )


def test_streaming_chat(sim: Simulation) -> None:
    chunks = list(sim.client().inference(function_name="f", input=MESSAGE, stream=True))
    assert chunks[0].content[0].text
    assert chunks[-1].usage.output_tokens == 50
    assert chunks[-1].variant_name == "v"


def test_model_name_calls(sim: Simulation) -> None:
    response = sim.client().inference(model_name="m", input=MESSAGE)
    assert response.variant_name == "m"
    assert sim.ledger.function == ["tensorzero::default"]


def test_feedback_checks(sim: Simulation) -> None:
    client = sim.client()
    r = client.inference(function_name="f", input=MESSAGE)
    assert client.feedback(metric_name="good", value=True, inference_id=r.inference_id)
    assert client.feedback(metric_name="score", value=3, episode_id=r.episode_id)
    assert client.feedback(metric_name="comment", value="nice", episode_id=r.episode_id)
    assert [f.metric for f in sim.feedback_records] == ["good", "score", "comment"]
    cases = [
        ({"metric_name": "nope", "value": 1, "inference_id": r.inference_id}, 404,
         "Unknown metric: nope"),
        ({"metric_name": "good", "value": 1, "inference_id": r.inference_id}, 400,
         "Feedback value for metric `good` must be a boolean"),
        ({"metric_name": "score", "value": True, "episode_id": r.episode_id}, 400,
         "Feedback value for metric `score` must be a number"),
        ({"metric_name": "good", "value": True, "episode_id": r.episode_id}, 400,
         'Correct ID was not provided for feedback level "inference".'),
        ({"metric_name": "good", "value": True, "inference_id": r.inference_id,
              "episode_id": r.episode_id}, 400,
         "Both episode_id and inference_id cannot be provided"),
    ]  # fmt: skip
    for kwargs, status, message in cases:
        assert error_of(lambda kw=kwargs: client.feedback(**kw)) == (status, message)
    before = sim.clock.now
    missing = uuid.UUID(int=(int(r.inference_id) ^ 1))
    status, message = error_of(
        lambda: client.feedback(metric_name="good", value=True, inference_id=missing)
    )
    assert (status, message) == (400, f"Inference ID: {missing} does not exist")
    assert sim.clock.now - before >= 1.0
    assert len(sim.feedback_records) == 3


TIMEOUTS = (
    openai_model("m_slow")
    + openai_model("m_fast")
    + """
[models.m_slow.providers.fake.timeouts]
non_streaming.total_ms = 1500
[functions.f]
type = "chat"
[functions.f.experimentation]
type = "static"
candidate_variants = ["slow"]
fallback_variants = ["fast"]
[functions.f.variants.slow]
type = "chat_completion"
model = "m_slow"
[functions.f.variants.fast]
type = "chat_completion"
model = "m_fast"
"""
)


def test_provider_timeout_is_a_408_then_fallback(make_sim: Make) -> None:
    sim = make_sim(
        TIMEOUTS,
        world={"models": {"m_slow": {"latency_s": 4.0}, "m_fast": {"latency_s": 1.0}}},
    )
    response = sim.client().inference(function_name="f", input=MESSAGE)
    assert response.variant_name == "fast"
    rows = sim.ledger.rows()
    assert (rows[0].outcome, rows[0].status, rows[0].end_s) == ("timeout", 408, 1.5)
    assert rows[0].billed and not rows[0].counted  # bill_timeouts defaults to true
    assert rows[1].start_s == 1.5 and sim.clock.now == 2.5
    status, message = error_of(
        lambda: sim.client().inference(
            function_name="f", input=MESSAGE, variant_name="slow"
        )
    )
    assert status == 500
    assert message == (
        "All model providers failed to infer with errors: fake: Model provider fake "
        "timed out due to configured `non_streaming.total_ms` timeout (1.5s)"
    )


GLOBAL_TIMEOUT = (
    "[gateway]\nglobal_outbound_http_timeout_ms = 500\n"
    + openai_model("m", providers=("p", "q"))
    + """
[functions.f]
type = "chat"
[functions.f.variants.v]
type = "chat_completion"
model = "m"
"""
)


def test_the_global_timeout_cuts_a_slow_attempt(make_sim: Make) -> None:
    """Measured on tensorzero 2026.6.0 with a 500 ms global timeout: a
    provider answering in 1 s is cut at 0.5 s and the next one answers
    (0.6 s in all); with both slow, the inference fails at 1.0 s."""
    world = {"models": {"m": {"providers": {"p": {"latency_s": 1.0}}}}}
    world["models"]["m"]["providers"]["q"] = {"latency_s": 0.1}
    sim = make_sim(GLOBAL_TIMEOUT, world=world)
    sim.client().inference(function_name="f", input=MESSAGE)
    assert [(r.provider, r.outcome, r.end_s) for r in sim.ledger.rows()] == [
        ("p", "timeout", 0.5),
        ("q", "ok", 0.6),
    ]
    world["models"]["m"]["providers"]["q"] = {"latency_s": 2.0}
    slow = make_sim(GLOBAL_TIMEOUT, world=world)
    status, message = error_of(
        lambda: slow.client().inference(function_name="f", input=MESSAGE)
    )
    one = (
        "Error from openai client: Request timed out due to "
        "`gateway.global_outbound_http_timeout_ms` (total deadline) or "
        "`gateway.global_outbound_http_intra_stream_read_timeout_ms` (per-byte "
        "read timeout). Consider increasing the relevant value in your "
        "configuration if you expect inferences to take longer to complete. "
        "(error sending request for url (https://api.openai.com/v1/chat/completions))"
    )
    assert status == 502
    assert message == (
        "All variants failed with errors: v: All model providers failed to infer "
        f"with errors: p: {one}, q: {one}"
    )
    assert slow.clock.now == 1.0


def test_global_timeout_messages_name_the_request(make_sim: Make) -> None:
    """Measured on tensorzero 2026.6.0 against a server that never answers:
    the URL of each provider type's request, and the streaming wording."""
    config = (
        "[gateway]\nglobal_outbound_http_timeout_ms = 300\n"
        '[models.m]\nrouting = ["p"]\n[models.m.providers.p]\ntype = "anthropic"\n'
        'model_name = "claude-3-5-haiku-20241022"\n'
        'api_base = "http://127.0.0.1:9/v1/"\n'
        'api_key_location = "env::RUNGUARD_FAKE_OPENAI_KEY"\n'
        '[functions.f]\ntype = "chat"\n[functions.f.variants.v]\n'
        'type = "chat_completion"\nmodel = "m"\n'
    )
    reason = (
        "Request timed out due to `gateway.global_outbound_http_timeout_ms` "
        "(total deadline) or `gateway.global_outbound_http_intra_stream_read_"
        "timeout_ms` (per-byte read timeout). Consider increasing the relevant "
        "value in your configuration if you expect inferences to take longer to "
        "complete."
    )
    url = "http://127.0.0.1:9/v1/messages"
    expected = {
        False: f"Error from anthropic client: {reason} (error sending request "
        f"for url ({url}))",
        True: f"Inference stream closed due to error from anthropic server: "
        f"{reason} (Reqwest error; caused by: error sending request for url "
        f"({url}); caused by: operation timed out)",
    }
    for stream, text in expected.items():
        sim = make_sim(config, world={"models": {"m": {"outcomes": ["timeout"]}}})
        client = sim.client()
        with pytest.raises(TensorZeroError) as info:
            client.inference(function_name="f", input=MESSAGE, stream=stream)
        status = info.value.status_code
        message = json.loads(info.value.text or "")["error"]
        assert (status, sim.clock.now) == (502, 0.3)
        assert message == (
            "All variants failed with errors: v: All model providers failed to "
            f"infer with errors: p: {text}"
        )
