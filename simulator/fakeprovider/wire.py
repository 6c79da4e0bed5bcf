"""Request parsing and response bodies for the provider APIs we speak.

OpenAI chat completions (plain and streamed, with ``include_usage``), OpenAI
embeddings, and Anthropic messages (plain and streamed).  Nothing here decides
*what* to answer; the behaviour does, and this module only puts its decision
in the shape each API's clients parse.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from simulator import outputs, pricing
from simulator.fakeprovider.calls import ProviderReply, ProviderRequest
from simulator.fakeprovider.naming import decode_target

EMBEDDING_DIMS = 8


def _tags(headers: Mapping[str, str]) -> dict[str, str]:
    prefix = "x-runguard-"
    return {
        key.lower()[len(prefix) :]: value
        for key, value in headers.items()
        if key.lower().startswith(prefix)
    }


def _content_blocks(content: Any) -> tuple[str, ...]:
    """The texts of a message's content, as the simulator's estimator counts
    them: text blocks, a tool call's name and arguments, a tool result's
    text (Anthropic nests it in blocks of its own)."""
    if content is None:
        return ()
    if isinstance(content, str):
        return (content,)
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if not isinstance(block, Mapping):
                parts.append(str(block))
                continue
            text = block.get("text")
            if isinstance(text, str):
                parts.append(text)
            elif "input" in block:
                name = block.get("name")
                if isinstance(name, str):
                    parts.append(name)
                value = block["input"]
                parts.append(
                    value
                    if isinstance(value, str)
                    else json.dumps(value, separators=(",", ":"))
                )
            elif "content" in block:
                parts.extend(_content_blocks(block["content"]))
        return tuple(parts)
    return (json.dumps(content, separators=(",", ":")),)


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def parse_openai_chat(
    body: Mapping[str, Any], headers: Mapping[str, str]
) -> ProviderRequest:
    messages = body.get("messages") or []
    blocks = []
    for m in messages:
        parts = list(_content_blocks(m.get("content")))
        for call in m.get("tool_calls") or ():
            function = call.get("function") or {}
            parts.append(str(function.get("name", "")))
            parts.append(str(function.get("arguments", "")))
        blocks.append(tuple(parts))
    texts = ["\n".join(parts) for parts in blocks]
    response_format = body.get("response_format") or {}
    schema = None
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
    return ProviderRequest(
        api="chat",
        target=decode_target(str(body.get("model", ""))),
        roles=tuple(str(m.get("role", "")) for m in messages),
        stream=bool(body.get("stream")),
        json_schema=schema,
        json_object=response_format.get("type") == "json_object",
        tools=tuple(body.get("tools") or ()),
        tool_choice=body.get("tool_choice"),
        texts=tuple(texts),
        blocks=tuple(blocks),
        max_tokens=_max_tokens(body),
        text="\n".join(texts),
        tags=_tags(headers),
    )


def parse_openai_embeddings(
    body: Mapping[str, Any], headers: Mapping[str, str]
) -> ProviderRequest:
    raw = body.get("input", "")
    text = "\n".join(raw) if isinstance(raw, list) else str(raw)
    return ProviderRequest(
        api="embeddings",
        target=decode_target(str(body.get("model", "")), embedding=True),
        roles=(),
        text=text,
        tags=_tags(headers),
    )


def embedding_inputs(body: Mapping[str, Any]) -> int:
    raw = body.get("input", "")
    return len(raw) if isinstance(raw, list) else 1


def parse_anthropic_messages(
    body: Mapping[str, Any], headers: Mapping[str, str]
) -> ProviderRequest:
    messages = body.get("messages") or []
    system = body.get("system")
    roles = (("system",) if system else ()) + tuple(
        str(m.get("role", "")) for m in messages
    )
    blocks = [_content_blocks(system)] if system else []
    blocks += [_content_blocks(m.get("content")) for m in messages]
    texts = ["\n".join(parts) for parts in blocks]
    tools = tuple(
        {
            "type": "function",
            "function": {
                "name": t.get("name"),
                "parameters": t.get("input_schema") or {},
            },
        }
        for t in body.get("tools") or ()
    )
    choice = body.get("tool_choice") or {}
    tool_choice: Any = {"any": "required", "none": "none"}.get(
        choice.get("type", ""), "auto"
    )
    if choice.get("type") == "tool":
        tool_choice = {"type": "function", "function": {"name": choice.get("name")}}
    output_format = (body.get("output_config") or {}).get("format") or body.get(
        "output_format"
    )
    schema = None
    if (
        isinstance(output_format, Mapping)
        and output_format.get("type") == "json_schema"
    ):
        schema = output_format.get("schema") or {}
    return ProviderRequest(
        api="messages",
        target=decode_target(str(body.get("model", ""))),
        roles=roles,
        stream=bool(body.get("stream")),
        json_schema=schema,
        tools=tools,
        tool_choice=tool_choice,
        texts=tuple(texts),
        blocks=tuple(blocks),
        max_tokens=_max_tokens(body),
        text="\n".join(texts),
        tags=_tags(headers),
    )


# --------------------------------------------------------------------------
# what the assistant says


def _tool_to_call(
    request: ProviderRequest, reply: ProviderReply
) -> Mapping[str, Any] | None:
    if not request.tools:
        return None
    choice = request.tool_choice
    if choice == "none":
        return None
    wanted: str | None = None
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
    elif choice != "required" and not reply.tool_call:
        return None
    for tool in request.tools:
        function = tool.get("function") or {}
        if wanted is None or function.get("name") == wanted:
            return function
    return None


def assistant_text(request: ProviderRequest, reply: ProviderReply) -> str:
    if reply.content is not None:
        return reply.content
    if request.is_evaluator:
        choice = 0 if reply.answer_choice is None else reply.answer_choice
        return json.dumps({"thinking": "simulated", "answer_choice": choice})
    if request.json_schema is not None:
        return outputs.example_json(request.json_schema)
    if request.json_object:
        return "{}"
    if _json_prefill(request):
        # Anthropic's JSON mode: the gateway opened the answer with "{" as
        # an assistant message and puts it back in front of the reply.
        return "}"
    return outputs.chat_text(request.target.model, reply.output_tokens)


def _json_prefill(request: ProviderRequest) -> bool:
    return (
        request.api == "messages"
        and bool(request.roles)
        and request.roles[-1] == "assistant"
        and bool(request.texts)
        and request.texts[-1].endswith("{")
    )


# --------------------------------------------------------------------------
# usage


Leaves = tuple[tuple[tuple[str, ...], int, bool], ...]


def _flatten(shape: Any, path: tuple[str, ...] = ()) -> Leaves:
    if isinstance(shape, pricing.Leaf):
        return ((path, shape.symbol, shape.only_nonzero),)
    found: Leaves = ()
    for key, sub in shape.items():
        found += _flatten(sub, (*path, key))
    return found


@functools.cache
def _leaves(provider_type: str, embedding: bool) -> Leaves:
    """Where each usage value goes in a response of this provider type:
    OpenAI's fields (the gateway parses them) first, then the original
    type's, so its cost pointers still resolve."""
    leaves = _flatten(pricing.raw_usage_shape("openai", embedding=embedding))
    if not embedding and provider_type != "openai":
        try:
            extra = _flatten(pricing.raw_usage_shape(provider_type))
        except NotImplementedError:
            extra = ()
        taken = {path for path, _, _ in leaves}
        leaves += tuple(leaf for leaf in extra if leaf[0] not in taken)
    return leaves


