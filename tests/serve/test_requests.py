"""The gateway's JSON layer: what ``/inference`` and ``/feedback`` refuse
with 400 before any variant runs, and the keywords a good body becomes."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.serve.requests import (
    BadRequest,
    feedback_kwargs,
    inference_kwargs,
    parse_body,
)

INPUT = {"messages": [{"role": "user", "content": "hi"}]}

# What tensorzero 2026.6.0's HTTP client sends for
# client.inference(function_name="f", input=..., tags={"a": "b"}).
CLIENT_BODY: dict[str, Any] = {
    "function_name": "f",
    "model_name": None,
    "episode_id": None,
    "namespace": None,
    "input": INPUT,
    "stream": None,
    "params": {"chat_completion": {}},
    "variant_name": None,
    "dryrun": None,
    "internal": False,
    "tags": {"a": "b"},
    "provider_tools": [],
    "output_schema": None,
    "credentials": {},
    "cache_options": {"max_age_s": None, "enabled": "off"},
    "include_original_response": False,
    "include_raw_response": False,
    "include_raw_usage": False,
    "include_aggregated_response": False,
    "extra_body": [],
    "extra_headers": [],
    "internal_dynamic_variant_config": None,
}


def test_client_defaults_are_dropped() -> None:
    assert inference_kwargs(CLIENT_BODY) == {
        "function_name": "f",
        "input": INPUT,
        "tags": {"a": "b"},
    }


def test_set_fields_are_forwarded() -> None:
    body = {
        **CLIENT_BODY,
        "variant_name": "v",
        "stream": True,
        "dryrun": True,
        "episode_id": "0196c3c5-0000-7000-8000-000000000000",
        "params": {"chat_completion": {"temperature": 0.1, "seed": None}},
    }
    kwargs = inference_kwargs(body)
    assert kwargs["variant_name"] == "v"
    assert kwargs["stream"] is True
    assert kwargs["dryrun"] is True
    assert kwargs["episode_id"] == "0196c3c5-0000-7000-8000-000000000000"
    assert kwargs["params"] == {"chat_completion": {"temperature": 0.1}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**CLIENT_BODY, "colour": 1}, "unknown field `colour`"),
        ({"function_name": "f"}, "missing field `input`"),
        (
            {**CLIENT_BODY, "stream": "yes"},
            'stream: invalid type: string "yes", expected a boolean',
        ),
        (
            {**CLIENT_BODY, "function_name": 3},
            "function_name: invalid type: integer `3`, expected a string",
        ),
        (
            {**CLIENT_BODY, "tags": {"a": 1}},
            "tags.a: invalid type: integer `1`, expected a string",
        ),
        (
            {**CLIENT_BODY, "input": {"messages": [], "sistem": "x"}},
            "input: unknown field `sistem`, expected `system` or `messages`",
        ),
        (
            {**CLIENT_BODY, "input": None},
            "input: invalid type: null, expected struct Input",
        ),
        # The UUID messages were measured on the real gateway (its OpenAI
        # endpoint parses tensorzero::episode_id with the same parser).
        (
            {**CLIENT_BODY, "episode_id": "abc"},
            "episode_id: UUID parsing failed: invalid length: expected length 32 for "
            "simple format, found 3",
        ),
        (
            {**CLIENT_BODY, "episode_id": "0196c3c5-0000-7000-8000-00000000000z"},
            "episode_id: UUID parsing failed: invalid character: found `z` at 36",
        ),
        (
            {**CLIENT_BODY, "episode_id": "0196c3c5-0000-7000-8000"},
            "episode_id: UUID parsing failed: invalid group count: expected 5, found 4",
        ),
        (
            {**CLIENT_BODY, "episode_id": "0196c3c5-0000-7000-8000-0000000000000"},
            "episode_id: UUID parsing failed: invalid group length in group 4: "
            "expected 12, found 13",
        ),
        (
            {
                **CLIENT_BODY,
                "input": {"messages": [{"role": "system", "content": "x"}]},
            },
            "input.messages[0].role: unknown variant `system`, expected `user` or "
            "`assistant`",
        ),
    ],
)
def test_refused_bodies(body: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest) as info:
        inference_kwargs(body)
    assert str(info.value) == message


def test_type_errors_come_before_missing_and_unknown_fields() -> None:
    with pytest.raises(BadRequest, match="^stream: invalid type"):
        inference_kwargs({"colour": 1, "stream": 1})
    with pytest.raises(BadRequest, match="^missing field `input`$"):
        inference_kwargs({"colour": 1})


def test_malformed_json() -> None:
    # The gateway's text for this body (measured) reads:
    # "Failed to parse the request body as JSON: key must be a string at line 1
    # column 2 (400 Bad Request)"; the decoder's own words differ.
    with pytest.raises(BadRequest) as info:
        parse_body(b"{bad json")
    text = str(info.value)
    assert text.startswith("Failed to parse the request body as JSON: ")
    assert text.endswith("at line 1 column 2 (400 Bad Request)")


def test_feedback_kwargs() -> None:
    body: dict[str, Any] = {
        "episode_id": None,
        "inference_id": "0196c3c5-0000-7000-8000-000000000000",
        "metric_name": "m",
        "value": 0.3,
        "internal": False,
        "tags": {},
        "dryrun": None,
    }
    assert feedback_kwargs(body) == {
        "inference_id": "0196c3c5-0000-7000-8000-000000000000",
        "metric_name": "m",
        "value": 0.3,
    }


def test_feedback_unknown_field_lists_the_known_ones() -> None:
    with pytest.raises(BadRequest) as info:
        feedback_kwargs({"metric_name": "m", "value": 1, "score": 2})
    assert str(info.value) == (
        "unknown field `score`, expected one of `episode_id`, `inference_id`, "
        "`metric_name`, `value`, `internal`, `tags`, `dryrun`"
    )


def test_feedback_missing_value() -> None:
    with pytest.raises(BadRequest, match="^missing field `value`$"):
        feedback_kwargs({"metric_name": "m"})
