"""Request bodies of ``POST /inference`` and ``POST /feedback``.

The gateway deserializes bodies with serde (``deny_unknown_fields``) through
``serde_path_to_error``, so a bad body is refused with 400 before any variant
runs and the message names the path: ``stream: invalid type: string "yes",
expected a boolean``.  We check the same things in the same order and turn a
good body into the keyword arguments of ``client.inference`` /
``client.feedback``; what serde cannot see (unknown functions, input schemas,
episode id versions) is the engine's to refuse, exactly as in-process.

The real HTTP client sends every field, most as ``null`` or empty, so a
field that holds its default is dropped rather than forwarded: a request over
HTTP and the same call in-process reach the engine with the same keywords.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

__all__ = [
    "BadRequest",
    "feedback_kwargs",
    "inference_kwargs",
    "parse_body",
    "parse_uuid",
]


class BadRequest(Exception):
    """A body the gateway's JSON layer refuses with 400; ``str()`` is the
    gateway's message."""


def parse_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        # Python's decoder words its errors differently from serde_json; the
        # status and the prefix are what a client can rely on.
        raise BadRequest(
            f"Failed to parse the request body as JSON: {_decode_error(exc)} "
            "(400 Bad Request)"
        ) from None


def _decode_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "invalid UTF-8"