def _fill(leaves: Leaves, values: list[int]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for path, symbol, only_nonzero in leaves:
        value = values[symbol]
        if only_nonzero and not value:
            continue
        node = body
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return body


def raw_usage(
    provider_type: str, reply: ProviderReply, *, embedding: bool = False
) -> dict[str, Any]:
    """The usage part of the raw response, top-level keys included.

    OpenAI's fields are always there (the gateway parses them); the fields a
    response of the *original* provider type carries are added beside them,
    so cost pointers written for that type still resolve.  The shapes are
    the simulator's own (:func:`simulator.pricing.raw_usage_shape`), so both
    sides price a call from the same fields.
    """
    values = pricing.usage_values(
        reply.input_tokens,
        reply.output_tokens,
        reply.cached_tokens,
        reply.reasoning_tokens,
        reply.cache_write_tokens,
    )
    return _fill(_leaves(provider_type, embedding), values)


def anthropic_usage(reply: ProviderReply) -> dict[str, Any]:
    values = pricing.usage_values(
        reply.input_tokens,
        reply.output_tokens,
        reply.cached_tokens,
        reply.reasoning_tokens,
        reply.cache_write_tokens,
    )
    leaves = _flatten(pricing.raw_usage_shape("anthropic"))
    usage: dict[str, Any] = _fill(leaves, values)["usage"]
    return usage


# --------------------------------------------------------------------------
# OpenAI bodies


def openai_error(reply: ProviderReply) -> dict[str, Any]:
    kind = {429: "rate_limit_exceeded", 400: "invalid_request_error"}.get(
        reply.status, "server_error"
    )
    if reply.error_message is not None and reply.status == 400:
        # the context-window refusal: OpenAI's own type and code
        return {
            "error": {
                "message": reply.error_message,
                "type": kind,
                "param": "messages",
                "code": "context_length_exceeded",
            }
        }
    return {
        "error": {
            "message": reply.error_message or f"simulated {reply.outcome}",
            "type": kind,
            "code": kind,
        }
    }


def openai_chat(
    request: ProviderRequest, reply: ProviderReply, seq: int
) -> dict[str, Any]:
    tool = _tool_to_call(request, reply)
    message: dict[str, Any] = {"role": "assistant"}
    if tool is not None:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": f"call_{seq}",
                "type": "function",
                "function": {
                    "name": tool.get("name", ""),
                    "arguments": json.dumps(
                        outputs.schema_example(tool.get("parameters") or {})
                    ),
                },
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = assistant_text(request, reply)
        finish = "stop"
    return {
        "id": f"chatcmpl-{seq}",
        "object": "chat.completion",
        "created": 0,
        "model": request.target.model_name or request.target.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        **raw_usage(request.target.provider_type, reply),
    }


def openai_chat_stream(
    request: ProviderRequest, reply: ProviderReply, seq: int
) -> Iterator[bytes]:
    full = openai_chat(request, reply, seq)
    message = full["choices"][0]["message"]
    head = {
        "id": full["id"],
        "object": "chat.completion.chunk",
        "created": 0,
        "model": full["model"],
    }

    def chunk(delta: Mapping[str, Any], finish: str | None) -> bytes:
        payload = {
            **head,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(payload).encode() + b"\n\n"

    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        yield chunk({"role": "assistant", "tool_calls": [{"index": 0, **call}]}, None)
    else:
        text = message["content"] or ""
        middle = len(text) // 2
        yield chunk({"role": "assistant", "content": text[:middle]}, None)
        yield chunk({"content": text[middle:]}, None)
    yield chunk({}, full["choices"][0]["finish_reason"])
    tail = {**head, "choices": [], "usage": full["usage"]}
    for key, value in full.items():
        if key not in head and key not in ("choices", "usage"):
            tail[key] = value
    yield b"data: " + json.dumps(tail).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def openai_embeddings(
    request: ProviderRequest, reply: ProviderReply, count: int
) -> dict[str, Any]:
    vector = [0.0] * EMBEDDING_DIMS
    vector[0] = 1.0
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": vector}
            for i in range(count)
        ],
        "model": request.target.model_name or request.target.model,
        **raw_usage(request.target.provider_type, reply, embedding=True),
    }


