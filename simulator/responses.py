"""Responses and stream chunks, built from the ``tensorzero`` package's own
types so agent code cannot tell them from the real gateway's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from uuid import UUID

from tensorzero.types import (
    ChatChunk,
    ChatInferenceResponse,
    FinishReason,
    JsonChunk,
    JsonInferenceOutput,
    JsonInferenceResponse,
    Text,
    TextChunk,
    ToolCall,
    ToolCallChunk,
    Usage,
)

from simulator.engine import Output

_STOP = FinishReason.STOP
_TOOL = FinishReason.TOOL_CALL


# Built with positional arguments, in the field order of the pinned
# ``tensorzero`` release (a test holds the order): keyword arguments make
# these constructors take twice as long, and every response builds three.


def make_usage(
    input_tokens: int, output_tokens: int, cached: int | None, cost: float | None
) -> Usage:
    return Usage(input_tokens, output_tokens, cached, None, cost)


def make_response(
    is_json: bool,
    inference_id: UUID,
    episode_id: UUID,
    variant: str,
    output: Output,
    usage: Usage,
) -> ChatInferenceResponse | JsonInferenceResponse:
    if is_json:
        raw = output.raw_json
        parsed = json.loads(raw) if output.parsed_ok and raw is not None else None
        return JsonInferenceResponse(
            inference_id=inference_id,
            episode_id=episode_id,
            variant_name=variant,
            output=JsonInferenceOutput(raw=raw, parsed=parsed),
            usage=usage,
            finish_reason=_STOP,
        )
    if output.tool is not None:
        name, args = output.tool
        block = ToolCall(
            id="0",
            raw_arguments=args,
            raw_name=name,
            arguments=json.loads(args),
            name=name,
        )
        return ChatInferenceResponse(
            inference_id=inference_id,
            episode_id=episode_id,
            variant_name=variant,
            content=[block],
            usage=usage,
            finish_reason=_TOOL,
        )
    return text_response(inference_id, episode_id, variant, output.text, usage)


def text_response(
    inference_id: UUID, episode_id: UUID, variant: str, text: str | None, usage: Usage
) -> ChatInferenceResponse:
    """A chat answer of one text block."""
    return ChatInferenceResponse(
        inference_id, episode_id, variant, [Text(text)], usage, None, None, _STOP
    )


def make_chunks(
    is_json: bool,
    inference_id: UUID,
    episode_id: UUID,
    variant: str,
    output: Output,
    usage: Usage,
) -> list[ChatChunk | JsonChunk]:
    """The stream: one content chunk, then a chunk with usage and the
    finish reason (the gateway sends usage last)."""
    chunks: list[ChatChunk | JsonChunk] = []
    if is_json:
        raw = output.raw_json or ""
        chunks.append(JsonChunk(inference_id, episode_id, variant, raw=raw))
        chunks.append(
            JsonChunk(
                inference_id,
                episode_id,
                variant,
                raw="",
                usage=usage,
                finish_reason=_STOP,
            )
        )
        return chunks
    if output.tool is not None:
        name, args = output.tool
        first: ChatChunk = ChatChunk(
            inference_id,
            episode_id,
            variant,
            content=[ToolCallChunk(id="0", raw_arguments=args, raw_name=name)],
        )
        reason = _TOOL
    else:
        first = ChatChunk(
            inference_id,
            episode_id,
            variant,
            content=[TextChunk(id="0", text=output.text or "")],
        )
        reason = _STOP
    chunks.append(first)
    chunks.append(
        ChatChunk(
            inference_id,
            episode_id,
            variant,
            content=[],
            usage=usage,
            finish_reason=reason,
        )
    )
    return chunks


def iterate(chunks: list[ChatChunk | JsonChunk]) -> Iterator[ChatChunk | JsonChunk]:
    yield from chunks


async def aiterate(chunks: list[ChatChunk | JsonChunk]):  # type: ignore[no-untyped-def]
    for chunk in chunks:
        yield chunk
