"""The gateway's JSON for the ``tensorzero`` response, chunk and error types.

The real gateway serializes with serde: optional fields it marks
``skip_serializing_if`` disappear when empty, a few (``usage.cost``, a json
output's ``raw`` and ``parsed``) are always present, possibly ``null``.  The
HTTP client parses this JSON back into the same dataclasses the in-process
client returns, so the two paths must agree field for field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import tensorzero
from tensorzero.types import JsonChunk

__all__ = [
    "chunk_json",
    "dumps",
    "error_body",
    "feedback_json",
    "response_json",
    "usage_json",
]


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as serde_json writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def error_body(message: str) -> bytes:
    return dumps({"error": message})


def _number(value: float | Decimal | int | None) -> float | int | None:
    # The gateway holds costs as Decimal and writes them as JSON floats.
    if value is None or isinstance(value, int | float):
        return value
    return float(value)


def _enum(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _plain(value: Any) -> Any:
    """Nested dataclasses, UUIDs and enums as JSON values (for opaque fields)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def usage_json(usage: tensorzero.Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }
    if usage.provider_cache_read_input_tokens is not None:
        out["provider_cache_read_input_tokens"] = usage.provider_cache_read_input_tokens
    if usage.provider_cache_write_input_tokens is not None:
        out["provider_cache_write_input_tokens"] = (
            usage.provider_cache_write_input_tokens
        )
    out["cost"] = _number(usage.cost)
    return out


def _some(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = _plain(value)


def content_block_json(block: Any) -> dict[str, Any]:
    """One output content block of a chat response."""
    kind = block.type
    if kind == "text":
        return {"type": "text", "text": block.text}
    if kind == "tool_call":
        return {
            "type": "tool_call",
            "id": block.id,
            "raw_name": block.raw_name,
            "raw_arguments": block.raw_arguments,
            "name": block.name,
            "arguments": block.arguments,
        }
    if kind == "thought":
        out: dict[str, Any] = {"type": "thought", "text": block.text}
        _some(out, "signature", block.signature)
        _some(out, "summary", block.summary)
        _some(out, "provider_type", block.provider_type)
        return out
    if kind == "unknown":
        out = {"type": "unknown", "data": _plain(block.data)}
        _some(out, "model_name", block.model_name)
        _some(out, "provider_name", block.provider_name)
        return out
    raise NotImplementedError(
        f"runguard: serving a {kind!r} output content block over HTTP is not "
        "simulated yet: only text, tool_call, thought and unknown blocks are"
    )


def _tail(out: dict[str, Any], obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    for name in names:
        _some(out, name, getattr(obj, name, None))
    return out


def response_json(response: Any) -> dict[str, Any]:
    """A ``ChatInferenceResponse`` or ``JsonInferenceResponse`` as the gateway
    writes it."""
    out: dict[str, Any] = {
        "inference_id": str(response.inference_id),
        "episode_id": str(response.episode_id),
        "variant_name": response.variant_name,
    }
    if isinstance(response, tensorzero.JsonInferenceResponse):
        out["output"] = {
            "raw": response.output.raw,
            "parsed": _plain(response.output.parsed),
        }
    else:
        out["content"] = [content_block_json(b) for b in response.content]
    out["usage"] = usage_json(response.usage)
    _tail(out, response, ("raw_usage", "original_response", "raw_response"))
    if response.finish_reason is not None:
        out["finish_reason"] = _enum(response.finish_reason)
    return out


def content_chunk_json(block: Any) -> dict[str, Any]:
    kind = block.type
    if kind == "text":
        return {"type": "text", "id": block.id, "text": block.text}
    if kind == "tool_call":
        return {
            "type": "tool_call",
            "id": block.id,
            "raw_name": block.raw_name,
            "raw_arguments": block.raw_arguments,
        }
    if kind == "thought":
        return _tail(
            {"type": "thought", "id": block.id, "text": block.text},
            block,
            ("signature", "summary_id", "summary_text", "provider_type"),
        )
    if kind == "unknown":
        return {"type": "unknown", "id": block.id, "data": _plain(block.data)}
    raise NotImplementedError(
        f"runguard: streaming a {kind!r} content chunk over HTTP is not "
        "simulated yet: only text, tool_call, thought and unknown chunks are"
    )


def chunk_json(chunk: Any) -> dict[str, Any]:
    """A ``ChatChunk`` or ``JsonChunk`` as one SSE event's data."""
    out: dict[str, Any] = {
        "inference_id": str(chunk.inference_id),
        "episode_id": str(chunk.episode_id),
        "variant_name": chunk.variant_name,
    }
    if isinstance(chunk, JsonChunk):
        out["raw"] = chunk.raw
    else:
        out["content"] = [content_chunk_json(b) for b in chunk.content]
    if chunk.usage is not None:
        out["usage"] = usage_json(chunk.usage)
    _tail(out, chunk, ("raw_usage", "raw_response"))
    if chunk.finish_reason is not None:
        out["finish_reason"] = _enum(chunk.finish_reason)
    return _tail(out, chunk, ("original_chunk", "raw_chunk"))


def feedback_json(response: Any) -> dict[str, Any]:
    return {"feedback_id": str(response.feedback_id)}