# --------------------------------------------------------------------------
# Anthropic bodies


def anthropic_error(reply: ProviderReply) -> dict[str, Any]:
    kind = {
        429: "rate_limit_error",
        400: "invalid_request_error",
        529: "overloaded_error",
    }.get(reply.status, "api_error")
    return {
        "type": "error",
        "error": {
            "type": kind,
            "message": reply.error_message or f"simulated {reply.outcome}",
        },
    }


def anthropic_message(
    request: ProviderRequest, reply: ProviderReply, seq: int
) -> dict[str, Any]:
    tool = _tool_to_call(request, reply)
    if tool is not None:
        content: list[dict[str, Any]] = [
            {
                "type": "tool_use",
                "id": f"toolu_{seq}",
                "name": tool.get("name", ""),
                "input": outputs.schema_example(tool.get("parameters") or {}),
            }
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": assistant_text(request, reply)}]
        stop = "end_turn"
    return {
        "id": f"msg_{seq}",
        "type": "message",
        "role": "assistant",
        "model": request.target.model_name or request.target.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": anthropic_usage(reply),
    }


def anthropic_stream(
    request: ProviderRequest, reply: ProviderReply, seq: int
) -> Iterator[bytes]:
    full = anthropic_message(request, reply, seq)

    def event(name: str, payload: Mapping[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()

    start_usage = {**full["usage"], "output_tokens": 0}
    yield event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                **full,
                "content": [],
                "stop_reason": None,
                "usage": start_usage,
            },
        },
    )
    block = full["content"][0]
    if block["type"] == "tool_use":
        yield event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {**block, "input": {}},
            },
        )
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        yield event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        delta = {"type": "text_delta", "text": block["text"]}
    yield event(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": delta},
    )
    yield event("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": full["stop_reason"], "stop_sequence": None},
            # The current API repeats the whole (cumulative) usage here.
            "usage": full["usage"],
        },
    )
    yield event("message_stop", {"type": "message_stop"})
