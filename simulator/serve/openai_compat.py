"""The gateway's OpenAI-compatible ``POST /openai/v1/chat/completions``.

A chat-completions body becomes an ordinary inference: ``model`` names the
target (``tensorzero::function_name::F`` or ``tensorzero::model_name::M``),
the OpenAI sampling fields become ``params.chat_completion`` (with
``tensorzero::params`` taking precedence), system messages become
``input.system``, and ``tensorzero::*`` fields carry the rest.  Unknown
fields are ignored unless ``tensorzero::deny_unknown_fields`` is true, as the
gateway does.  The response is a ``chat.completion`` (or a stream of
``chat.completion.chunk``) whose ``model`` names the variant that answered.
"""

from __future__ import annotations

import json
from typing import Any

import tensorzero
from tensorzero.types import JsonChunk

from simulator.serve.requests import BadRequest, parse_uuid

__all__ = [
    "completion_json",
    "completion_chunks_json",
    "inference_kwargs",
    "model_prefix",
]

_FUNCTION_PREFIX = "tensorzero::function_name::"
_MODEL_PREFIX = "tensorzero::model_name::"
_INVALID = "Invalid request to OpenAI-compatible endpoint: "

_OPENAI_FIELDS = frozenset(
    {
        "messages",
        "model",
        "frequency_penalty",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "response_format",
        "seed",
        "stream",
        "stream_options",
        "temperature",
        "tools",
        "tool_choice",
        "top_p",
        "parallel_tool_calls",
        "stop",
        "reasoning_effort",
        "service_tier",
        "verbosity",
        "n",
    }
)
# tensorzero:: extra field -> keyword of client.inference
_EXTRA_FIELDS = {
    "tensorzero::variant_name": "variant_name",
    "tensorzero::dryrun": "dryrun",
    "tensorzero::episode_id": "episode_id",
    "tensorzero::namespace": "namespace",
    "tensorzero::cache_options": "cache_options",
    "tensorzero::extra_body": "extra_body",
    "tensorzero::extra_headers": "extra_headers",
    "tensorzero::tags": "tags",
    "tensorzero::credentials": "credentials",
    "tensorzero::internal_dynamic_variant_config": "internal_dynamic_variant_config",
    "tensorzero::provider_tools": "provider_tools",
    "tensorzero::include_raw_usage": "include_raw_usage",
    "tensorzero::include_original_response": "include_original_response",
    "tensorzero::include_raw_response": "include_raw_response",
}
_OTHER_KNOWN = frozenset({"tensorzero::params", "tensorzero::deny_unknown_fields"})
# OpenAI sampling field -> params.chat_completion key
_SAMPLING = (
    ("frequency_penalty", "frequency_penalty"),
    ("presence_penalty", "presence_penalty"),
    ("reasoning_effort", "reasoning_effort"),
    ("service_tier", "service_tier"),
    ("seed", "seed"),
    ("stop", "stop_sequences"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("verbosity", "verbosity"),
)
_JSON_MODES = {"json_schema": "strict", "json_object": "on", "text": "off"}
_FINISH_REASONS = {
    "stop": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_call": "tool_calls",
    "unknown": "stop",
}


def _invalid(message: str) -> BadRequest:
    return BadRequest(_INVALID + message)


def inference_kwargs(body: Any) -> tuple[dict[str, Any], bool]:
    """``client.inference`` keywords for a chat-completions body, and whether
    a stream should end with usage (``stream_options.include_usage``)."""
    if not isinstance(body, dict):
        raise BadRequest("invalid type: map expected, expected struct Params")
    for required in ("messages", "model"):
        if required not in body:
            raise BadRequest(f"missing field `{required}`")
    model = body["model"]
    if not isinstance(model, str):
        raise BadRequest(f"model: invalid type: {json.dumps(model)}, expected a string")
    if not isinstance(body["messages"], list):
        raise BadRequest("messages: invalid type: expected a sequence")
    episode_id = body.get("tensorzero::episode_id")
    if episode_id is not None:
        parse_uuid("tensorzero::episode_id", episode_id)
    n = body.get("n")
    if n is not None and n != 1:
        raise _invalid(
            "TensorZero does not support `n` other than 1. Please omit this "
            "parameter or set it to 1."
        )
    unknown = sorted(
        k
        for k in body
        if k not in _OPENAI_FIELDS and k not in _EXTRA_FIELDS and k not in _OTHER_KNOWN
    )
    if unknown and body.get("tensorzero::deny_unknown_fields") is True:
        raise _invalid(
            "`tensorzero::deny_unknown_fields` is set to true, but found unknown "
            f"fields in the request: [{', '.join(unknown)}]"
        )
    stream_options = body.get("stream_options") or {}
    include_usage = bool(stream_options.get("include_usage", False))
    include_raw_usage = bool(body.get("tensorzero::include_raw_usage"))
    if (
        body.get("stream")
        and include_raw_usage
        and stream_options.get("include_usage") is False
    ):
        raise _invalid(
            "`tensorzero::include_raw_usage` requires `stream_options.include_usage` "
            "to be true (or omitted) for streaming requests"
        )

    kwargs: dict[str, Any] = {}
    if model.startswith(_FUNCTION_PREFIX):
        name = model[len(_FUNCTION_PREFIX) :]
        if not name:
            raise _invalid(
                'function_name (passed in model field after "tensorzero::'
                'function_name::") cannot be empty'
            )
        kwargs["function_name"] = name
    elif model.startswith(_MODEL_PREFIX):
        name = model[len(_MODEL_PREFIX) :]
        if not name:
            raise _invalid(
                'model_name (passed in model field after "tensorzero::'
                'model_name::") cannot be empty'
            )
        kwargs["model_name"] = name
    else:
        raise _invalid(
            "`model` field must start with `tensorzero::function_name::` or "
            "`tensorzero::model_name::`. For example, "
            "`tensorzero::function_name::my_function` for a function "
            "`my_function` defined in your config, "
            "`tensorzero::model_name::my_model` for a model `my_model` defined "
            "in your config, or default functions like "
            "`tensorzero::model_name::openai::gpt-4o-mini`."
        )

    kwargs["input"] = _input(body["messages"])
    chat = _chat_params(body)
    if chat:
        kwargs["params"] = {"chat_completion": chat}
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == (
        "json_schema"
    ):
        schema = (response_format.get("json_schema") or {}).get("schema")
        if schema is not None:
            kwargs["output_schema"] = schema
    _tool_kwargs(body, kwargs)
    if body.get("stream"):
        kwargs["stream"] = True
    for field, keyword in _EXTRA_FIELDS.items():
        value = body.get(field)
        if value is not None and value is not False and value != {} and value != []:
            kwargs[keyword] = value
    return kwargs, include_usage or include_raw_usage


def _chat_params(body: dict[str, Any]) -> dict[str, Any]:
    chat: dict[str, Any] = {}
    for field, key in _SAMPLING:
        if body.get(field) is not None:
            chat[key] = body[field]
    limits = [
        body[f]
        for f in ("max_tokens", "max_completion_tokens")
        if body.get(f) is not None
    ]
    if limits:
        chat["max_tokens"] = min(limits)
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        if kind not in _JSON_MODES:
            raise BadRequest(
                f"response_format: unknown variant `{kind}`, expected one of "
                "`text`, `json_schema`, `json_object`"
            )
        chat["json_mode"] = _JSON_MODES[kind]
    overrides = (body.get("tensorzero::params") or {}).get("chat_completion") or {}
    chat.update({k: v for k, v in overrides.items() if v is not None})
    return chat


def _tool_kwargs(body: dict[str, Any], kwargs: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None:
        kwargs["additional_tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "parameters": t["function"].get("parameters", {}),
                "strict": bool(t["function"].get("strict", False)),
            }
            for t in tools
        ]
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        kwargs["tool_choice"] = choice
    elif isinstance(choice, dict):
        kwargs["tool_choice"] = {"specific": choice["function"]["name"]}
    if body.get("parallel_tool_calls") is not None:
        kwargs["parallel_tool_calls"] = body["parallel_tool_calls"]


def _input(messages: list[Any]) -> dict[str, Any]:
    system: str | dict[str, Any] | None = None
    out: list[dict[str, Any]] = []
    tool_names: dict[str, str] = {}
    index = 0
    while index < len(messages):
        message = messages[index]
        index += 1
        role = message.get("role") if isinstance(message, dict) else None
        if role in ("system", "developer"):
            system = _system(system, _content("system", message.get("content")))
        elif role == "user":
            out.append(
                {"role": "user", "content": _content("user", message.get("content"))}
            )
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            if message.get("content") is not None:
                blocks.extend(_content("assistant", message["content"]))
            for call in message.get("tool_calls") or []:
                tool_names[call["id"]] = call["function"]["name"]
                blocks.append(
                    {
                        "type": "tool_call",
                        "id": call["id"],
                        "name": call["function"]["name"],
                        "arguments": call["function"]["arguments"],
                    }
                )
            out.append({"role": "assistant", "content": blocks})
        elif role == "tool":
            # Consecutive tool results travel in one user message, as the
            # gateway sends parallel tool results together.
            results = [_tool_result(message, tool_names)]
            while index < len(messages) and messages[index].get("role") == "tool":
                results.append(_tool_result(messages[index], tool_names))
                index += 1
            out.append({"role": "user", "content": results})
        else:
            raise BadRequest(
                f"messages[{index - 1}]: unknown variant `{role}`, expected one of "
                "`system`, `user`, `assistant`, `tool`"
            )
    result: dict[str, Any] = {"messages": out}
    if system is not None:
        result["system"] = system
    return result


def _tool_result(message: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if call_id not in names:
        raise _invalid("tool call id not found")
    content = message.get("content")
    return {
        "type": "tool_result",
        "id": call_id,
        "name": names[call_id],
        "result": "" if content is None else _as_text(content),
    }


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _system(
    current: str | dict[str, Any] | None, blocks: list[dict[str, Any]]
) -> str | dict[str, Any] | None:
    for block in blocks:
        if block["type"] == "template":
            if current is not None:
                raise _invalid(
                    "System message cannot contain template with other content"
                )
            current = block["arguments"]
            continue
        if block["type"] == "text":
            text = block["text"]
        elif block["type"] == "raw_text":
            text = block["value"]
        else:
            raise _invalid(
                "System message must contain only text or template content blocks"
            )
        if current is None:
            current = text
        elif isinstance(current, str):
            current = f"{current}\n{text}"
        else:
            raise _invalid("Cannot add text after template system message")
    return current


def _content(role: str, content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _invalid(
            "message content must either be a string or an array of length 1 "
            "containing structured TensorZero inputs"
        )
    return [_block(role, block) for block in content]


def _block(role: str, block: Any) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise _invalid(f"Content block `{json.dumps(block)}` is not an object")
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return {"type": "text", "text": block["text"]}
    if kind == "text" and "tensorzero::arguments" in block:
        return {
            "type": "template",
            "name": role,
            "arguments": block["tensorzero::arguments"],
        }
    if kind == "tensorzero::template" and "name" in block and "arguments" in block:
        return {
            "type": "template",
            "name": block["name"],
            "arguments": block["arguments"],
        }
    if kind == "tensorzero::raw_text" and isinstance(block.get("value"), str):
        return {"type": "raw_text", "value": block["value"]}
    if kind == "image_url" and isinstance(block.get("image_url"), dict):
        return {"type": "file", "url": block["image_url"]["url"]}
    if kind in ("file", "input_audio"):
        raise NotImplementedError(
            f"runguard: `{kind}` content blocks on the OpenAI-compatible endpoint "
            "are not simulated yet: send text or tensorzero::template blocks"
        )
    if any(key.startswith("tensorzero::") for key in block):
        raise _invalid(f"Invalid TensorZero content block: {json.dumps(block)}")
    if "type" in block:
        raise _invalid(f"Invalid content block: {json.dumps(block)}")
    # An untyped object is the deprecated way of passing template arguments.
    return {"type": "template", "name": role, "arguments": block}


def model_prefix(kwargs: dict[str, Any]) -> str:
    if "function_name" in kwargs:
        return f"{_FUNCTION_PREFIX}{kwargs['function_name']}::variant_name::"
    return _MODEL_PREFIX


def _usage(usage: tensorzero.Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    out: dict[str, Any] = {}
    if usage.input_tokens is not None:
        out["prompt_tokens"] = usage.input_tokens
    if usage.output_tokens is not None:
        out["completion_tokens"] = usage.output_tokens
    if usage.input_tokens is not None and usage.output_tokens is not None:
        out["total_tokens"] = usage.input_tokens + usage.output_tokens
    if usage.provider_cache_read_input_tokens is not None:
        out["prompt_tokens_details"] = {
            "cached_tokens": usage.provider_cache_read_input_tokens
        }
    if usage.provider_cache_write_input_tokens is not None:
        out["tensorzero_provider_cache_write_input_tokens"] = (
            usage.provider_cache_write_input_tokens
        )
    out["tensorzero_cost"] = None if usage.cost is None else float(usage.cost)
    return out


def _finish(reason: Any) -> str | None:
    if reason is None:
        return None
    return _FINISH_REASONS[getattr(reason, "value", reason)]


def completion_json(response: Any, prefix: str, created: int) -> dict[str, Any]:
    """A ``chat.completion`` for an inference response."""
    message: dict[str, Any] = {"role": "assistant"}
    if isinstance(response, tensorzero.JsonInferenceResponse):
        message["content"] = response.output.raw
    else:
        texts = [b.text for b in response.content if b.type == "text"]
        message["content"] = "".join(texts) if texts else None
        calls = [
            {
                "id": b.id,
                "type": "function",
                "function": {"name": b.raw_name, "arguments": b.raw_arguments},
            }
            for b in response.content
            if b.type == "tool_call"
        ]
        if calls:
            message["tool_calls"] = calls
    return {
        "id": str(response.inference_id),
        "episode_id": str(response.episode_id),
        "choices": [
            {
                "index": 0,
                "finish_reason": _finish(response.finish_reason) or "stop",
                "message": message,
            }
        ],
        "created": created,
        "model": prefix + response.variant_name,
        "system_fingerprint": "",
        "service_tier": None,
        "object": "chat.completion",
        "usage": _usage(response.usage),
    }


def completion_chunks_json(
    chunks: list[Any], prefix: str, created: int, include_usage: bool
) -> list[dict[str, Any]]:
    """``chat.completion.chunk`` objects for a stream of inference chunks."""
    out: list[dict[str, Any]] = []
    tool_index: dict[str, int] = {}
    for position, chunk in enumerate(chunks):
        delta: dict[str, Any] = {}
        if position == 0:
            delta["role"] = "assistant"
        if isinstance(chunk, JsonChunk):
            delta["content"] = chunk.raw
        else:
            texts = [b.text for b in chunk.content if b.type == "text"]
            if texts:
                delta["content"] = "".join(texts)
            calls = []
            for block in chunk.content:
                if block.type != "tool_call":
                    continue
                is_new = block.id not in tool_index
                index = tool_index.setdefault(block.id, len(tool_index))
                call: dict[str, Any] = {"index": index}
                if is_new:
                    call["id"] = block.id
                    call["type"] = "function"
                call["function"] = {
                    "name": block.raw_name if is_new else "",
                    "arguments": block.raw_arguments,
                }
                calls.append(call)
            if calls:
                delta["tool_calls"] = calls
        out.append(
            {
                "id": str(chunk.inference_id),
                "episode_id": str(chunk.episode_id),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": _finish(chunk.finish_reason),
                        "logprobs": None,
                        "delta": delta,
                    }
                ],
                "created": created,
                "model": prefix + chunk.variant_name,
                "system_fingerprint": "",
                "service_tier": None,
                "object": "chat.completion.chunk",
                "usage": _usage(chunk.usage) if include_usage else None,
            }
        )
    return out