# serde's wording of a JSON value's kind, for "invalid type" errors.
def _unexpected(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        return "sequence"
    return "map"


def _invalid(path: str, value: Any, expected: str) -> BadRequest:
    return BadRequest(
        f"{path}: invalid type: {_unexpected(value)}, expected {expected}"
    )


Check = Callable[[str, Any], None]


def _string(path: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _invalid(path, value, "a string")


def _boolean(path: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _invalid(path, value, "a boolean")


def _object(path: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise _invalid(path, value, "a map")


def _array(path: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _invalid(path, value, "a sequence")


def _string_map(path: str, value: Any) -> None:
    _object(path, value)
    for key, item in value.items():
        if not isinstance(item, str):
            raise _invalid(f"{path}.{key}", item, "a string")


def _any(path: str, value: Any) -> None:
    return None


_UUID_HEX = frozenset("0123456789abcdefABCDEF")


def parse_uuid(path: str, value: Any) -> str:
    """Check a UUID the way the ``uuid`` crate parses one; return it as given."""
    if not isinstance(value, str):
        raise _invalid(path, value, "UUID")
    try:
        uuid.UUID(value)
    except ValueError:
        raise BadRequest(
            f"{path}: UUID parsing failed: {_uuid_problem(value)}"
        ) from None
    return value


def _uuid_problem(text: str) -> str:
    body = text[len("urn:uuid:") :] if text.startswith("urn:uuid:") else text
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    for index, char in enumerate(body):
        if char not in _UUID_HEX and char != "-":
            return f"invalid character: found `{char}` at {index + 1}"
    if "-" in body:
        groups = body.split("-")
        if len(groups) != 5:
            return f"invalid group count: expected 5, found {len(groups)}"
        for number, (group, size) in enumerate(
            zip(groups, (8, 4, 4, 4, 12), strict=True)
        ):
            if len(group) != size:
                return (
                    f"invalid group length in group {number}: expected {size}, "
                    f"found {len(group)}"
                )
    return f"invalid length: expected length 32 for simple format, found {len(body)}"


# Field -> check, in the gateway's struct order.  Optional fields accept
# ``null``.  Fields a Python client never sends as anything but their default
# are forwarded only when they differ from it.
_INFERENCE_FIELDS: dict[str, Check] = {
    "function_name": _string,
    "model_name": _string,
    "episode_id": _any,
    "namespace": _string,
    "input": _object,
    "stream": _boolean,
    "params": _object,
    "variant_name": _string,
    "dryrun": _boolean,
    "internal": _boolean,
    "tags": _string_map,
    # Tool parameters (flattened into the body by the gateway).
    "allowed_tools": _array,
    "additional_tools": _array,
    "tool_choice": _any,
    "parallel_tool_calls": _boolean,
    "provider_tools": _array,
    "output_schema": _any,
    "cache_options": _object,
    "credentials": _string_map,
    "include_original_response": _boolean,
    "include_raw_response": _boolean,
    "include_raw_usage": _boolean,
    "include_aggregated_response": _boolean,
    "extra_body": _array,
    "extra_headers": _array,
    "internal_dynamic_variant_config": _object,
}
_INPUT_FIELDS = ("system", "messages")
_DEFAULT_CACHE_OPTIONS: tuple[dict[str, Any], ...] = (
    {},
    {"enabled": "off"},
    {"enabled": "off", "max_age_s": None},
)


_NULLABLE = frozenset(
    {
        "function_name",
        "model_name",
        "episode_id",
        "namespace",
        "stream",
        "variant_name",
        "dryrun",
        "allowed_tools",
        "additional_tools",
        "tool_choice",
        "parallel_tool_calls",
        "output_schema",
        "internal_dynamic_variant_config",
        "inference_id",
    }
)
_EMPTY_IS_DEFAULT = frozenset(
    {"tags", "credentials", "provider_tools", "extra_body", "extra_headers"}
)


def _is_default(name: str, value: Any) -> bool:
    if value is None:
        return True
    if name == "cache_options":
        return value in _DEFAULT_CACHE_OPTIONS
    if name == "params":
        return not value
    if name == "internal" or name.startswith("include_"):
        return value is False
    return name in _EMPTY_IS_DEFAULT and not value


def _clean_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, values in params.items():
        if isinstance(values, dict):
            kept = {k: v for k, v in values.items() if v is not None}
            if kept:
                out[kind] = kept
        elif values is not None:
            out[kind] = values
    return out


def _null(name: str) -> BadRequest:
    expected = {
        "input": "struct Input",
        "params": "struct InferenceParams",
        "cache_options": "struct CacheParamsOptions",
        "internal": "a boolean",
        "tags": "a map",
        "credentials": "a map",
        "metric_name": "a string",
    }.get(name, "a boolean" if name.startswith("include_") else "a sequence")
    return BadRequest(f"{name}: invalid type: null, expected {expected}")


def inference_kwargs(body: Any) -> dict[str, Any]:
    """The keyword arguments of ``client.inference`` for a ``/inference`` body."""
    if not isinstance(body, dict):
        raise BadRequest(f"invalid type: {_unexpected(body)}, expected struct Params")
    kwargs: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in body.items():
        check = _INFERENCE_FIELDS.get(name)
        if check is None:
            unknown.append(name)
            continue
        if value is None:
            if name in _NULLABLE:
                continue
            raise _null(name)
        if name == "episode_id":
            parse_uuid(name, value)
        else:
            check(name, value)
        if name == "input":
            _check_input(value)
        if name == "params":
            value = _clean_params(value)
        if not _is_default(name, value):
            kwargs[name] = value
    if "input" not in body:
        raise BadRequest("missing field `input`")
    if unknown:
        # The tool parameters are flattened into the body, which makes serde
        # report a stray key without the list of expected ones.
        raise BadRequest(f"unknown field `{unknown[0]}`")
    return kwargs


def _check_input(value: dict[str, Any]) -> None:
    for key in value:
        if key not in _INPUT_FIELDS:
            raise BadRequest(
                f"input: unknown field `{key}`, expected `system` or `messages`"
            )
    messages = value.get("messages")
    if messages is not None:
        _array("input.messages", messages)
        for index, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if isinstance(role, str) and role not in ("user", "assistant"):
                # serde_path_to_error on the parsed body: a path, no column
                raise BadRequest(
                    f"input.messages[{index}].role: unknown variant `{role}`, "
                    "expected `user` or `assistant`"
                )


_FEEDBACK_FIELDS: dict[str, Check] = {
    "episode_id": _any,
    "inference_id": _any,
    "metric_name": _string,
    "value": _any,
    "internal": _boolean,
    "tags": _string_map,
    "dryrun": _boolean,
}


def feedback_kwargs(body: Any) -> dict[str, Any]:
    """The keyword arguments of ``client.feedback`` for a ``/feedback`` body."""
    if not isinstance(body, dict):
        raise BadRequest(f"invalid type: {_unexpected(body)}, expected struct Params")
    kwargs: dict[str, Any] = {}
    for name, value in body.items():
        check = _FEEDBACK_FIELDS.get(name)
        if check is None:
            expected = ", ".join(f"`{f}`" for f in _FEEDBACK_FIELDS)
            raise BadRequest(f"unknown field `{name}`, expected one of {expected}")
        if name == "value":
            kwargs[name] = value
            continue
        if value is None:
            if name in _NULLABLE:
                continue
            raise _null(name)
        if name in ("episode_id", "inference_id"):
            parse_uuid(name, value)
        else:
            check(name, value)
        if not _is_default(name, value):
            kwargs[name] = value
    for required in ("metric_name", "value"):
        if required not in body:
            raise BadRequest(f"missing field `{required}`")
    return kwargs
