"""Translation of chat-completions bodies; the error texts were measured on
the real gateway (tensorzero 2026.6.0's local HTTP gateway)."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.serve.openai_compat import inference_kwargs
from simulator.serve.requests import BadRequest

HI = [{"role": "user", "content": "hi"}]
F = "tensorzero::function_name::f"


def _refusal(body: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as info:
        inference_kwargs(body)
    return str(info.value)


def test_measured_refusals() -> None:
    assert _refusal({"messages": HI}) == "missing field `model`"
    assert _refusal({"model": F}) == "missing field `messages`"
    assert _refusal({"model": F, "messages": HI, "n": 2}) == (
        "Invalid request to OpenAI-compatible endpoint: TensorZero does not support "
        "`n` other than 1. Please omit this parameter or set it to 1."
    )
    assert _refusal(
        {"model": F, "messages": HI, "foo": 1, "tensorzero::deny_unknown_fields": True}
    ) == (
        "Invalid request to OpenAI-compatible endpoint: "
        "`tensorzero::deny_unknown_fields` is set to true, but found unknown "
        "fields in the request: [foo]"
    )
    assert _refusal({"model": F, "messages": HI, "tensorzero::episode_id": "abc"}) == (
        "tensorzero::episode_id: UUID parsing failed: invalid length: expected length "
        "32 for simple format, found 3"
    )
    tool = [{"role": "tool", "content": "hi", "tool_call_id": "x"}]
    assert _refusal({"model": F, "messages": tool}) == (
        "Invalid request to OpenAI-compatible endpoint: tool call id not found"
    )


def test_unknown_fields_are_ignored_by_default() -> None:
    kwargs, _ = inference_kwargs({"model": F, "messages": HI, "foo": 1})
    assert kwargs == {
        "function_name": "f",
        "input": {
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        },
    }


def test_params_and_extras() -> None:
    kwargs, include_usage = inference_kwargs(
        {
            "model": "tensorzero::model_name::openai::gpt-4o-mini",
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "system", "content": "s1"},
                {"role": "system", "content": [{"type": "text", "text": "s2"}]},
            ],
            "max_tokens": 100,
            "max_completion_tokens": 50,
            "temperature": 0.2,
            "response_format": {"type": "json_object"},
            "tensorzero::params": {"chat_completion": {"temperature": 0.7}},
            "tensorzero::dryrun": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    assert include_usage is True
    assert kwargs["model_name"] == "openai::gpt-4o-mini"
    assert kwargs["input"]["system"] == "s1\ns2"
    assert kwargs["params"] == {
        "chat_completion": {"temperature": 0.7, "max_tokens": 50, "json_mode": "on"}
    }
    assert kwargs["dryrun"] is True and kwargs["stream"] is True


def test_templates_and_tool_round_trip() -> None:
    kwargs, _ = inference_kwargs(
        {
            "model": F,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tensorzero::template",
                            "name": "greet",
                            "arguments": {"x": 1},
                        }
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": {"type": "object"}},
            },
        }
    )
    messages = kwargs["input"]["messages"]
    assert messages[0]["content"] == [
        {"type": "template", "name": "greet", "arguments": {"x": 1}}
    ]
    assert messages[1]["content"][0]["name"] == "lookup"
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "id": "c1", "name": "lookup", "result": "42"}
        ],
    }
    assert kwargs["output_schema"] == {"type": "object"}
    assert kwargs["params"] == {"chat_completion": {"json_mode": "strict"}}
