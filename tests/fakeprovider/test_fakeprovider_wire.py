from __future__ import annotations

import json

import pytest

from simulator.fakeprovider import (
    ProviderReply,
    ProviderTarget,
    decode_target,
    encode_target,
)
from simulator.fakeprovider.wire import (
    anthropic_message,
    openai_chat,
    openai_chat_stream,
    parse_anthropic_messages,
    parse_openai_chat,
    raw_usage,
)


@pytest.mark.parametrize(
    "target",
    [
        ProviderTarget("m", "p"),
        ProviderTarget("openai::gpt-4o-mini", "openai", "openai", "gpt-4o-mini"),
        ProviderTarget("a|b/c", "p::q", "anthropic", "claude 3", embedding=True),
        ProviderTarget("a|b/c", "p::q", "anthropic", "claude|3"),
    ],
)
def test_target_round_trips_through_the_model_field(target: ProviderTarget) -> None:
    assert decode_target(encode_target(target)) == target


def test_a_model_field_we_did_not_write_names_the_model_itself() -> None:
    target = decode_target("gpt-4o-mini")
    assert (target.model, target.provider, target.provider_type) == (
        "gpt-4o-mini",
        "gpt-4o-mini",
        "openai",
    )


def test_raw_usage_adds_the_original_provider_types_fields() -> None:
    reply = ProviderReply(input_tokens=100, output_tokens=20, cached_tokens=30)
    usage = raw_usage("anthropic", reply)["usage"]
    assert usage["prompt_tokens"] == 100
    assert usage["completion_tokens"] == 20
    assert usage["prompt_tokens_details"] == {"cached_tokens": 30}
    # Anthropic counts uncached prompt tokens only.
    assert usage["input_tokens"] == 70
    assert usage["cache_read_input_tokens"] == 30
    gemini = raw_usage("gcp_vertex_gemini", reply)
    assert gemini["usageMetadata"]["promptTokenCount"] == 100
    assert gemini["usageMetadata"]["cachedContentTokenCount"] == 30


def _chat_request(**body: object) -> dict[str, object]:
    return {
        "model": encode_target(ProviderTarget("m", "p")),
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hello"}]},
        ],
        **body,
    }


def test_parse_openai_chat_keeps_roles_texts_and_tags() -> None:
    request = parse_openai_chat(
        _chat_request(stream=True), {"X-Runguard-Variant": "v1", "Other": "x"}
    )
    assert request.roles == ("system", "user")
    assert request.texts == ("be brief", "hello")
    assert request.stream
    assert request.tags == {"variant": "v1"}
    assert request.target.model == "m"


def test_json_schema_requests_get_schema_valid_json() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["answer", "n"],
    }
    body = _chat_request(
        response_format={"type": "json_schema", "json_schema": {"schema": schema}}
    )
    request = parse_openai_chat(body, {})
    content = openai_chat(request, ProviderReply(output_tokens=5), 0)["choices"][0]
    parsed = json.loads(content["message"]["content"])
    assert set(parsed) == {"answer", "n"}
    assert isinstance(parsed["n"], int)


def test_evaluator_requests_get_the_chosen_index() -> None:
    schema = {
        "type": "object",
        "properties": {
            "thinking": {"type": "string"},
            "answer_choice": {"type": "integer"},
        },
    }
    body = _chat_request(
        response_format={"type": "json_schema", "json_schema": {"schema": schema}}
    )
    request = parse_openai_chat(body, {})
    assert request.is_evaluator
    message = openai_chat(request, ProviderReply(answer_choice=2), 0)["choices"][0]
    assert json.loads(message["message"]["content"])["answer_choice"] == 2


def test_required_tool_choice_gets_a_tool_call() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    request = parse_openai_chat(_chat_request(tools=[tool], tool_choice="required"), {})
    choice = openai_chat(request, ProviderReply(), 3)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "weather"
    assert set(json.loads(call["function"]["arguments"])) == {"city"}


def test_stream_ends_with_a_usage_chunk_and_done() -> None:
    request = parse_openai_chat(_chat_request(stream=True), {})
    chunks = list(
        openai_chat_stream(request, ProviderReply(input_tokens=7, output_tokens=3), 0)
    )
    assert chunks[-1] == b"data: [DONE]\n\n"
    usage_chunk = json.loads(chunks[-2][len(b"data: ") :])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 3
    text = "".join(
        json.loads(c[len(b"data: ") :])["choices"][0]["delta"].get("content", "")
        for c in chunks[:-2]
    )
    full = openai_chat(request, ProviderReply(output_tokens=3), 0)
    assert text == full["choices"][0]["message"]["content"]


def test_anthropic_messages_round_trip() -> None:
    body = {
        "model": "claude-x",
        "system": [{"type": "text", "text": "sys"}],
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    request = parse_anthropic_messages(body, {})
    assert request.roles == ("system", "user")
    message = anthropic_message(
        request, ProviderReply(input_tokens=9, output_tokens=4), 1
    )
    assert message["usage"]["input_tokens"] == 9
    assert message["usage"]["output_tokens"] == 4
    assert message["content"][0]["type"] == "text"


def test_tool_calls_and_results_are_counted_by_their_text() -> None:
    openai = parse_openai_chat(
        {
            "model": "m",
            "messages": [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            ],
        },
        {},
    )
    assert openai.roles == ("assistant", "tool")
    assert openai.blocks == (("weather", "{}"), ("sunny",))
    anthropic = parse_anthropic_messages(
        {
            "model": "m",
            "max_tokens": 10,
            "messages": [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "c1", "name": "weather", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "c1",
                            "content": [{"type": "text", "text": "sunny"}],
                        }
                    ],
                },
            ],
        },
        {},
    )
    # Anthropic nests the result in text blocks: only the text counts.
    assert anthropic.blocks == (("weather", "{}"), ("sunny",))


def test_anthropic_json_prefill_is_continued() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "Here is the JSON requested:\n{"}],
            },
        ],
    }
    request = parse_anthropic_messages(body, {})
    message = anthropic_message(request, ProviderReply(output_tokens=3), 0)
    # the gateway puts the "{" back in front: the answer is "{}"
    assert message["content"][0]["text"] == "}"
